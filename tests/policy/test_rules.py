"""The pure rules of station access: modes over time (Asia/Shanghai), decisions, and local lists."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.models.enums import AccessMode, AccessRuleEffect
from api.policy import rules
from api.policy.dto import Card, Credential, ListEntry, Policy, Rule, Verdict

ALLOW, BLOCK = AccessRuleEffect.ALLOW, AccessRuleEffect.BLOCK
# 2026-11-30 is a Monday; 01:30 UTC is 09:30 in Shanghai
MONDAY_0930 = datetime(2026, 11, 30, 1, 30, tzinfo=UTC)


def shanghai(day: int, hour: int, minute: int = 0) -> datetime:
    """Day 30 (Monday) .. 6 Dec (Sunday) of the week above, local time, as UTC."""
    return datetime(2026, 11, 30, hour, minute, tzinfo=UTC) + timedelta(days=day) - timedelta(hours=8)


def test_windows_are_read_in_shanghai_time_and_the_first_match_wins():
    policy = Policy(1, AccessMode.PUBLIC, (
        rules.window(range(1, 6), "08:00", "18:00", AccessMode.FLEET_ONLY),
        rules.window(range(1, 8), "07:00", "20:00", AccessMode.PRIVATE),
    ))
    assert rules.mode_at(policy, MONDAY_0930) == AccessMode.FLEET_ONLY
    assert rules.mode_at(policy, shanghai(0, 7, 59)) == AccessMode.PRIVATE  # before the first window
    assert rules.mode_at(policy, shanghai(0, 18, 0)) == AccessMode.PRIVATE  # the end is not part of the window
    assert rules.mode_at(policy, shanghai(5, 9)) == AccessMode.PRIVATE  # Saturday: only the second window
    assert rules.mode_at(policy, shanghai(0, 20, 0)) == AccessMode.PUBLIC  # outside every window


def test_a_window_past_midnight_belongs_to_the_day_it_starts_on():
    # a bus depot: fleet cards only from Friday 22:00 to Saturday 06:00
    policy = Policy(1, AccessMode.PUBLIC, (rules.window([5], "22:00", "06:00", AccessMode.FLEET_ONLY),))
    assert rules.mode_at(policy, shanghai(4, 21, 59)) == AccessMode.PUBLIC
    assert rules.mode_at(policy, shanghai(4, 23, 0)) == AccessMode.FLEET_ONLY
    assert rules.mode_at(policy, shanghai(5, 5, 59)) == AccessMode.FLEET_ONLY  # Saturday morning
    assert rules.mode_at(policy, shanghai(5, 6, 0)) == AccessMode.PUBLIC
    assert rules.mode_at(policy, shanghai(5, 23, 0)) == AccessMode.PUBLIC  # Saturday evening is not listed
    assert rules.mode_at(policy, shanghai(0, 3, 0)) == AccessMode.PUBLIC  # Monday morning: Sunday is not listed


def test_a_window_to_24_00_closes_at_midnight():
    policy = Policy(1, AccessMode.CLOSED, (rules.window(range(1, 8), "18:00", "24:00", AccessMode.PUBLIC),))
    assert rules.mode_at(policy, shanghai(0, 23, 59)) == AccessMode.PUBLIC
    assert rules.mode_at(policy, shanghai(1, 0, 0)) == AccessMode.CLOSED


@pytest.mark.parametrize(("days", "start", "end", "why"), [
    ([], "08:00", "18:00", "weekdays"),
    ([0], "08:00", "18:00", "weekdays"),
    ([8], "08:00", "18:00", "weekdays"),
    ([1], "8:00", "18:00", "not a time of day"),
    ([1], "08:00", "24:01", "not a time of day"),
    ([1], "24:00", "08:00", "cannot start at 24:00"),
    ([1], "08:00", "08:00", "empty"),
])
def test_bad_windows_say_what_is_wrong(days, start, end, why):
    with pytest.raises(ValueError, match=why):
        rules.window(days, start, end, AccessMode.PUBLIC)


def rule(effect: AccessRuleEffect, rule_id: int = 1, **subject: object) -> Rule:
    return Rule(rule_id, 1, effect, **subject)  # type: ignore[arg-type]


@pytest.mark.parametrize(("mode", "who", "station_rules", "verdict"), [
    (AccessMode.PUBLIC, Credential("A"), [], Verdict.ADMITTED),
    (AccessMode.PUBLIC, Credential("A"), [rule(BLOCK, id_tag="A")], Verdict.BLOCKED),
    (AccessMode.PUBLIC, Credential("A", user_id=7), [rule(BLOCK, user_id=7)], Verdict.BLOCKED),
    (AccessMode.PRIVATE, Credential("A"), [], Verdict.NOT_ADMITTED),
    (AccessMode.PRIVATE, Credential("A"), [rule(ALLOW, id_tag="A")], Verdict.ADMITTED),
    (AccessMode.PRIVATE, Credential("A", user_id=7), [rule(ALLOW, user_id=7)], Verdict.ADMITTED),
    (AccessMode.PRIVATE, Credential("A", fleet_id=3), [rule(ALLOW, fleet_id=3)], Verdict.ADMITTED),
    # the block list wins over the allow-list
    (AccessMode.PRIVATE, Credential("A", fleet_id=3),
     [rule(ALLOW, 1, fleet_id=3), rule(BLOCK, 2, id_tag="A")], Verdict.BLOCKED),
    # fleet-only admits fleet cards of allowed fleets, not people or single cards on the allow-list
    (AccessMode.FLEET_ONLY, Credential("A", fleet_id=3), [rule(ALLOW, fleet_id=3)], Verdict.ADMITTED),
    (AccessMode.FLEET_ONLY, Credential("A", user_id=7), [rule(ALLOW, user_id=7)], Verdict.NOT_ADMITTED),
    (AccessMode.FLEET_ONLY, Credential("A", fleet_id=4), [rule(ALLOW, fleet_id=3)], Verdict.NOT_ADMITTED),
    (AccessMode.CLOSED, Credential("A"), [rule(ALLOW, id_tag="A")], Verdict.NOT_ADMITTED),
])
def test_decisions(mode, who, station_rules, verdict):
    decision = rules.decide(Policy(1, mode), station_rules, who, MONDAY_0930)
    assert decision.verdict == verdict
    assert decision.mode == mode
    assert bool(decision.reason) == (verdict != Verdict.ADMITTED)


def test_the_local_list_holds_allowed_cards_with_their_own_status_and_blocked_cards_as_blocked():
    expiry = datetime(2027, 1, 1, tzinfo=UTC)
    cards = [
        Card("FLEET1", "Accepted", expiry, None, None, 3),
        Card("FLEET2", "Blocked", None, None, None, 3),  # blocked as a card: the pile must refuse it offline
        Card("OWNER", "Accepted", None, "PARENT", 7, None),
        Card("BANNED", "Accepted", None, None, None, 3),
        Card("STRANGER", "Accepted", None, None, None, None),
    ]
    station_rules = [rule(ALLOW, 1, fleet_id=3), rule(ALLOW, 2, user_id=7), rule(BLOCK, 3, id_tag="BANNED")]

    private = rules.local_list(Policy(1, AccessMode.PRIVATE), station_rules, cards)
    assert private == {
        "FLEET1": ListEntry("Accepted", expiry.isoformat(), None),
        "FLEET2": ListEntry("Blocked", None, None),
        "OWNER": ListEntry("Accepted", None, "PARENT"),
        "BANNED": ListEntry("Blocked", None, None),
    }
    # fleet-only lists fleet cards (and the block list), not people
    fleet_only = rules.local_list(Policy(1, AccessMode.FLEET_ONLY), station_rules, cards)
    assert set(fleet_only) == {"FLEET1", "FLEET2", "BANNED"}
    # a public station lists only its block list: everyone else is decided online
    assert rules.local_list(Policy(1, AccessMode.PUBLIC), station_rules, cards) == {
        "BANNED": ListEntry("Blocked", None, None)}
    # a restrictive window is enough to list the allowed cards
    windowed = Policy(1, AccessMode.PUBLIC, (rules.window([1], "22:00", "06:00", AccessMode.PRIVATE),))
    assert set(rules.local_list(windowed, station_rules, cards)) == set(private)


def test_a_list_too_long_for_the_pile_keeps_the_block_list_first():
    wanted = {f"A{i}": ListEntry("Accepted") for i in range(5)} | {"Z1": ListEntry("Blocked")}
    assert list(rules.fit(wanted, 3)) == ["Z1", "A0", "A1"]
    assert rules.fit(wanted, None) == wanted


entries = st.dictionaries(
    st.text("ABC123", min_size=1, max_size=4),
    st.builds(ListEntry, st.sampled_from(["Accepted", "Blocked", "Expired"]),
              st.none() | st.just("2027-01-01T00:00:00+00:00"), st.none() | st.just("P")),
    max_size=12,
)


@given(entries, entries)
def test_a_differential_update_turns_what_the_pile_holds_into_what_is_wanted(held, wanted):
    change = rules.diff(held, wanted)
    assert rules.apply(held, change) == wanted
    assert not change.upserts.keys() & change.removals
    assert bool(change) == (held != wanted)
    assert all(held.get(tag) != entry for tag, entry in change.upserts.items())  # nothing sent twice
