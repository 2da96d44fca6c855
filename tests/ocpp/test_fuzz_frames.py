"""Random and mutated frames against a real server socket, in 1.6 and 2.0.1 (hypothesis).

Starting from a valid request of every action a pile sends (and an action only the server sends, and one no
version has), hypothesis removes fields, changes their types, makes strings huge or exotic unicode, nests
garbage, adds fields, then breaks the frame itself: the message type id, the id (missing, not a string, too
long, sent twice), the action, the payload, the number of elements. Whole frames of random JSON and random
text are sent too. Each frame must be answered (unless it is itself a CALLRESULT/CALLERROR) with a
CALLRESULT or with a CALLERROR whose code is one the dialect's spec names (never ``InternalError``: that
would be a handler failing on input it should have refused), carrying the frame's id (or ``-1`` when the id
cannot be read); and the socket must still answer a Heartbeat afterwards. Examples are few and derandomized,
so the run is short and the same in CI; ``CHARGEOPS_FUZZ_EXAMPLES=5000 CHARGEOPS_FUZZ_RANDOM=1`` digs deeper
(random, not derandomized) by hand.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed

from tests.support.cp_client import StrictChargePoint
from tests.support.cp_client_v201 import StrictChargingStation

SPEC_CODES = {
    # OCPP-J 1.6 §4.2.3 (with its spelling "OccurenceConstraintViolation")
    "ocpp1.6": {"NotImplemented", "NotSupported", "InternalError", "ProtocolError", "SecurityError",
                "FormationViolation", "PropertyConstraintViolation", "OccurenceConstraintViolation",
                "TypeConstraintViolation", "GenericError"},
    # OCPP 2.0.1 part 4 §4.3
    "ocpp2.0.1": {"FormatViolation", "GenericError", "InternalError", "MessageTypeNotSupported", "NotImplemented",
                  "NotSupported", "OccurrenceConstraintViolation", "PropertyConstraintViolation", "ProtocolError",
                  "RpcFrameworkError", "SecurityError", "TypeConstraintViolation"},
}

NOW = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
V16_SAMPLE = {"timestamp": NOW, "sampledValue": [
    {"value": "1234", "context": "Sample.Periodic", "format": "Raw", "measurand": "Energy.Active.Import.Register",
     "phase": "L1", "location": "Outlet", "unit": "Wh"},
    {"value": "55", "measurand": "SoC", "unit": "Percent", "location": "EV"}]}
V201_SAMPLE = {"timestamp": NOW, "sampledValue": [
    {"value": 1234.5, "context": "Sample.Periodic", "measurand": "Energy.Active.Import.Register",
     "phase": "L1", "location": "Outlet", "unitOfMeasure": {"unit": "Wh", "multiplier": 0}}]}

VALID: dict[str, dict[str, dict[str, Any]]] = {
    "ocpp1.6": {
        "BootNotification": {"chargePointVendor": "FuzzVendor", "chargePointModel": "F1", "chargePointSerialNumber": "S",
                             "chargeBoxSerialNumber": "B", "firmwareVersion": "1.0", "iccid": "8986", "imsi": "460",
                             "meterType": "M", "meterSerialNumber": "MS"},
        "Heartbeat": {},
        "StatusNotification": {"connectorId": 1, "errorCode": "NoError", "status": "Available", "timestamp": NOW,
                               "info": "i", "vendorId": "v", "vendorErrorCode": "e"},
        "Authorize": {"idTag": "FUZZTAG"},
        "StartTransaction": {"connectorId": 1, "idTag": "FUZZTAG", "meterStart": 0, "timestamp": NOW,
                             "reservationId": 1},
        "MeterValues": {"connectorId": 1, "transactionId": 1, "meterValue": [V16_SAMPLE]},
        "StopTransaction": {"transactionId": 1, "meterStop": 10, "timestamp": NOW, "idTag": "FUZZTAG",
                            "reason": "Local", "transactionData": [V16_SAMPLE]},
        "DataTransfer": {"vendorId": "Fuzz", "messageId": "BRM",
                         "data": json.dumps({"connectorId": 1, "vin": "LFV2A21K6A3000001"})},
        "DiagnosticsStatusNotification": {"status": "Idle"},
        "FirmwareStatusNotification": {"status": "Idle"},
        "RemoteStartTransaction": {"idTag": "FUZZTAG"},  # only the server sends it
        "FlyToTheMoon": {},  # no version has it
    },
    "ocpp2.0.1": {
        "BootNotification": {"reason": "PowerUp", "chargingStation": {
            "vendorName": "FuzzVendor", "model": "F2", "serialNumber": "S", "firmwareVersion": "2",
            "modem": {"iccid": "8986", "imsi": "460"}}},
        "Heartbeat": {},
        "StatusNotification": {"timestamp": NOW, "connectorStatus": "Available", "evseId": 1, "connectorId": 1},
        "Authorize": {"idToken": {"idToken": "FUZZTAG", "type": "ISO14443",
                                  "additionalInfo": [{"additionalIdToken": "LFV2A21K6A3000001", "type": "VIN"}]}},
        "TransactionEvent": {"eventType": "Updated", "timestamp": NOW, "triggerReason": "MeterValuePeriodic",
                             "seqNo": 1, "offline": True,
                             "transactionInfo": {"transactionId": "FUZZ-TX", "chargingState": "Charging"},
                             "evse": {"id": 1, "connectorId": 1},
                             "idToken": {"idToken": "FUZZTAG", "type": "ISO14443"}, "meterValue": [V201_SAMPLE]},
        "MeterValues": {"evseId": 1, "meterValue": [V201_SAMPLE]},
        "NotifyEvent": {"generatedAt": NOW, "seqNo": 0, "eventData": [{
            "eventId": 1, "timestamp": NOW, "trigger": "Alerting", "actualValue": "x",
            "eventNotificationType": "HardWiredNotification", "component": {"name": "C"},
            "variable": {"name": "V"}}]},
        "SecurityEventNotification": {"type": "StartupOfTheDevice", "timestamp": NOW, "techInfo": "t"},
        "FirmwareStatusNotification": {"status": "Idle", "requestId": 1},
        "LogStatusNotification": {"status": "Idle", "requestId": 1},
        "ReservationStatusUpdate": {"reservationId": 1, "reservationUpdateStatus": "Expired"},
        "DataTransfer": {"vendorId": "Fuzz", "messageId": "VIN", "data": {"evseId": 1, "vin": "LFV2A21K6A3000001"}},
        "RequestStartTransaction": {"idToken": {"idToken": "FUZZTAG", "type": "Central"}, "remoteStartId": 1},
        "FlyToTheMoon": {},
    },
}
CLIENTS = {"ocpp1.6": StrictChargePoint, "ocpp2.0.1": StrictChargingStation}

# -- strategies -------------------------------------------------------------------------------------------

leaves = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
)
garbage = st.recursive(
    leaves, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=25,
)
exotic_text = st.one_of(
    st.text(max_size=60),  # any code point, surrogates included (sent as JSON escapes)
    st.sampled_from(["", " ", "\u0000", "\ud800", "\udfff", "充电桩", "🔌⚡", "\u202e", "a" * 5000, "9" * 400,
                     "2026-02-30T25:61:61Z", "1e309", "-0", "NaN"]),
)


def paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every place in a JSON value, as a path of keys and indices."""
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths(item, prefix + (index,))
    return found


def put(root: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    parent = root
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    return root


def remove(root: Any, path: tuple) -> Any:
    parent = root
    for step in path[:-1]:
        parent = parent[step]
    del parent[path[-1]]
    return root


@st.composite
def mutated_payload(draw: st.DrawFn, payload: dict[str, Any]) -> Any:
    value: Any = copy.deepcopy(payload)
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["remove", "retype", "text", "garbage", "extra", "duplicate_item"]))
        places = paths(value)
        inner = [p for p in places if p]
        if kind == "remove" and inner:
            value = remove(value, draw(st.sampled_from(inner)))
        elif kind == "retype":
            value = put(value, draw(st.sampled_from(places)), draw(leaves))
        elif kind == "text":
            value = put(value, draw(st.sampled_from(places)), draw(exotic_text))
        elif kind == "garbage":
            value = put(value, draw(st.sampled_from(places)), draw(garbage))
        elif kind == "extra":
            dicts = [p for p in places if isinstance(_at(value, p), dict)]
            if dicts:
                _at(value, draw(st.sampled_from(dicts)))[draw(st.text(max_size=12))] = draw(garbage)
        else:
            lists = [p for p in places if isinstance(_at(value, p), list) and _at(value, p)]
            if lists:
                items = _at(value, draw(st.sampled_from(lists)))
                items.extend(copy.deepcopy(items) * draw(st.integers(1, 12)))
    return value


def _at(root: Any, path: tuple) -> Any:
    for step in path:
        root = root[step]
    return root


@st.composite
def frames(draw: st.DrawFn, dialect: str) -> list[Any]:
    """One or two frames (a duplicated id sends the same frame twice), as JSON values or raw text."""
    action = draw(st.sampled_from(sorted(VALID[dialect])))
    unique_id: Any = draw(st.from_regex(r"[A-Za-z0-9-]{1,36}", fullmatch=True))
    frame: list[Any] = [2, unique_id, action, draw(mutated_payload(VALID[dialect][action]))]
    breakage = draw(st.sampled_from(
        ["none", "none", "none", "type_id", "unique_id", "action", "arity", "duplicate", "whole_json", "raw_text"]
    ))
    if breakage == "type_id":
        frame[0] = draw(st.one_of(st.sampled_from([0, 1, 3, 4, 5, -2, 2.0, "2", True, None, [2]]), leaves))
    elif breakage == "unique_id":
        frame[1] = draw(st.one_of(st.sampled_from(["", "x" * 37, 17, None, ["a"], {"id": 1}]), leaves))
    elif breakage == "action":
        frame[2] = draw(st.one_of(exotic_text, leaves))
    elif breakage == "arity":
        frame = frame[: draw(st.integers(0, 3))] if draw(st.booleans()) else frame + draw(st.lists(garbage, min_size=1, max_size=2))
    elif breakage == "duplicate":
        return [frame, frame]
    elif breakage == "whole_json":
        return [draw(garbage)]
    elif breakage == "raw_text":
        return [draw(st.one_of(st.text(max_size=80), st.binary(max_size=80)))]
    return [frame]


# -- the server's side ------------------------------------------------------------------------------------


def expects_answer(frame: Any) -> bool:
    """The server answers everything but a CALLRESULT or CALLERROR it can read as one (OCPP-J: no answer to
    an answer); an unreadable id is answered with -1."""
    if not (isinstance(frame, list) and len(frame) > 1):
        return True
    parsable_id = isinstance(frame[1], str) and 0 < len(frame[1]) <= 36
    return not (parsable_id and type(frame[0]) is int and frame[0] in (3, 4))


def is_id(value: Any) -> bool:
    """A message id the server can read, and so must echo (a lone surrogate is no text: answered as -1)."""
    if not (isinstance(value, str) and 0 < len(value) <= 36):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def encoded(frame: Any) -> str | bytes:
    if isinstance(frame, (str, bytes)):
        return frame
    return json.dumps(frame)  # ensure_ascii: lone surrogates travel as escapes, as a pile's JSON may carry them


async def answers_until_heartbeat(client: StrictChargePoint, probe: str) -> list[list[Any]]:
    """Frames the server sent before its answer to our Heartbeat ``probe`` (its own CALLs are skipped)."""
    await client.send_raw(json.dumps([2, probe, "Heartbeat", {}]))
    seen = []
    while True:
        frame = await client.next_frame(10)  # a hang fails here
        if frame[0] == 2:
            continue
        if frame[1] == probe:
            assert frame[0] == 3 and frame[2]["currentTime"], f"the Heartbeat after the fuzz got {frame}"
            return seen
        seen.append(frame)


@pytest.fixture(scope="module")
async def piles(server) -> dict[str, str]:
    """A registered pile per dialect (each example opens its own socket, so the rate limit never bites)."""
    return {dialect: (await server.builders.charge_point()).id for dialect in VALID}


async def check_frames(server, dialect: str, charge_point_id: str, sent: list[Any]) -> None:
    max_frame = server.services.settings.ocpp_max_frame_bytes
    too_big = next((n for n, frame in enumerate(sent) if len(encoded(frame)) > max_frame), None)
    if too_big is not None:  # the frames before it are answered, then the socket is closed (1009), by design
        sent = sent[:too_big + 1]
    client = await CLIENTS[dialect].connect(server.ocpp_url(charge_point_id))
    try:
        for frame in sent:
            await client.send_raw(encoded(frame))
        if too_big is None:
            seen = await answers_until_heartbeat(client, "probe-after-fuzz")
        else:
            seen = []
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    seen.append(await client.next_frame(10))
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
            sent, seen = sent[:too_big], [f for f in seen if f[0] != 2]
    finally:
        await client.close()
    expected = [f for f in sent if expects_answer(f)]
    assert len(seen) == len(expected), f"sent {sent!r}\ngot {seen!r}"
    for frame, answer in zip(expected, seen, strict=True):
        readable = isinstance(frame, list) and len(frame) > 1 and is_id(frame[1])
        assert answer[1] == (frame[1] if readable else "-1"), f"sent {frame!r}\ngot {answer!r}"
        if answer[0] == 4:
            assert len(answer) == 5 and isinstance(answer[3], str) and isinstance(answer[4], dict), answer
            assert answer[2] in SPEC_CODES[dialect], f"sent {frame!r}\ngot {answer!r}"
            assert answer[2] != "InternalError", f"a handler failed on {frame!r}: {answer!r}"
        else:
            assert answer[0] == 3 and isinstance(answer[2], dict), answer


FUZZ = settings(max_examples=int(os.environ.get("CHARGEOPS_FUZZ_EXAMPLES", "120")), deadline=None,
                derandomize=os.environ.get("CHARGEOPS_FUZZ_RANDOM") != "1", database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.parametrize("dialect", list(VALID))
async def test_every_unmutated_request_is_answered_as_the_spec_says(server, piles, dialect):
    # given: the valid request of every action, as a registered pile sends it
    sent = [[2, f"ok-{n}", action, payload] for n, (action, payload) in enumerate(VALID[dialect].items())]

    # when / then
    await check_frames(server, dialect, piles[dialect], sent)


@FUZZ
@given(sent=frames("ocpp1.6"))
async def test_fuzzed_1_6_frames_get_spec_answers_and_the_socket_lives(server, piles, sent):
    await check_frames(server, "ocpp1.6", piles["ocpp1.6"], sent)


@FUZZ
@given(sent=frames("ocpp2.0.1"))
async def test_fuzzed_2_0_1_frames_get_spec_answers_and_the_socket_lives(server, piles, sent):
    await check_frames(server, "ocpp2.0.1", piles["ocpp2.0.1"], sent)


async def test_the_server_still_answers_other_piles_after_the_fuzz(server):
    # given / when
    cp = await server.builders.charge_point()
    client = await StrictChargePoint.connect(server.ocpp_url(cp.id))

    # then
    assert (await asyncio.wait_for(client.call("Heartbeat", {}), 5))["currentTime"]
    await client.close()


BIG = 2**70
OUT_OF_RANGE = [
    pytest.param("ocpp1.6", "StatusNotification", {"connectorId": BIG, "errorCode": "NoError", "status": "Available"},
                 id="1.6-connectorId"),
    pytest.param("ocpp1.6", "StartTransaction", {"connectorId": 1, "idTag": "FUZZTAG", "meterStart": BIG,
                                                 "timestamp": NOW}, id="1.6-meterStart"),
    pytest.param("ocpp1.6", "MeterValues", {"connectorId": 1, "transactionId": 2**40, "meterValue": [V16_SAMPLE]},
                 id="1.6-transactionId"),
    pytest.param("ocpp1.6", "StartTransaction", {"connectorId": 1, "idTag": "FUZZTAG", "meterStart": 0,
                                                 "timestamp": NOW, "reservationId": -(2**40)}, id="1.6-reservationId"),
    pytest.param("ocpp2.0.1", "TransactionEvent", {**VALID["ocpp2.0.1"]["TransactionEvent"], "seqNo": 2**40},
                 id="2.0.1-seqNo"),
    pytest.param("ocpp2.0.1", "FirmwareStatusNotification", {"status": "Idle", "requestId": BIG},
                 id="2.0.1-requestId"),
    # found by this fuzz: numbers inside sampled values and DataTransfer data reached the database unchecked
    pytest.param("ocpp1.6", "MeterValues", {"connectorId": 1, "meterValue": [{"timestamp": NOW, "sampledValue": [
        {"value": "99999999999999999999", "measurand": "Power.Active.Import"}]}]}, id="1.6-sampled-power"),
    pytest.param("ocpp1.6", "DataTransfer", {"vendorId": "V", "messageId": "BRM",
                                             "data": json.dumps({"connectorId": BIG})}, id="1.6-data-connectorId"),
    pytest.param("ocpp2.0.1", "MeterValues", {"evseId": 1, "meterValue": [{"timestamp": NOW, "sampledValue": [
        {"value": 1e300, "unitOfMeasure": {"unit": "Wh", "multiplier": 9}}]}]}, id="2.0.1-sampled-energy"),
]


@pytest.mark.parametrize(("dialect", "action", "payload"), OUT_OF_RANGE)
async def test_numbers_no_column_can_hold_are_refused_not_failed_on(server, piles, dialect, action, payload):
    # given: a number a pile may not mean (a pile told InternalError resends it forever)
    if action == "StatusNotification" and dialect == "ocpp1.6":
        payload = {**payload, "timestamp": NOW}

    # when / then: a spec error naming the field (never InternalError), and the socket goes on
    await check_frames(server, dialect, piles[dialect], [[2, "big", action, payload]])
