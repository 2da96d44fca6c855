"""Malformed frames from a 2.0.1 pile get the CALLERROR OCPP 2.0.1 (part 4 §4.3) names for them, in 2.0.1's
own words, and the socket survives."""

from __future__ import annotations

import json

import pytest

from tests.support.cp_client_v201 import StrictChargingStation

TX = {"eventType": "Started", "timestamp": "2026-11-24T10:00:00Z", "triggerReason": "Authorized", "seqNo": 0,
      "transactionInfo": {"transactionId": "T1"}}
BOOT = {"reason": "PowerUp", "chargingStation": {"model": "M", "vendorName": "V"}}


def call(unique_id: str, action: str, payload: dict) -> str:
    return json.dumps([2, unique_id, action, payload])


CASES = [
    # (raw frame, expected message id in the answer, expected 2.0.1 error code)
    ("this is not json", "-1", "RpcFrameworkError"),
    ('{"not": "an array"}', "-1", "RpcFrameworkError"),
    ("[]", "-1", "RpcFrameworkError"),
    ('[2, 17, "Heartbeat", {}]', "-1", "RpcFrameworkError"),
    ('[2, "' + "x" * 37 + '", "Heartbeat", {}]', "-1", "RpcFrameworkError"),
    ('[2, "m0", "Heartbeat", {"value": NaN}]', "-1", "RpcFrameworkError"),
    ('[9, "m1", "Heartbeat", {}]', "m1", "MessageTypeNotSupported"),
    ('[6, "m1b", "Heartbeat", {}]', "m1b", "MessageTypeNotSupported"),  # 2.1's SEND is not 2.0.1
    ('[2, "m2", "Heartbeat"]', "m2", "RpcFrameworkError"),
    ('[2, "m3", 42, {}]', "m3", "RpcFrameworkError"),
    ('[2, "m4", "Heartbeat", []]', "m4", "FormatViolation"),
    ('[2, "m5", "FlyToTheMoon", {}]', "m5", "NotImplemented"),
    (call("m6", "RequestStartTransaction", {"remoteStartId": 1, "idToken": {"idToken": "X", "type": "Central"}}),
     "m6", "NotSupported"),
    (call("m7", "StartTransaction", {"connectorId": 1}), "m7", "NotImplemented"),  # a 1.6 action
    (call("m8", "BootNotification", {"chargingStation": {"model": "M", "vendorName": "V"}}), "m8",
     "OccurrenceConstraintViolation"),
    (call("m9", "BootNotification", {**BOOT, "chargingStation": {"model": "M", "vendorName": 5}}), "m9",
     "TypeConstraintViolation"),
    (call("m10", "BootNotification", {**BOOT, "chargingStation": {"model": "M", "vendorName": "v" * 51}}), "m10",
     "TypeConstraintViolation"),
    (call("m11", "BootNotification", {**BOOT, "extra": 1}), "m11", "ProtocolError"),
    (call("m12", "BootNotification", {**BOOT, "reason": "Bored"}), "m12", "PropertyConstraintViolation"),
    (call("m13", "StatusNotification", {"timestamp": "yesterday", "connectorStatus": "Available", "evseId": 1,
                                        "connectorId": 1}), "m13", "TypeConstraintViolation"),
    (call("m14", "MeterValues", {"evseId": 1, "meterValue": []}), "m14", "OccurrenceConstraintViolation"),
    (call("m15", "MeterValues", {"evseId": 1, "meterValue": [{"timestamp": "2026-11-24T10:00:00Z", "sampledValue": [
        {"value": "many", "measurand": "Power.Active.Import"}]}]}), "m15", "TypeConstraintViolation"),
    (call("m16", "MeterValues", {"evseId": 1, "meterValue": [{"timestamp": "2026-11-24T10:00:00Z", "sampledValue": [
        {"value": 7, "measurand": "Voltage", "unitOfMeasure": {"unit": "kWh"}}]}]}), "m16",
     "PropertyConstraintViolation"),
    (call("m17", "TransactionEvent", {**TX, "evse": {"id": 100}}), "m17", "PropertyConstraintViolation"),
    (call("m18", "TransactionEvent", {**TX, "transactionInfo": {"transactionId": "T" * 37}}), "m18",
     "TypeConstraintViolation"),
    (call("m19", "Authorize", {"idToken": {"idToken": "X", "type": "VIN"}}), "m19", "PropertyConstraintViolation"),
    ('[2, "m20", "Heartbeat", {}] trailing', "-1", "RpcFrameworkError"),
]


@pytest.mark.parametrize(("raw", "expected_id", "expected_code"), CASES)
async def test_malformed_frame_gets_the_201_callerror_and_socket_survives(server, raw, expected_id, expected_code):
    # given
    cp = await server.builders.charge_point()
    client = await StrictChargingStation.connect(server.ocpp_url(cp.id))
    await client.boot()

    # when
    await client.send_raw(raw)
    answer = await client.next_frame()

    # then
    assert answer[0] == 4 and len(answer) == 5
    assert answer[1] == expected_id
    assert answer[2] == expected_code, answer
    assert isinstance(answer[3], str) and answer[3]
    assert isinstance(answer[4], dict)
    assert (await client.call("Heartbeat", {}))["currentTime"].endswith("Z")
    await client.close()


async def test_binary_frame_that_is_not_utf8_gets_rpc_framework_error(server):
    cp = await server.builders.charge_point()
    client = await StrictChargingStation.connect(server.ocpp_url(cp.id))
    await client.send_raw(b"\xff\xfe\x00")
    assert (await client.next_frame())[:3] == [4, "-1", "RpcFrameworkError"]
    assert (await client.call("Heartbeat", {}))["currentTime"]
    await client.close()


async def test_messages_before_acceptance_get_security_error(server, monkeypatch):
    # given: a pending pile (auto-registered)
    monkeypatch.setattr(server.services.charge_points, "auto_register", True)
    client = await StrictChargingStation.connect(server.ocpp_url("PENDING-PILE-201"))

    # when
    boot = await client.boot()
    await client.send_raw(call("s1", "TransactionEvent", TX))
    answer = await client.next_frame()

    # then
    assert boot["status"] == "Pending"
    assert answer[:3] == [4, "s1", "SecurityError"]
    assert (await client.call("Heartbeat", {}))["currentTime"]
    await client.close()


async def test_the_pile_picks_the_version_by_the_order_it_offers_them(server):
    cp = await server.builders.charge_point()
    newer = await StrictChargingStation.connect(server.ocpp_url(cp.id), ["ocpp2.0.1", "ocpp1.6"])
    assert newer.ws.subprotocol == "ocpp2.0.1"
    await newer.close()
    older = await StrictChargingStation.connect(server.ocpp_url(cp.id), ["ocpp2.1", "ocpp1.6", "ocpp2.0.1"])
    assert older.ws.subprotocol == "ocpp1.6"
    await older.close()
