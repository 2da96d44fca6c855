"""Malformed frames get the CALLERROR OCPP-J 1.6 names for them, in 1.6's spelling, and the socket survives."""

from __future__ import annotations

import json

import pytest

from tests.support.cp_client import StrictChargePoint

CASES = [
    # (raw frame, expected message id in the answer, expected 1.6 error code)
    ("this is not json", "-1", "FormationViolation"),
    ('{"not": "an array"}', "-1", "FormationViolation"),
    ("[]", "-1", "FormationViolation"),
    ("[2]", "-1", "FormationViolation"),
    ('[2, 17, "Heartbeat", {}]', "-1", "FormationViolation"),
    ('[2, "' + "x" * 37 + '", "Heartbeat", {}]', "-1", "FormationViolation"),
    ('[9, "m1", "Heartbeat", {}]', "m1", "FormationViolation"),
    ('[2, "m2", "Heartbeat"]', "m2", "FormationViolation"),
    ('[2, "m3", "Heartbeat", {}, "extra"]', "m3", "FormationViolation"),
    ('[2, "m4", 42, {}]', "m4", "FormationViolation"),
    ('[2, "m5", "Heartbeat", []]', "m5", "FormationViolation"),
    ('[2, "m6", "FlyToTheMoon", {}]', "m6", "NotImplemented"),
    ('[2, "m7", "RemoteStartTransaction", {"idTag": "X"}]', "m7", "NotSupported"),
    ('[2, "m8", "BootNotification", {"chargePointModel": "M"}]', "m8", "ProtocolError"),
    ('[2, "m9", "BootNotification", {"chargePointVendor": 5, "chargePointModel": "M"}]', "m9", "TypeConstraintViolation"),
    ('[2, "m10", "BootNotification", {"chargePointVendor": "' + "v" * 21 + '", "chargePointModel": "M"}]', "m10",
     "TypeConstraintViolation"),
    ('[2, "m11", "BootNotification", {"chargePointVendor": "V", "chargePointModel": "M", "x": 1}]', "m11",
     "FormationViolation"),
    ('[2, "m12", "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Dancing"}]', "m12",
     "PropertyConstraintViolation"),
    ('[2, "m13", "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Available", '
     '"timestamp": "yesterday"}]', "m13", "TypeConstraintViolation"),
    ('[2, "m14", "MeterValues", {"connectorId": 1, "meterValue": []}]', "m14", "OccurenceConstraintViolation"),
    ('[2, "m15", "MeterValues", {"connectorId": 1, "meterValue": [{"timestamp": "2026-11-24T10:00:00Z", '
     '"sampledValue": [{"value": "many", "measurand": "Power.Active.Import"}]}]}]', "m15",
     "PropertyConstraintViolation"),
    ('[2, "m16", "MeterValues", {"connectorId": 1, "meterValue": [{"timestamp": "2026-11-24T10:00:00Z", '
     '"sampledValue": [{"value": "7", "measurand": "Voltage", "unit": "kWh"}]}]}]', "m16",
     "PropertyConstraintViolation"),
    ('[2, "m17", "Heartbeat", {}] trailing', "-1", "FormationViolation"),
    ('[2, "m18", "Heartbeat", {"value": NaN}]', "-1", "FormationViolation"),
]


@pytest.mark.parametrize(("raw", "expected_id", "expected_code"), CASES)
async def test_malformed_frame_gets_named_callerror_and_socket_survives(server, raw, expected_id, expected_code):
    # given
    cp = await server.builders.charge_point()
    client = await StrictChargePoint.connect(server.ocpp_url(cp.id))
    await client.boot()

    # when
    await client.send_raw(raw)
    answer = await client.next_frame()

    # then
    assert answer[0] == 4
    assert answer[1] == expected_id
    assert answer[2] == expected_code, answer
    assert isinstance(answer[3], str) and answer[3]
    assert isinstance(answer[4], dict)
    heartbeat = await client.call("Heartbeat", {})
    assert heartbeat["currentTime"].endswith("Z")
    await client.close()


async def test_binary_frame_that_is_not_utf8_gets_formation_violation(server):
    # given
    cp = await server.builders.charge_point()
    client = await StrictChargePoint.connect(server.ocpp_url(cp.id))

    # when
    await client.send_raw(b"\xff\xfe\x00")
    answer = await client.next_frame()

    # then
    assert answer[:3] == [4, "-1", "FormationViolation"]
    assert (await client.call("Heartbeat", {}))["currentTime"]
    await client.close()


async def test_malformed_callresult_from_pile_is_not_answered(server):
    # given
    cp = await server.builders.charge_point()
    client = await StrictChargePoint.connect(server.ocpp_url(cp.id))

    # when: a CALLRESULT without payload, then a valid call
    await client.send_raw('[3, "nobody-asked"]')
    reply = await client.call("Heartbeat", {})

    # then: the only frame we got back is the Heartbeat answer
    assert set(reply) == {"currentTime"}
    await client.close()


async def test_messages_before_acceptance_get_security_error(server, monkeypatch):
    # given: a pending pile (auto-registered)
    monkeypatch.setattr(server.services.charge_points, "auto_register", True)
    client = await StrictChargePoint.connect(server.ocpp_url("PENDING-PILE-1"))

    # when
    boot = await client.boot()
    await client.send_raw(json.dumps([2, "s1", "Authorize", {"idTag": "ANY"}]))
    answer = await client.next_frame()

    # then
    assert boot["status"] == "Pending"
    assert answer[:3] == [4, "s1", "SecurityError"]
    assert (await client.call("Heartbeat", {}))["currentTime"]
    await client.close()
