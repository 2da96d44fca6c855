"""The access-control matrix: every role against every family of mutations (and the scoped reads).

One world: operator A with station S (pile P connected, answering every call) and a fleet F; operator B
with station T. Each role is held by its own person. For every (role, family) the test asserts either that
the action happened (the pile got the CALL, the desired state or the card changed, an audit entry exists)
or that it was refused with UNAUTHENTICATED/FORBIDDEN, saying why, and that nothing changed: no CALL reached
the pile, no desired state moved, no card or account appeared, no audit entry was written.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from typing import Any

import pytest

from api.audit.dto import AuditFilter
from api.models.enums import Role
from tests.support.builders import unique
from tests.support.cp_client import StrictChargePoint
from tests.support.gql_client import gql

ROLES = [
    "anonymous", "platform_admin", "operator_admin", "other_operator_admin", "station_manager",
    "other_station_manager", "fleet_manager", "partner", "driver",
]
FAMILIES = ["pile_command", "lock_pile", "lock_station", "configuration", "cards", "fleet_cards", "staff",
            "audit_read", "session_read", "pile_details", "access_policy", "access_read"]

# who may do what (everything else must be refused)
ALLOWED = {
    "platform_admin": set(FAMILIES),
    "operator_admin": set(FAMILIES),
    "station_manager": {"pile_command", "lock_pile", "lock_station", "configuration", "audit_read", "session_read",
                        "pile_details", "access_policy", "access_read"},
    "fleet_manager": {"fleet_cards"},
    "driver": set(),
    "partner": set(),
    "other_operator_admin": set(),
    "other_station_manager": set(),
    "anonymous": set(),
}

_numbers = itertools.count(1)


@dataclass
class World:
    station_id: int
    other_station_id: int
    operator_id: int
    fleet_id: int
    pile_id: str
    session_id: int
    tokens: dict[str, str | None]
    calls: list[list[Any]] = field(default_factory=list)


async def _answer_everything(client: StrictChargePoint, calls: list[list[Any]]) -> None:
    while True:
        frame = await client.next_frame(timeout=3600)
        if frame[0] == 2:
            calls.append(frame)
            await client.answer(frame, {"status": "Accepted"})


@pytest.fixture(scope="module")
async def world(server):
    b = server.builders
    station = await b.station()
    other = await b.station()
    pile = await b.charge_point(station)
    fleet = await b.fleet(station.operator_id)
    driver_id, driver_token = await b.person(Role.DRIVER)
    tokens: dict[str, str | None] = {"anonymous": None, "driver": driver_token}
    tokens["platform_admin"] = (await b.person(Role.PLATFORM_ADMIN))[1]
    tokens["operator_admin"] = (await b.person(Role.OPERATOR_ADMIN, operator_id=station.operator_id))[1]
    tokens["other_operator_admin"] = (await b.person(Role.OPERATOR_ADMIN, operator_id=other.operator_id))[1]
    tokens["station_manager"] = (await b.person(Role.STATION_MANAGER, station_id=station.id))[1]
    tokens["other_station_manager"] = (await b.person(Role.STATION_MANAGER, station_id=other.id))[1]
    tokens["fleet_manager"] = (await b.person(Role.FLEET_MANAGER, fleet_id=fleet.id))[1]
    tokens["partner"] = (await b.person(Role.PARTNER, station_id=station.id))[1]
    # a session at S, started with a card of someone else (not the driver)
    tag = await b.id_tag()
    client = await StrictChargePoint.connect(server.ocpp_url(pile.id))
    await client.boot()
    session_id = (await client.start(1, tag, meter_start=0))["transactionId"]
    built = World(station.id, other.id, station.operator_id, fleet.id, pile.id, session_id, tokens)
    responder = asyncio.create_task(_answer_everything(client, built.calls))
    yield built
    responder.cancel()
    await client.close()


async def _audit_count(server, world: World) -> int:
    rows = await server.services.audit.search(
        AuditFilter(charge_point_id=world.pile_id),
        everything=True, station_ids=frozenset(), operator_ids=frozenset(), before_id=None, limit=201,
    )
    return len(rows)


async def _state(server, world: World) -> tuple[Any, ...]:
    """Everything a refused mutation must leave alone."""
    services = server.services
    cp = await services.charge_points.get(world.pile_id)
    config = await services.charge_points.desired_configuration_for([world.pile_id])
    platform = await _platform_viewer(server)
    tags = await services.access.id_tags(platform, None, None, 200)
    policy, _ = await services.policies.policy(platform, world.station_id)
    return (
        len(world.calls), cp.desired_availability, tuple((c.key, c.value) for c in config),
        len(tags), await _audit_count(server, world), policy.revision,
    )


async def _platform_viewer(server):
    return await server.services.access.viewer_from_token(server.admin_token)


def _request(family: str, world: World) -> tuple[str, dict[str, Any]]:
    n = next(_numbers)
    match family:
        case "pile_command":
            return "mutation($cp: ID!) { r: resetChargePoint(chargePointId: $cp) { outcome } }", {"cp": world.pile_id}
        case "lock_pile":
            return ("mutation($cp: ID!) { r: setChargePointAvailability(chargePointId: $cp, operative: false) "
                    "{ outcome } }", {"cp": world.pile_id})
        case "lock_station":
            return ("mutation($s: ID!) { r: setStationAvailability(stationId: $s, operative: false) "
                    "{ piles { outcome } } }", {"s": world.station_id})
        case "configuration":
            return ("mutation($cp: ID!, $v: String!) { r: changeConfiguration(chargePointId: $cp, "
                    "key: \"MeterValueSampleInterval\", value: $v) { outcome } }", {"cp": world.pile_id, "v": str(n)})
        case "cards":
            return ("mutation($t: String!, $o: ID!) { r: issueIdTag(tag: $t, operatorId: $o) { tag } }",
                    {"t": unique("MX"), "o": world.operator_id})
        case "fleet_cards":
            return ("mutation($t: String!, $f: ID!) { r: issueIdTag(tag: $t, fleetId: $f) { tag } }",
                    {"t": unique("FX"), "f": world.fleet_id})
        case "staff":
            return ("mutation($l: String!, $s: ID!) { r: createStaff(name: \"值班员\", login: $l, "
                    "password: \"correct-horse-battery\", grants: [{role: STATION_MANAGER, stationId: $s}]) { id } }",
                    {"l": f"matrix{n}", "s": world.station_id})
        case "audit_read":
            return ("query($s: ID!) { r: auditTrail(filter: {stationId: $s}) { entries { id } } }",
                    {"s": world.station_id})
        case "session_read":
            return "query($id: ID!) { r: session(id: $id) { id } }", {"id": world.session_id}
        case "access_policy":
            return ("mutation($s: ID!) { r: setStationAccess(stationId: $s, mode: PUBLIC) { access { revision } } }",
                    {"s": world.station_id})
        case "access_read":
            return "query($s: ID!) { r: stationAccess(stationId: $s) { rules { id } } }", {"s": world.station_id}
        case "pile_details":
            return ("query($cp: ID!) { r: chargePoint(id: $cp) { desiredConfiguration { key } } }",
                    {"cp": world.pile_id})
    raise AssertionError(family)


def _refusal(body: dict[str, Any]) -> dict[str, Any] | None:
    for error in body.get("errors", []):
        if error.get("extensions", {}).get("code") in ("UNAUTHENTICATED", "FORBIDDEN"):
            return error
    return None


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("role", ROLES)
async def test_role_against_family(server, world, role, family):
    # given
    query, variables = _request(family, world)
    before = await _state(server, world)

    # when
    body = await gql(server.base_url, query, variables, token=world.tokens[role])

    # then
    refusal = _refusal(body)
    if family in ALLOWED[role]:
        assert refusal is None, body
        assert "errors" not in body, body
        if family in ("pile_command", "lock_pile", "configuration"):
            after = await _state(server, world)
            assert after[0] == before[0] + 1  # the CALL reached the pile
            assert after[4] == before[4] + 1  # and was audited
        if family == "lock_station":
            assert body["data"]["r"]["piles"] == [{"outcome": "ACCEPTED"}]
        if family == "access_policy":
            assert (await _state(server, world))[5] == before[5] + 1  # the policy changed
    else:
        assert refusal is not None, body
        expected = "UNAUTHENTICATED" if role == "anonymous" else "FORBIDDEN"
        assert refusal["extensions"]["code"] == expected
        assert "may not" in refusal["message"] or "log in" in refusal["message"]
        if family == "session_read" and role == "driver":
            assert "neither theirs" in refusal["message"]
        assert await _state(server, world) == before, "a refused call changed something"


async def test_drivers_and_fleets_see_only_their_own_sessions(server, world):
    # given: a card of the driver and a card of the fleet, each with a session at S
    b = server.builders
    driver_id, driver_token = await b.person(Role.DRIVER)
    fleet_mgr_token = world.tokens["fleet_manager"]
    own = unique("OWN")
    fleet_card = unique("FLT")
    admin = await _platform_viewer(server)
    await server.services.access.issue_id_tag(admin, own, user_id=driver_id)
    await server.services.access.issue_id_tag(admin, fleet_card, fleet_id=world.fleet_id)
    pile = await b.charge_point(await server.services.stations.get(world.station_id))
    client = await StrictChargePoint.connect(server.ocpp_url(pile.id))
    await client.boot()
    mine = (await client.start(1, own, meter_start=0))["transactionId"]
    theirs = (await client.start(2, fleet_card, meter_start=0))["transactionId"]
    query = "query($cp: ID!) { sessions(filter: {chargePointId: $cp}) { edges { node { id } } } }"

    # when
    as_driver = await gql(server.base_url, query, {"cp": pile.id}, token=driver_token)
    as_fleet = await gql(server.base_url, query, {"cp": pile.id}, token=fleet_mgr_token)
    as_manager = await gql(server.base_url, query, {"cp": pile.id}, token=world.tokens["station_manager"])
    as_partner = await gql(server.base_url, query, {"cp": pile.id}, token=world.tokens["partner"])

    # then
    def ids(body: dict[str, Any]) -> set[int]:
        return {int(e["node"]["id"]) for e in body["data"]["sessions"]["edges"]}

    assert ids(as_driver) == {mine}
    assert ids(as_fleet) == {theirs}
    assert ids(as_manager) == {mine, theirs}
    assert ids(as_partner) == set()
    await client.close()
