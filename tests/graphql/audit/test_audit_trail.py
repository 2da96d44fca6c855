"""The audit trail records who did what to which pile and what the pile answered; filtered and scoped."""

from __future__ import annotations

import asyncio

from api.models.enums import Role
from tests.support.cp_client import StrictChargePoint
from tests.support.gql_client import data

TRAIL = """query($f: AuditFilterInput, $after: String) { auditTrail(filter: $f, first: 2, after: $after) {
  entries { actorName action stationId chargePointId target outcome details result } endCursor hasNextPage } }"""


async def test_operator_actions_are_recorded_with_the_piles_answer(server):
    # given: a station manager operating a pile that rejects one command and accepts another
    station = await server.builders.station()
    pile = await server.builders.charge_point(station)
    _, manager = await server.builders.person(Role.STATION_MANAGER, station_id=station.id, name="王站长")
    client = await StrictChargePoint.connect(server.ocpp_url(pile.id))
    await client.boot()

    unlock = asyncio.create_task(data(server.base_url, """mutation($cp: ID!) { unlockConnector(chargePointId: $cp,
        connectorNo: 2) { outcome } }""", {"cp": pile.id}, token=manager))
    await client.answer(await client.expect_call("UnlockConnector"), {"status": "UnlockFailed"})
    await unlock
    lock = asyncio.create_task(data(server.base_url, """mutation($cp: ID!) { setConnectorAvailability(
        chargePointId: $cp, connectorNo: 1, operative: false) { outcome } }""", {"cp": pile.id}, token=manager))
    await client.answer(await client.expect_call("ChangeAvailability"), {"status": "Accepted"})
    await lock
    await client.close()
    await asyncio.sleep(0.1)
    await data(server.base_url, "mutation($cp: ID!) { resetChargePoint(chargePointId: $cp) { outcome } }",
               {"cp": pile.id}, token=manager)

    # when
    first = (await data(server.base_url, TRAIL, {"f": {"stationId": station.id}}, token=manager))["auditTrail"]
    rest = (await data(server.base_url, TRAIL, {"f": {"stationId": station.id}, "after": first["endCursor"]},
                       token=manager))["auditTrail"]
    rejected = (await data(server.base_url, TRAIL, {"f": {"chargePointId": pile.id, "outcome": "rejected"}},
                           token=manager))["auditTrail"]

    # then: newest first, each with who, what, on what, and the answer
    entries = first["entries"] + rest["entries"]
    assert first["hasNextPage"] and not rest["hasNextPage"]
    assert [(e["action"], e["outcome"], e["target"]) for e in entries] == [
        ("pile.reset", "offline", pile.id),
        ("pile.availability", "accepted", f"{pile.id} connector 1"),
        ("pile.unlock_connector", "rejected", f"{pile.id} connector 2"),
    ]
    assert {e["actorName"] for e in entries} == {"王站长"}
    assert entries[2]["result"]["status"] == "UnlockFailed"
    assert entries[1]["details"] == {"command": "ChangeAvailability", "connector_no": 1, "operative": False}
    assert [e["action"] for e in rejected["entries"]] == ["pile.unlock_connector"]
