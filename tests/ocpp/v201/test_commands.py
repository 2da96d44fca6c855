"""Every pile mutation against an OCPP 2.0.1 pile, over real HTTP: the same GraphQL as for 1.6 sends the 2.0.1
call (validated by the strict pile against the official 2.0.1 schemas), and the pile's answer comes back
as the same typed CommandResult."""

from __future__ import annotations

import asyncio
import os

import pytest

from api.core.errors import InvalidInput
from api.models.enums import Role
from tests.graphql.files.test_station_files import gql as files_gql
from tests.graphql.files.test_station_files import upload
from tests.support.cp_client_v201 import StrictChargingStation
from tests.support.gql_client import data

RESULT = "chargePointId outcome status message"


@pytest.fixture(scope="module", autouse=True)
async def card_for_remote_starts(server):
    try:
        await server.services.access.issue_id_tag(None, "CARD0001")
    except InvalidInput:
        pass  # issued by an earlier module of this run


def power_limit(profile_id: int, watts: int) -> dict:
    """The 2.0.1 chargingProfile a remote start with a power limit must carry."""
    return {
        "id": profile_id, "stackLevel": 0, "chargingProfilePurpose": "TxProfile", "chargingProfileKind": "Relative",
        "chargingSchedule": [{"id": profile_id, "chargingRateUnit": "W",
                              "chargingSchedulePeriod": [{"startPeriod": 0, "limit": watts}]}],
    }


def variable(component: str, name: str, instance: str | None = None) -> dict:
    found = {"component": {"name": component}, "variable": {"name": name}}
    if instance:
        found["variable"]["instance"] = instance
    return found


CASES = [
    pytest.param(
        'remoteStart(chargePointId: $cp, idTag: "CARD0001", connectorNo: 1, maxPowerW: 30000)',
        "RequestStartTransaction",
        {"idToken": {"idToken": "CARD0001", "type": "Central"}, "evseId": 1,
         "chargingProfile": power_limit(16001, 30000)},
        {"status": "Accepted", "transactionId": "TX-99"}, "ACCEPTED", id="remoteStart",
    ),
    pytest.param(
        'remoteStart(chargePointId: $cp, idTag: "CARD0001")',
        "RequestStartTransaction", {"idToken": {"idToken": "CARD0001", "type": "Central"}},
        {"status": "Rejected"}, "REJECTED", id="remoteStartAnywhere",
    ),
    pytest.param(
        "setConnectorAvailability(chargePointId: $cp, connectorNo: 2, operative: false)",
        "ChangeAvailability", {"operationalStatus": "Inoperative", "evse": {"id": 2, "connectorId": 1}},
        {"status": "Scheduled"}, "ACCEPTED", id="lockConnector",
    ),
    pytest.param(
        "setChargePointAvailability(chargePointId: $cp, operative: true)",
        "ChangeAvailability", {"operationalStatus": "Operative"}, {"status": "Rejected"}, "REJECTED",
        id="unlockPile",
    ),
    pytest.param(
        "unlockConnector(chargePointId: $cp, connectorNo: 1)",
        "UnlockConnector", {"evseId": 1, "connectorId": 1}, {"status": "UnlockFailed"}, "REJECTED",
        id="unlockConnector",
    ),
    pytest.param(
        "unlockConnector(chargePointId: $cp, connectorNo: 202)",
        "UnlockConnector", {"evseId": 2, "connectorId": 2}, {"status": "Unlocked"}, "ACCEPTED",
        id="unlockSecondConnectorOfAnEvse",
    ),
    pytest.param(
        "resetChargePoint(chargePointId: $cp, hard: true)",
        "Reset", {"type": "Immediate"}, {"status": "Accepted"}, "ACCEPTED", id="hardReset",
    ),
    pytest.param(
        "resetChargePoint(chargePointId: $cp)",
        "Reset", {"type": "OnIdle"}, {"status": "Scheduled"}, "ACCEPTED", id="softReset",
    ),
    pytest.param(
        'changeConfiguration(chargePointId: $cp, key: "HeartbeatInterval", value: "120")',
        "SetVariables", {"setVariableData": [{"attributeValue": "120", **variable("OCPPCommCtrlr", "HeartbeatInterval")}]},
        {"setVariableResult": [{"attributeStatus": "RebootRequired", **variable("OCPPCommCtrlr", "HeartbeatInterval")}]},
        "ACCEPTED", id="changeConfiguration",
    ),
    pytest.param(
        'changeConfiguration(chargePointId: $cp, key: "MeterValueSampleInterval", value: "30")',
        "SetVariables",
        {"setVariableData": [{"attributeValue": "30", **variable("SampledDataCtrlr", "TxUpdatedInterval")}]},
        {"setVariableResult": [{"attributeStatus": "Accepted", **variable("SampledDataCtrlr", "TxUpdatedInterval")}]},
        "ACCEPTED", id="changeSampleInterval",
    ),
    pytest.param(
        # (AuthorizationKey, the Basic auth password, goes only through setChargePointPassword: test_security)
        'changeConfiguration(chargePointId: $cp, key: "LocalAuthorizeOffline", value: "false")',
        "SetVariables",
        {"setVariableData": [{"attributeValue": "false", **variable("AuthCtrlr", "LocalAuthorizeOffline")}]},
        {"setVariableResult": [{"attributeStatus": "Accepted", **variable("AuthCtrlr", "LocalAuthorizeOffline")}]},
        "ACCEPTED", id="changeLocalAuthorizeOffline",
    ),
    pytest.param(
        'changeConfiguration(chargePointId: $cp, key: "TxCtrlr.TxStopPoint", value: "EVConnected")',
        "SetVariables",
        {"setVariableData": [{"attributeValue": "EVConnected", **variable("TxCtrlr", "TxStopPoint")}]},
        {"setVariableResult": [{"attributeStatus": "Rejected", **variable("TxCtrlr", "TxStopPoint")}]},
        "REJECTED", id="changeComponentVariable",
    ),
    pytest.param(
        "clearAuthorizationCache(chargePointId: $cp)", "ClearCache", {}, {"status": "Accepted"}, "ACCEPTED",
        id="clearCache",
    ),
    pytest.param(
        "triggerMessage(chargePointId: $cp, message: STATUS_NOTIFICATION, connectorNo: 1)",
        "TriggerMessage", {"requestedMessage": "StatusNotification", "evse": {"id": 1, "connectorId": 1}},
        {"status": "Accepted"}, "ACCEPTED", id="triggerMessage",
    ),
    pytest.param(
        "triggerMessage(chargePointId: $cp, message: DIAGNOSTICS_STATUS_NOTIFICATION)",
        "TriggerMessage", {"requestedMessage": "LogStatusNotification"}, {"status": "NotImplemented"}, "REJECTED",
        id="triggerLogStatus",
    ),
    pytest.param(
        "sendLocalList(chargePointId: $cp, listVersion: 3, full: false, entries: "
        '[{idTag: "CARD0001", status: BLOCKED}, {idTag: "CARD0002"}, {idTag: "LSVAU2180N2183294", status: ACCEPTED}])',
        "SendLocalList",
        {"versionNumber": 3, "updateType": "Differential", "localAuthorizationList": [
            {"idToken": {"idToken": "CARD0001", "type": "ISO14443"}, "idTokenInfo": {"status": "Blocked"}},
            {"idToken": {"idToken": "CARD0002", "type": "ISO14443"}},
            {"idToken": {"idToken": "LSVAU2180N2183294", "type": "Local"}, "idTokenInfo": {"status": "Accepted"}}]},
        {"status": "VersionMismatch"}, "REJECTED", id="sendLocalList",
    ),
    pytest.param(
        "sendLocalList(chargePointId: $cp, listVersion: 4, full: true, entries: [])",
        "SendLocalList", {"versionNumber": 4, "updateType": "Full"}, {"status": "Accepted"}, "ACCEPTED",
        id="emptyLocalList",
    ),
]


async def connected_pile(server, station=None):
    pile = await server.builders.charge_point(station)
    client = await StrictChargingStation.connect(server.ocpp_url(pile.id))
    await client.boot()
    return pile, client


def mutation(field: str, selection: str = RESULT) -> str:
    return f"mutation($cp: ID!) {{ r: {field} {{ {selection} }} }}"


async def drive(server, client, query: str, variables: dict, action: str, answer: dict, token: str | None = None):
    """Run the mutation while the pile answers the one call it causes; returns (call frame, mutation data)."""
    sending = asyncio.create_task(data(server.base_url, query, variables, token=token or server.admin_token))
    frame = await client.expect_call(action)
    await client.answer(frame, answer)
    return frame, await asyncio.wait_for(sending, 10)


@pytest.mark.parametrize(("field", "action", "payload", "answer", "outcome"), CASES)
async def test_mutation_sends_the_201_call_and_returns_the_typed_answer(server, field, action, payload, answer,
                                                                       outcome):
    # given
    pile, client = await connected_pile(server)

    # when
    frame, result = await drive(server, client, mutation(field), {"cp": pile.id}, action, answer)

    # then
    sent = dict(frame[3])
    if action == "RequestStartTransaction":
        assert isinstance(sent.pop("remoteStartId"), int)
    assert sent == payload
    status = answer.get("status") or answer["setVariableResult"][0]["attributeStatus"]
    assert result["r"] == {"chargePointId": pile.id, "outcome": outcome, "status": status, "message": ""}
    await client.close()


async def test_read_configuration_maps_16_keys_and_component_variables(server):
    # given
    pile, client = await connected_pile(server)
    query = mutation('readConfiguration(chargePointId: $cp, keys: ["HeartbeatInterval", "AuthorizationKey", '
                     '"TransactionMessageAttempts", "TxCtrlr.TxStartPoint", "ChargeBoxSerial", "NumberOfConnectors"])',
                     "result { outcome status } keys { key value readonly } unknownKeys")

    # when
    frame, result = await drive(server, client, query, {"cp": pile.id}, "GetVariables", {"getVariableResult": [
        {"attributeStatus": "Accepted", "attributeValue": "300", **variable("OCPPCommCtrlr", "HeartbeatInterval")},
        {"attributeStatus": "Rejected", **variable("SecurityCtrlr", "BasicAuthPassword")},
        {"attributeStatus": "Accepted", "attributeValue": "3",
         **variable("OCPPCommCtrlr", "MessageAttempts", "TransactionEvent")},
        {"attributeStatus": "UnknownVariable", **variable("TxCtrlr", "TxStartPoint")},
    ]})

    # then: 1.6 keys without a 2.0.1 variable are not asked for, and come back unknown
    assert frame[3] == {"getVariableData": [
        variable("OCPPCommCtrlr", "HeartbeatInterval"), variable("SecurityCtrlr", "BasicAuthPassword"),
        variable("OCPPCommCtrlr", "MessageAttempts", "TransactionEvent"), variable("TxCtrlr", "TxStartPoint")]}
    assert result["r"] == {
        "result": {"outcome": "ACCEPTED", "status": "Accepted"},
        "keys": [{"key": "HeartbeatInterval", "value": "300", "readonly": False},
                 {"key": "AuthorizationKey", "value": None, "readonly": False},
                 {"key": "TransactionMessageAttempts", "value": "3", "readonly": False}],
        "unknownKeys": ["TxCtrlr.TxStartPoint", "ChargeBoxSerial", "NumberOfConnectors"],
    }
    await client.close()


async def test_read_whole_configuration_asks_for_every_mapped_key_and_keeps_what_is_known(server):
    # given
    pile, client = await connected_pile(server)
    query = mutation("readConfiguration(chargePointId: $cp)", "result { outcome } keys { key value readonly }")

    # when: the pile knows two of the variables
    sending = asyncio.create_task(data(server.base_url, query, {"cp": pile.id}, token=server.admin_token))
    frame = await client.expect_call("GetVariables")
    asked = frame[3]["getVariableData"]
    known = {("OCPPCommCtrlr", "HeartbeatInterval"): "300", ("LocalAuthListCtrlr", "ItemsPerMessage"): "50"}
    await client.answer(frame, {"getVariableResult": [
        {**item, "attributeStatus": "Accepted", "attributeValue": known[key]} if (
            key := (item["component"]["name"], item["variable"]["name"])) in known
        else {**item, "attributeStatus": "UnknownVariable"}
        for item in asked
    ]})
    result = (await asyncio.wait_for(sending, 10))["r"]

    # then: the list is what 1.6 would give (keys with their values, the unknown ones left out) and is kept
    assert len(asked) > 20
    assert result["keys"] == [{"key": "HeartbeatInterval", "value": "300", "readonly": False},
                              {"key": "SendLocalListMaxLength", "value": "50", "readonly": True}]
    stored = await data(server.base_url, """query($cp: ID!) { chargePoint(id: $cp) {
        reportedConfiguration { key value } } }""", {"cp": pile.id}, token=server.admin_token)
    assert {"key": "SendLocalListMaxLength", "value": "50"} in stored["chargePoint"]["reportedConfiguration"]
    await client.close()


async def test_a_16_key_without_a_201_counterpart_is_refused_without_sending(server):
    pile, client = await connected_pile(server)
    result = await data(server.base_url, mutation('changeConfiguration(chargePointId: $cp, key: "NumberOfConnectors", '
                                                  'value: "3")'), {"cp": pile.id}, token=server.admin_token)
    assert result["r"]["outcome"] == "REJECTED" and result["r"]["status"] == "NotSupported"
    assert (await client.call("Heartbeat", {}))["currentTime"]  # nothing else was queued for the pile
    assert client.server_calls.empty()
    await client.close()


async def test_local_list_version_and_reservation_round_trips(server):
    pile, client = await connected_pile(server)
    _, version = await drive(server, client, mutation("readLocalListVersion(chargePointId: $cp)",
                                                      "result { outcome } listVersion"),
                             {"cp": pile.id}, "GetLocalListVersion", {"versionNumber": 7})
    assert version["r"] == {"result": {"outcome": "ACCEPTED"}, "listVersion": 7}

    frame, reserved = await drive(server, client, """mutation($cp: ID!) { r: reserveConnector(chargePointId: $cp,
        connectorNo: 2, idTag: "CARD0001", expiresAt: "2099-01-01T08:00:00+08:00") {
        reservationId result { outcome status } } }""", {"cp": pile.id}, "ReserveNow", {"status": "Occupied"})
    assert reserved["r"]["result"] == {"outcome": "REJECTED", "status": "Occupied"}
    assert frame[3] == {"id": int(reserved["r"]["reservationId"]), "expiryDateTime": "2099-01-01T00:00:00Z",
                        "idToken": {"idToken": "CARD0001", "type": "Central"}, "evseId": 2}

    frame, cancelled = await drive(server, client, """mutation($id: ID!) { r: cancelReservation(reservationId: $id)
        { outcome status } }""", {"id": reserved["r"]["reservationId"]}, "CancelReservation", {"status": "Rejected"})
    assert cancelled["r"] == {"outcome": "REJECTED", "status": "Rejected"}
    assert frame[3] == {"reservationId": int(reserved["r"]["reservationId"])}
    await client.close()


async def test_stop_session_sends_the_piles_own_transaction_id(server):
    # given: a running 2.0.1 transaction
    pile, client = await connected_pile(server)
    tag = await server.builders.id_tag()
    await client.transaction("Started", "4f1c-TX-77", 0, "Authorized", evse=1,
                             id_token={"idToken": tag, "type": "ISO14443"})
    session = await server.services.charging.find_pile_transaction(pile.id, "4f1c-TX-77")

    # when
    frame, result = await drive(server, client, """mutation($s: ID!) { r: stopSession(sessionId: $s) {
        chargePointId outcome status } }""", {"s": str(session.id)}, "RequestStopTransaction", {"status": "Accepted"})

    # then
    assert frame[3] == {"transactionId": "4f1c-TX-77"}
    assert result["r"] == {"chargePointId": pile.id, "outcome": "ACCEPTED", "status": "Accepted"}
    await client.close()


async def test_diagnostics_and_firmware_go_through_get_log_and_update_firmware(server):
    # given
    station = await server.builders.station()
    pile, client = await connected_pile(server, station)
    _, manager = await server.builders.person(Role.STATION_MANAGER, station_id=station.id)
    made = (await upload(server, manager, station.id, "fw-3.0.bin", b"\x7fFW\x00" + os.urandom(1000),
                         category="firmware"))["data"]["f"]

    # when
    asking = asyncio.create_task(files_gql(server, """mutation($cp: ID!) { requestDiagnostics(chargePointId: $cp,
        startTime: "2026-11-01T08:00:00+08:00") { result { outcome status } } }""", {"cp": pile.id}, manager))
    log_call = await client.expect_call("GetLog")
    await client.answer(log_call, {"status": "Accepted", "filename": "diag.tar.gz"})
    asked = (await asking)["data"]["requestDiagnostics"]["result"]
    updating = asyncio.create_task(files_gql(server, """mutation($cp: ID!, $f: ID!) { updateFirmware(
        chargePointId: $cp, fileId: $f, retrieveAt: "2026-12-01T02:00:00+08:00") { outcome status } }""",
                                             {"cp": pile.id, "f": made["id"]}, manager))
    firmware_call = await client.expect_call("UpdateFirmware")
    await client.answer(firmware_call, {"status": "InvalidCertificate"})
    updated = (await updating)["data"]["updateFirmware"]

    # then
    assert asked == {"outcome": "ACCEPTED", "status": "Accepted"}
    log = log_call[3]
    assert (log["logType"], log["retries"], log["retryInterval"], log["log"]["oldestTimestamp"]) == (
        "DiagnosticsLog", 3, 60, "2026-11-01T00:00:00Z")
    assert log["log"]["remoteLocation"].startswith(f"{server.base_url}/pile-uploads/diagnostics/{pile.id}/")
    assert isinstance(log["requestId"], int)
    assert updated == {"outcome": "REJECTED", "status": "InvalidCertificate"}
    firmware = firmware_call[3]
    assert firmware["firmware"]["retrieveDateTime"] == "2026-11-30T18:00:00Z"
    assert "/files/" in firmware["firmware"]["location"] and isinstance(firmware["requestId"], int)
    await client.close()


async def test_callerror_from_a_201_pile_is_an_error_result(server):
    pile, client = await connected_pile(server)
    sending = asyncio.create_task(data(server.base_url, mutation("resetChargePoint(chargePointId: $cp)"),
                                       {"cp": pile.id}, token=server.admin_token))
    await client.answer_error(await client.expect_call("Reset"), "SecurityError", "not now")
    result = (await asyncio.wait_for(sending, 10))["r"]
    assert (result["outcome"], result["status"]) == ("ERROR", "SecurityError")
    await client.close()


async def test_locks_are_reapplied_to_a_201_pile_when_it_boots(server):
    # given: a pile locked while offline
    pile = await server.builders.charge_point()
    offline = await data(server.base_url, mutation("setConnectorAvailability(chargePointId: $cp, connectorNo: 2, "
                                                   "operative: false)"), {"cp": pile.id}, token=server.admin_token)
    assert offline["r"]["outcome"] == "OFFLINE"

    # when
    client = await StrictChargingStation.connect(server.ocpp_url(pile.id))
    await client.boot()
    frame = await client.expect_call("ChangeAvailability")
    await client.answer(frame, {"status": "Accepted"})

    # then
    assert frame[3] == {"operationalStatus": "Inoperative", "evse": {"id": 2, "connectorId": 1}}
    await client.close()
