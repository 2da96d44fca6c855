"""The life of a card: issued to a fleet, assigned, blocked, expired; a pile's Authorize follows each step."""

from __future__ import annotations

from api.models.enums import Role
from tests.support.builders import unique
from tests.support.cp_client import StrictChargePoint
from tests.support.gql_client import data, gql

CARD = "tag kind status expiresAt blockedReason operatorId fleetId userId"


async def test_card_lifecycle_reaches_the_piles_authorize(server):
    # given: a bus fleet of an operator, its manager, a driver, and a pile to authorize at
    station = await server.builders.station()
    fleet = await server.builders.fleet(station.operator_id)
    _, manager = await server.builders.person(Role.FLEET_MANAGER, fleet_id=fleet.id)
    driver_id, _ = await server.builders.person(Role.DRIVER)
    pile = await server.builders.charge_point(station)
    client = await StrictChargePoint.connect(server.ocpp_url(pile.id))
    await client.boot()
    tag = unique("BUS")

    async def authorize() -> str:
        return (await client.call("Authorize", {"idTag": tag}))["idTagInfo"]["status"]

    # when / then: issued by the fleet manager for the fleet
    issued = (await data(server.base_url, f"""mutation($t: String!, $f: ID!) {{ issueIdTag(tag: $t, fleetId: $f)
        {{ {CARD} }} }}""", {"t": tag, "f": fleet.id}, token=manager))["issueIdTag"]
    assert issued == {"tag": tag, "kind": "RFID", "status": "ACCEPTED", "expiresAt": None, "blockedReason": "",
                      "operatorId": str(station.operator_id), "fleetId": str(fleet.id), "userId": None}
    assert await authorize() == "Accepted"

    assigned = (await data(server.base_url, f"""mutation($t: String!, $u: ID!, $f: ID!) {{
        assignIdTag(tag: $t, userId: $u, fleetId: $f) {{ {CARD} }} }}""",
        {"t": tag, "u": driver_id, "f": fleet.id}, token=manager))["assignIdTag"]
    assert assigned["userId"] == str(driver_id)

    blocked = (await data(server.base_url, f"""mutation($t: String!) {{ blockIdTag(tag: $t, reason: "卡片遗失")
        {{ {CARD} }} }}""", {"t": tag}, token=manager))["blockIdTag"]
    assert (blocked["status"], blocked["blockedReason"]) == ("BLOCKED", "卡片遗失")
    assert await authorize() == "Blocked"

    await data(server.base_url, "mutation($t: String!) { unblockIdTag(tag: $t) { status } }", {"t": tag}, token=manager)
    assert await authorize() == "Accepted"

    expired = (await data(server.base_url, f"""mutation($t: String!) {{
        setIdTagExpiry(tag: $t, expiresAt: "2020-01-01T00:00:00+08:00") {{ {CARD} }} }}""",
        {"t": tag}, token=manager))["setIdTagExpiry"]
    assert expired["expiresAt"].startswith("2019-12-31T16:00:00")
    assert await authorize() == "Expired"

    # and the manager sees the fleet's cards; another fleet's manager neither sees nor changes them
    listed = (await data(server.base_url, "{ idTags { tag } }", token=manager))["idTags"]
    assert {"tag": tag} in listed
    other_fleet = await server.builders.fleet(station.operator_id)
    _, stranger = await server.builders.person(Role.FLEET_MANAGER, fleet_id=other_fleet.id)
    assert {"tag": tag} not in (await data(server.base_url, "{ idTags { tag } }", token=stranger))["idTags"]
    refused = await gql(server.base_url, "mutation($t: String!) { blockIdTag(tag: $t) { status } }", {"t": tag},
                        token=stranger)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert f"fleet {fleet.id}" in refused["errors"][0]["message"]
    await client.close()


async def test_a_card_number_is_issued_once_and_checked(server):
    station = await server.builders.station()
    _, admin = await server.builders.person(Role.OPERATOR_ADMIN, operator_id=station.operator_id)
    issue = "mutation($t: String!, $o: ID!) { issueIdTag(tag: $t, operatorId: $o) { tag } }"
    tag = unique("OP")
    await data(server.base_url, issue, {"t": tag, "o": station.operator_id}, token=admin)
    again = await gql(server.base_url, issue, {"t": tag, "o": station.operator_id}, token=admin)
    assert again["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    too_long = await gql(server.base_url, issue, {"t": "X" * 21, "o": station.operator_id}, token=admin)
    assert too_long["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
