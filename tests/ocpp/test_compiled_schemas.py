"""The compiled request validators (fastjsonschema) decide exactly as jsonschema does.

A valid payload is checked by the compiled validator alone (api/ocpp/schemas.py); if it ever accepted what
jsonschema refuses, a pile's malformed data would be stored instead of answered with its CALLERROR. Every
payload below, valid ones and each of their mutations (a value of every wrong kind in every place, a key
left out, a key added), gets the same verdict from both.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from api.ocpp.schemas import V16, V201, load

AT = "2026-12-08T01:02:03.456Z"
VALID: dict[str, list[tuple[str, dict[str, Any]]]] = {
    V16: [
        ("MeterValues", {"connectorId": 1, "transactionId": 7, "meterValue": [{"timestamp": AT, "sampledValue": [
            {"value": "1234.5", "measurand": "Energy.Active.Import.Register", "unit": "Wh", "context":
             "Sample.Periodic", "phase": "L1", "location": "Outlet", "format": "Raw"},
            {"value": "55", "measurand": "SoC", "unit": "Percent"}]}]}),
        ("StopTransaction", {"transactionId": 7, "meterStop": 2000, "timestamp": AT, "reason": "Local",
                             "idTag": "BUS0001", "transactionData": [{"timestamp": AT, "sampledValue": [
                                 {"value": "2000", "measurand": "Energy.Active.Import.Register"}]}]}),
        ("StartTransaction", {"connectorId": 1, "idTag": "BUS0001", "meterStart": 0, "timestamp": AT,
                              "reservationId": 3}),
        ("BootNotification", {"chargePointVendor": "V", "chargePointModel": "M", "firmwareVersion": "1.0"}),
        ("StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Charging", "timestamp": AT}),
        ("Heartbeat", {}),
    ],
    V201: [
        ("TransactionEvent", {"eventType": "Updated", "timestamp": AT, "triggerReason": "MeterValuePeriodic",
                              "seqNo": 3, "transactionInfo": {"transactionId": "tx-1", "chargingState": "Charging"},
                              "evse": {"id": 1, "connectorId": 1}, "meterValue": [{"timestamp": AT, "sampledValue": [
                                  {"value": 1234.5, "measurand": "Energy.Active.Import.Register",
                                   "unitOfMeasure": {"unit": "Wh", "multiplier": 0}}]}]}),
        ("MeterValues", {"evseId": 1, "meterValue": [{"timestamp": AT, "sampledValue": [{"value": 7.5}]}]}),
        ("Heartbeat", {}),
    ],
}
WRONG = [None, True, 0, -1, 1.5, 2**40, "", "x" * 600, "2026-13-45T99:00:00Z", [], {}, [1], {"a": 1}]


def mutations(payload: Any) -> Iterator[Any]:
    """The payload with each value replaced by each wrong kind, each key left out, and a key added."""
    yield payload
    if isinstance(payload, dict):
        yield {**payload, "notInTheSchema": 1}
        for key, value in payload.items():
            yield {k: v for k, v in payload.items() if k != key}
            for wrong in WRONG:
                yield {**payload, key: wrong}
            for inner in mutations(value):
                if inner is not value:
                    yield {**payload, key: inner}
    elif isinstance(payload, list):
        yield []
        yield payload + payload
        for index, value in enumerate(payload):
            for inner in mutations(value):
                if inner is not value:
                    yield payload[:index] + [inner] + payload[index + 1:]


@pytest.mark.parametrize("dialect", [V16, V201])
def test_compiled_validators_accept_exactly_what_jsonschema_accepts(dialect):
    schemas = load(dialect)
    checked = 0
    for action, valid in VALID[dialect]:
        fast, slow = schemas.fast_requests[action], schemas.requests[action]
        for payload in mutations(valid):
            before = copy.deepcopy(payload)
            try:
                fast(payload)
                fast_ok = True
            except Exception:
                fast_ok = False
            slow_ok = next(iter(slow.iter_errors(payload)), None) is None
            assert fast_ok == slow_ok, f"{dialect} {action}: compiled {fast_ok}, jsonschema {slow_ok}: {payload!r}"
            assert payload == before, "a validator changed the payload"
            checked += 1
    assert checked > 300  # the mutations did run
