"""Every pile mutation, over real HTTP, against the strict OCPP 1.6J test pile.

Each mutation must send exactly the right CALL (validated by the pile against the official schemas), and
the pile's answer (accepted, rejected, a CALLERROR, no answer at all, or the pile being offline) must come
back to the GraphQL caller as a typed CommandResult within the call timeout (5 s in tests).
"""

from __future__ import annotations

import asyncio
import time

import pytest

from api.core.errors import InvalidInput
from tests.support.cp_client import StrictChargePoint
from tests.support.gql_client import data, gql

RESULT = "chargePointId outcome status message"


@pytest.fixture(scope="module", autouse=True)
async def card_for_remote_starts(server):
    """Remote starts name an issued card (unknown cards are refused before anything is sent)."""
    try:
        await server.services.access.issue_id_tag(None, "CARD0001")
    except InvalidInput:
        pass  # issued by an earlier module of this run

CASES = [
    pytest.param(
        "remoteStart(chargePointId: $cp, idTag: \"CARD0001\", connectorNo: 1, maxPowerW: 30000)",
        "RemoteStartTransaction",
        {"idTag": "CARD0001", "connectorId": 1, "chargingProfile": {
            "chargingProfileId": 16001, "stackLevel": 0, "chargingProfilePurpose": "TxProfile",
            "chargingProfileKind": "Relative",
            "chargingSchedule": {"chargingRateUnit": "W", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 30000}]},
        }},
        {"status": "Accepted"}, "ACCEPTED", id="remoteStart",
    ),
    pytest.param(
        "setConnectorAvailability(chargePointId: $cp, connectorNo: 2, operative: false)",
        "ChangeAvailability", {"connectorId": 2, "type": "Inoperative"}, {"status": "Scheduled"}, "ACCEPTED",
        id="lockConnector",
    ),
    pytest.param(
        "setChargePointAvailability(chargePointId: $cp, operative: true)",
        "ChangeAvailability", {"connectorId": 0, "type": "Operative"}, {"status": "Rejected"}, "REJECTED",
        id="unlockPile",
    ),
    pytest.param(
        "unlockConnector(chargePointId: $cp, connectorNo: 1)",
        "UnlockConnector", {"connectorId": 1}, {"status": "UnlockFailed"}, "REJECTED", id="unlockConnector",
    ),
    pytest.param(
        "resetChargePoint(chargePointId: $cp, hard: true)",
        "Reset", {"type": "Hard"}, {"status": "Accepted"}, "ACCEPTED", id="reset",
    ),
    pytest.param(
        "changeConfiguration(chargePointId: $cp, key: \"HeartbeatInterval\", value: \"120\")",
        "ChangeConfiguration", {"key": "HeartbeatInterval", "value": "120"}, {"status": "RebootRequired"},
        "ACCEPTED", id="changeConfiguration",
    ),
    pytest.param(
        "clearAuthorizationCache(chargePointId: $cp)",
        "ClearCache", {}, {"status": "Rejected"}, "REJECTED", id="clearCache",
    ),
    pytest.param(
        "triggerMessage(chargePointId: $cp, message: STATUS_NOTIFICATION, connectorNo: 1)",
        "TriggerMessage", {"requestedMessage": "StatusNotification", "connectorId": 1}, {"status": "Accepted"},
        "ACCEPTED", id="triggerMessage",
    ),
    pytest.param(
        "sendLocalList(chargePointId: $cp, listVersion: 3, full: false, entries: "
        "[{idTag: \"CARD0001\", status: BLOCKED}, {idTag: \"CARD0002\"}])",
        "SendLocalList",
        {"listVersion": 3, "updateType": "Differential", "localAuthorizationList": [
            {"idTag": "CARD0001", "idTagInfo": {"status": "Blocked"}}, {"idTag": "CARD0002"}]},
        {"status": "VersionMismatch"}, "REJECTED", id="sendLocalList",
    ),
]


async def connected_pile(server):
    pile = await server.builders.charge_point()
    client = await StrictChargePoint.connect(server.ocpp_url(pile.id))
    await client.boot()
    return pile, client


def mutation(field: str, selection: str = RESULT) -> str:
    return f"mutation($cp: ID!) {{ r: {field} {{ {selection} }} }}"


@pytest.mark.parametrize(("field", "action", "payload", "answer", "outcome"), CASES)
async def test_mutation_sends_the_call_and_returns_the_typed_answer(server, field, action, payload, answer, outcome):
    # given
    pile, client = await connected_pile(server)

    # when
    sending = asyncio.create_task(data(server.base_url, mutation(field), {"cp": pile.id}, token=server.admin_token))
    frame = await client.expect_call(action)
    await client.answer(frame, answer)
    result = (await asyncio.wait_for(sending, 10))["r"]

    # then
    assert frame[3] == payload
    assert result == {"chargePointId": pile.id, "outcome": outcome, "status": answer["status"], "message": ""}
    await client.close()


async def test_read_configuration_returns_keys_and_keeps_the_full_list(server):
    pile, client = await connected_pile(server)
    query = mutation("readConfiguration(chargePointId: $cp)",
                     "result { outcome } keys { key value readonly } unknownKeys")
    sending = asyncio.create_task(data(server.base_url, query, {"cp": pile.id}, token=server.admin_token))
    frame = await client.expect_call("GetConfiguration")
    await client.answer(frame, {"configurationKey": [
        {"key": "HeartbeatInterval", "readonly": False, "value": "300"},
        {"key": "NumberOfConnectors", "readonly": True, "value": "2"},
    ]})
    result = (await asyncio.wait_for(sending, 10))["r"]

    assert frame[3] == {}
    assert result["result"]["outcome"] == "ACCEPTED"
    assert result["keys"] == [
        {"key": "HeartbeatInterval", "value": "300", "readonly": False},
        {"key": "NumberOfConnectors", "value": "2", "readonly": True},
    ]
    stored = await data(server.base_url, """query($cp: ID!) { chargePoint(id: $cp) {
        reportedConfiguration { key value readonly } } }""", {"cp": pile.id}, token=server.admin_token)
    assert stored["chargePoint"]["reportedConfiguration"][1] == {"key": "NumberOfConnectors", "value": "2",
                                                                  "readonly": True}
    await client.close()


async def test_local_list_version_and_reservation_round_trips(server):
    pile, client = await connected_pile(server)
    version = asyncio.create_task(data(server.base_url, mutation(
        "readLocalListVersion(chargePointId: $cp)", "result { outcome } listVersion"), {"cp": pile.id},
        token=server.admin_token))
    await client.answer(await client.expect_call("GetLocalListVersion"), {"listVersion": 7})
    assert (await asyncio.wait_for(version, 10))["r"] == {"result": {"outcome": "ACCEPTED"}, "listVersion": 7}

    reserve = asyncio.create_task(data(server.base_url, """mutation($cp: ID!) { r: reserveConnector(
        chargePointId: $cp, connectorNo: 1, idTag: "CARD0001", expiresAt: "2099-01-01T00:00:00Z") {
        reservationId result { outcome status } } }""", {"cp": pile.id}, token=server.admin_token))
    frame = await client.expect_call("ReserveNow")
    await client.answer(frame, {"status": "Accepted"})
    reserved = (await asyncio.wait_for(reserve, 10))["r"]
    assert reserved["result"] == {"outcome": "ACCEPTED", "status": "Accepted"}
    assert frame[3] == {"connectorId": 1, "idTag": "CARD0001", "expiryDate": "2099-01-01T00:00:00Z",
                        "reservationId": int(reserved["reservationId"])}

    cancel = asyncio.create_task(data(server.base_url, """mutation($id: ID!) { r: cancelReservation(reservationId: $id)
        { outcome status } }""", {"id": reserved["reservationId"]}, token=server.admin_token))
    frame = await client.expect_call("CancelReservation")
    await client.answer(frame, {"status": "Accepted"})
    assert (await asyncio.wait_for(cancel, 10))["r"] == {"outcome": "ACCEPTED", "status": "Accepted"}
    assert frame[3] == {"reservationId": int(reserved["reservationId"])}
    await client.close()


async def test_stop_session_sends_the_transaction_of_that_session(server):
    pile, client = await connected_pile(server)
    tag = await server.builders.id_tag()
    tx = (await client.start(1, tag, meter_start=1_000))["transactionId"]
    stopping = asyncio.create_task(data(server.base_url, """mutation($s: ID!) { r: stopSession(sessionId: $s) {
        chargePointId outcome status } }""", {"s": str(tx)}, token=server.admin_token))
    frame = await client.expect_call("RemoteStopTransaction")
    await client.answer(frame, {"status": "Accepted"})
    assert (await asyncio.wait_for(stopping, 10))["r"] == {"chargePointId": pile.id, "outcome": "ACCEPTED",
                                                           "status": "Accepted"}
    assert frame[3] == {"transactionId": tx}
    await client.close()


async def test_callerror_offline_and_silence_are_typed_results(server):
    pile, client = await connected_pile(server)
    reset = mutation("resetChargePoint(chargePointId: $cp)")

    # a CALLERROR
    sending = asyncio.create_task(data(server.base_url, reset, {"cp": pile.id}, token=server.admin_token))
    await client.answer_error(await client.expect_call("Reset"), "InternalError", "relay stuck")
    assert (await asyncio.wait_for(sending, 10))["r"]["outcome"] == "ERROR"

    # no answer at all: TIMED_OUT after the 5 s call timeout, and the socket still works afterwards
    started = time.monotonic()
    sending = asyncio.create_task(data(server.base_url, reset, {"cp": pile.id}, token=server.admin_token))
    await client.expect_call("Reset")
    result = (await asyncio.wait_for(sending, 10))["r"]
    assert result["outcome"] == "TIMED_OUT"
    assert 4.5 < time.monotonic() - started < 8
    assert (await client.call("Heartbeat", {}))["currentTime"]

    # the pile gone: OFFLINE at once, nothing sent
    await client.close()
    await asyncio.sleep(0.2)
    result = (await data(server.base_url, reset, {"cp": pile.id}, token=server.admin_token))["r"]
    assert result["outcome"] == "OFFLINE"


async def test_bad_arguments_are_refused_before_anything_is_sent(server):
    pile, client = await connected_pile(server)
    body = await asyncio.wait_for(gql(
        server.base_url, mutation("remoteStart(chargePointId: $cp, idTag: \"THIS-TAG-IS-FAR-TOO-LONG\")"),
        {"cp": pile.id}, token=server.admin_token), 10)
    assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    # nothing reached the pile: the next frame it sees is the answer to its own heartbeat
    assert (await client.call("Heartbeat", {}))["currentTime"]
    await client.close()
