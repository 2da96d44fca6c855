"""Who may charge where: station policies over GraphQL, enforced at the pile (Authorize, StartTransaction) and
for remote starts, and carried to the piles' local lists by SendLocalList (full and differential updates).

The pile is a strict OCPP 1.6J pile that keeps a real local list (tests/support/list_pile.py).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from api.core.clock import SHANGHAI
from api.models.enums import Role
from tests.support.builders import unique
from tests.support.gql_client import data, gql
from tests.support.list_pile import ListKeepingPile

PILES = "piles { chargePointId outcome status }"
ACCESS = "access { mode modeNow revision rules { id effect idTag userId fleetId note } }"
SET = f"""mutation($s: ID!, $m: AccessMode!, $w: [AccessWindowInput!]) {{
  r: setStationAccess(stationId: $s, mode: $m, schedule: $w) {{ {ACCESS} {PILES} }} }}"""
ADD = f"""mutation($s: ID!, $e: AccessRuleEffect!, $t: String, $u: ID, $f: ID, $n: String! = "") {{
  r: addAccessRule(stationId: $s, effect: $e, idTag: $t, userId: $u, fleetId: $f, note: $n) {{ {ACCESS} {PILES} }} }}"""
REMOVE = f"mutation($id: ID!) {{ r: removeAccessRule(ruleId: $id) {{ {ACCESS} {PILES} }} }}"
LISTS = """query($s: ID!) { a: stationAccess(stationId: $s) { localLists { chargePointId version entries inSync
  supported lastStatus } } }"""
EVENTS = "query($cp: ID!) { chargePoint(id: $cp) { events(first: 10) { kind payload receivedAt } } }"
REMOTE_START = """mutation($cp: ID!, $t: String!) { r: remoteStart(chargePointId: $cp, idTag: $t, connectorNo: 1) {
  outcome } }"""


class World:
    """A station with one pile, a fleet with two cards, a driver with a card, and a stranger's card."""

    def __init__(self, server, station, pile_id, fleet_id, fleet_cards, driver_id, driver_card, stranger):
        self.server, self.station, self.pile_id = server, station, pile_id
        self.fleet_id, self.fleet_cards = fleet_id, fleet_cards
        self.driver_id, self.driver_card, self.stranger = driver_id, driver_card, stranger

    async def gql(self, query, variables):
        return await data(self.server.base_url, query, variables, token=self.server.admin_token)


async def world(server) -> World:
    b, access = server.builders, server.services.access
    station = await b.station()
    pile = await b.charge_point(station)
    fleet = await b.fleet(station.operator_id)
    fleet_cards = [unique("BUS") for _ in range(2)]
    for tag in fleet_cards:
        await access.issue_id_tag(None, tag, fleet_id=fleet.id)
    driver_id, _ = await b.person(Role.DRIVER)
    driver_card = unique("DRV")
    await access.issue_id_tag(None, driver_card, user_id=driver_id)
    stranger = await b.id_tag()
    await server.services.station_access.drain()
    return World(server, station, pile.id, fleet.id, fleet_cards, driver_id, driver_card, stranger)


async def online(w: World, **options) -> ListKeepingPile:
    pile = await ListKeepingPile.connect(w.server.ocpp_url(w.pile_id), **options)
    await pile.boot()
    return pile


async def test_a_private_station_admits_its_allow_list_at_the_pile_and_pushes_it_to_the_local_list(server):
    # given: a public station whose pile keeps a local list
    w = await world(server)
    pile = await online(w)

    # when: the station becomes private for the fleet and the driver, with one fleet card banned
    private = (await w.gql(SET, {"s": w.station.id, "m": "PRIVATE"}))["r"]
    by_fleet = (await w.gql(ADD, {"s": w.station.id, "e": "ALLOW", "f": w.fleet_id}))["r"]
    by_person = (await w.gql(ADD, {"s": w.station.id, "e": "ALLOW", "u": w.driver_id}))["r"]
    banned = (await w.gql(ADD, {"s": w.station.id, "e": "BLOCK", "t": w.fleet_cards[1], "n": "丢失的卡"}))["r"]

    # then: each change reached the pile; the first as a whole list, the others as differential updates
    assert [r["piles"] for r in (private, by_fleet, by_person, banned)] == [
        [{"chargePointId": w.pile_id, "outcome": "ACCEPTED", "status": "Accepted"}]] * 4
    sent = pile.calls_of("SendLocalList")
    assert [(s["listVersion"], s["updateType"]) for s in sent] == [
        (1, "Full"), (2, "Differential"), (3, "Differential"), (4, "Differential")]
    assert sent[0].get("localAuthorizationList", []) == []
    assert sent[3]["localAuthorizationList"] == [{"idTag": w.fleet_cards[1], "idTagInfo": {"status": "Blocked"}}]
    assert pile.statuses() == {w.fleet_cards[0]: "Accepted", w.fleet_cards[1]: "Blocked", w.driver_card: "Accepted"}
    assert banned["access"]["mode"] == "PRIVATE" and banned["access"]["revision"] == 4
    assert {(r["effect"], r["note"]) for r in banned["access"]["rules"]} == {
        ("ALLOW", ""), ("ALLOW", ""), ("BLOCK", "丢失的卡")}

    # and: the pile's Authorize and StartTransaction get the station's answer, with the reason logged
    assert await pile.authorize(w.fleet_cards[0]) == "Accepted"
    assert await pile.authorize(w.driver_card) == "Accepted"
    assert await pile.authorize(w.fleet_cards[1]) == "Blocked"
    assert await pile.authorize(w.stranger) == "Invalid"
    started = await pile.call("StartTransaction", {
        "connectorId": 1, "idTag": w.stranger, "meterStart": 0, "timestamp": datetime.now(SHANGHAI).isoformat()})
    assert started["idTagInfo"]["status"] == "Invalid"  # the pile stops it (StopTransactionOnInvalidId)
    events = (await w.gql(EVENTS, {"cp": w.pile_id}))["chargePoint"]["events"]
    refused = [e["payload"] for e in events if e["kind"] == "AccessRefused"]
    assert refused[0] == {"idTag": w.stranger, "status": "invalid", "mode": "private",
                          "reason": "the station is private and this card is not on its allow-list"}
    assert any(e["idTag"] == w.fleet_cards[1] and "丢失的卡" in e["reason"] for e in refused)

    # and: GraphQL shows what the pile holds
    lists = (await w.gql(LISTS, {"s": w.station.id}))["a"]["localLists"]
    assert lists == [{"chargePointId": w.pile_id, "version": 4, "entries": 3, "inSync": True, "supported": True,
                      "lastStatus": "Accepted"}]

    # when: the allow rule of the person is removed
    rule_id = next(r["id"] for r in banned["access"]["rules"] if r["userId"] is not None)
    await w.gql(REMOVE, {"id": rule_id})

    # then: the driver's card is removed from the pile's list (an entry without idTagInfo)
    assert pile.calls_of("SendLocalList")[-1]["localAuthorizationList"] == [{"idTag": w.driver_card}]
    assert w.driver_card not in pile.entries
    assert await pile.authorize(w.driver_card) == "Invalid"
    assert pile.violations == []
    await pile.close()


async def test_remote_start_obeys_the_policy_and_a_refusal_sends_nothing(server):
    w = await world(server)
    pile = await online(w)
    await w.gql(SET, {"s": w.station.id, "m": "FLEET_ONLY"})
    await w.gql(ADD, {"s": w.station.id, "e": "ALLOW", "f": w.fleet_id})
    await w.gql(ADD, {"s": w.station.id, "e": "ALLOW", "u": w.driver_id})  # not enough at a fleet-only station

    # when: an operator starts the driver's card remotely
    body = await gql(server.base_url, REMOTE_START, {"cp": w.pile_id, "t": w.driver_card}, token=server.admin_token)

    # then: refused with the reason, nothing reached the pile, and the attempt is in the audit trail
    error = body["errors"][0]
    assert error["extensions"]["code"] == "NOT_ADMITTED"
    assert "only cards of its allowed fleets" in error["message"]
    assert pile.calls_of("RemoteStartTransaction") == []
    trail = await data(server.base_url, """query($cp: ID!) { t: auditTrail(filter: {chargePointId: $cp,
        actionPrefix: "pile.remote_start"}) { entries { outcome target } } }""", {"cp": w.pile_id},
        token=server.admin_token)
    assert trail["t"]["entries"] == [{"outcome": "NOT_ADMITTED", "target": w.pile_id}]

    # when: a fleet card is started remotely, the pile gets the call
    started = await w.gql(REMOTE_START, {"cp": w.pile_id, "t": w.fleet_cards[0]})
    assert started["r"]["outcome"] == "ACCEPTED"
    assert pile.calls_of("RemoteStartTransaction") == [{"connectorId": 1, "idTag": w.fleet_cards[0]}]
    await pile.close()


def _window_around_now(minutes_before: int, minutes_after: int) -> dict[str, object]:
    now = datetime.now(SHANGHAI)
    start, end = now - timedelta(minutes=minutes_before), now + timedelta(minutes=minutes_after)
    return {"days": [start.isoweekday()], "start": start.strftime("%H:%M"), "end": end.strftime("%H:%M"),
            "mode": "PUBLIC"}


async def test_time_windows_switch_the_mode_in_shanghai_time(server):
    w = await world(server)
    pile = await online(w)

    # given: a car park closed to everyone except in a window that covers now
    opened = (await w.gql(SET, {"s": w.station.id, "m": "CLOSED", "w": [_window_around_now(60, 60)]}))["r"]
    assert (opened["access"]["mode"], opened["access"]["modeNow"]) == ("CLOSED", "PUBLIC")
    assert await pile.authorize(w.stranger) == "Accepted"

    # when: the window is moved to later today
    moved = (await w.gql(SET, {"s": w.station.id, "m": "CLOSED", "w": [_window_around_now(-120, 180)]}))["r"]

    # then: nobody is admitted now
    assert moved["access"]["modeNow"] == "CLOSED"
    assert await pile.authorize(w.stranger) == "Invalid"
    assert await pile.authorize(w.fleet_cards[0]) == "Invalid"
    await pile.close()


async def test_bad_policies_are_refused_with_a_clear_error_and_change_nothing(server):
    w = await world(server)
    cases = [
        (SET, {"s": w.station.id, "m": "PRIVATE", "w": [{"days": [8], "start": "08:00", "end": "18:00",
                                                        "mode": "PUBLIC"}]}, "INVALID_INPUT", "time window 1"),
        (SET, {"s": w.station.id, "m": "PRIVATE", "w": [{"days": [1], "start": "8am", "end": "18:00",
                                                        "mode": "PUBLIC"}]}, "INVALID_INPUT", "not a time of day"),
        (ADD, {"s": w.station.id, "e": "ALLOW", "t": w.stranger, "f": w.fleet_id}, "INVALID_INPUT", "exactly one"),
        (ADD, {"s": w.station.id, "e": "ALLOW", "t": "NO-SUCH-CARD"}, "NOT_FOUND", "neither an issued card"),
        (ADD, {"s": w.station.id, "e": "BLOCK", "f": 999999}, "NOT_FOUND", "fleet 999999"),
        (REMOVE, {"id": 999999}, "NOT_FOUND", "access rule 999999"),
    ]
    for query, variables, code, words in cases:
        body = await gql(server.base_url, query, variables, token=server.admin_token)
        assert body["errors"][0]["extensions"]["code"] == code, body
        assert words in body["errors"][0]["message"]
    await w.gql(ADD, {"s": w.station.id, "e": "ALLOW", "t": w.stranger})
    again = await gql(server.base_url, ADD, {"s": w.station.id, "e": "ALLOW", "t": w.stranger},
                      token=server.admin_token)
    assert "exists already" in again["errors"][0]["message"]
    policy, rules = await server.services.policies.policy(
        await server.services.access.viewer_from_token(server.admin_token), w.station.id)
    assert (policy.mode.value, policy.revision, len(rules)) == ("public", 1, 1)


async def test_card_changes_reach_every_list_that_names_the_card(server):
    w = await world(server)
    pile = await online(w)
    await w.gql(SET, {"s": w.station.id, "m": "PRIVATE"})
    await w.gql(ADD, {"s": w.station.id, "e": "ALLOW", "f": w.fleet_id})
    assert pile.statuses() == dict.fromkeys(w.fleet_cards, "Accepted")

    # when: the fleet manager blocks a lost card
    await w.gql("mutation($t: String!) { blockIdTag(tag: $t, reason: \"挂失\") { status } }", {"t": w.fleet_cards[0]})
    # then: the pile's list says so, without anyone touching the station's policy
    await pile.wait_until(lambda: pile.statuses().get(w.fleet_cards[0]) == "Blocked")

    # when: a new card is issued to the fleet, and the other card moves to a person
    new_card = unique("BUS")
    await w.gql("mutation($t: String!, $f: ID!) { issueIdTag(tag: $t, fleetId: $f) { tag } }",
                {"t": new_card, "f": w.fleet_id})
    await w.gql("mutation($t: String!, $u: ID!) { assignIdTag(tag: $t, userId: $u) { tag } }",
                {"t": w.fleet_cards[1], "u": w.driver_id})
    await server.services.station_access.drain()

    # then: the new card is on the list and the reassigned card is not
    assert pile.statuses() == {w.fleet_cards[0]: "Blocked", new_card: "Accepted"}
    assert all(s["updateType"] == "Differential" for s in pile.calls_of("SendLocalList")[1:])
    assert pile.violations == []
    await pile.close()


async def test_offline_piles_get_the_list_when_they_boot_and_a_pile_with_another_version_gets_it_whole(server):
    w = await world(server)

    # given: the policy changes while the pile is offline
    changed = (await w.gql(SET, {"s": w.station.id, "m": "FLEET_ONLY"}))["r"]
    assert changed["piles"] == [{"chargePointId": w.pile_id, "outcome": "OFFLINE", "status": None}]
    await w.gql(ADD, {"s": w.station.id, "e": "ALLOW", "f": w.fleet_id})

    # when: the pile (holding someone else's list, version 7) boots
    pile = await online(w, version=7)
    pile.entries = {"OLD-CARD": {"status": "Accepted"}}

    # then: the server asks for its list version and replaces the whole list
    await pile.wait_until(lambda: len(pile.calls_of("SendLocalList")) == 1)
    assert [f[2] for f in pile.calls] == ["GetLocalListVersion", "SendLocalList"]
    sent = pile.calls_of("SendLocalList")[0]
    assert (sent["listVersion"], sent["updateType"]) == (8, "Full")
    assert pile.statuses() == dict.fromkeys(w.fleet_cards, "Accepted")

    # when: it reboots holding that list and nothing changed, it is only asked
    await pile.boot()
    await pile.wait_until(lambda: len(pile.calls_of("GetLocalListVersion")) == 2)
    await asyncio.sleep(0.2)
    assert len(pile.calls_of("SendLocalList")) == 1

    # when: it reboots having lost its list (version 0, as after a factory reset)
    pile.version, pile.entries = 0, {}
    await pile.boot()
    await pile.wait_until(lambda: len(pile.calls_of("SendLocalList")) == 2)
    assert pile.calls_of("SendLocalList")[1]["updateType"] == "Full"
    assert pile.statuses() == dict.fromkeys(w.fleet_cards, "Accepted")
    assert pile.violations == []
    await pile.close()


async def test_a_version_mismatch_sends_the_whole_list_and_long_lists_go_in_parts(server):
    w = await world(server)
    pile = await online(w)
    await server.services.charge_points.store_reported_configuration(
        w.pile_id, [{"key": "SendLocalListMaxLength", "value": "2", "readonly": True}])
    await w.gql(SET, {"s": w.station.id, "m": "PRIVATE"})
    extra = [unique("BUS") for _ in range(3)]
    for tag in extra:
        await server.services.access.issue_id_tag(None, tag, fleet_id=w.fleet_id)
    await server.services.station_access.drain()

    # when: the fleet (5 cards) is allowed at a pile that takes 2 entries per message
    await w.gql(ADD, {"s": w.station.id, "e": "ALLOW", "f": w.fleet_id})

    # then: the differential update goes in parts of at most 2, each with the next version
    parts = pile.calls_of("SendLocalList")[1:]
    assert [(p["listVersion"], len(p["localAuthorizationList"])) for p in parts] == [(2, 2), (3, 2), (4, 1)]
    assert set(pile.entries) == {*w.fleet_cards, *extra}

    # when: the pile's list moved on by itself (say, a technician's laptop), a differential is refused
    pile.version = 50
    await w.gql(ADD, {"s": w.station.id, "e": "BLOCK", "t": extra[0]})

    # then: the server sends the whole list instead: a full part, then differential parts
    last = pile.calls_of("SendLocalList")[-4:]
    assert [(p["updateType"], p["listVersion"]) for p in last] == [
        ("Differential", 5), ("Full", 5), ("Differential", 6), ("Differential", 7)]
    assert pile.statuses()[extra[0]] == "Blocked" and len(pile.entries) == 5
    lists = (await w.gql(LISTS, {"s": w.station.id}))["a"]["localLists"][0]
    assert (lists["version"], lists["inSync"], lists["entries"]) == (7, True, 5)
    assert pile.violations == []
    await pile.close()


async def test_a_pile_without_a_local_list_is_not_sent_lists_but_is_still_enforced_online(server):
    w = await world(server)
    pile = await online(w, supported=False)

    # when
    first = (await w.gql(SET, {"s": w.station.id, "m": "PRIVATE"}))["r"]
    second = (await w.gql(ADD, {"s": w.station.id, "e": "ALLOW", "t": w.stranger}))["r"]

    # then
    assert first["piles"] == [{"chargePointId": w.pile_id, "outcome": "REJECTED", "status": "NotSupported"}]
    assert second["piles"] == []
    assert len(pile.calls_of("SendLocalList")) == 1
    lists = (await w.gql(LISTS, {"s": w.station.id}))["a"]["localLists"][0]
    assert (lists["supported"], lists["lastStatus"]) == (False, "NotSupported")
    assert await pile.authorize(w.stranger) == "Accepted"
    assert await pile.authorize(w.fleet_cards[0]) == "Invalid"
    await pile.close()
