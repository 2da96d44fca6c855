"""Pure rules of station access: which mode applies when, who is admitted, and what each pile's local
authorization list must hold. No I/O.

Precedence: a card's own status (blocked, expired) first (the charging domain checks it), then the
station's block list, then the mode in force at that moment (the first time window that matches, else the
policy's own mode).

A pile's local list cannot express time windows, so it holds every card the allow-list admits at some time
(with the card's own status and expiry) and every card on the block list (Blocked). A pile that admits a card
from its list outside a window is corrected online: the StartTransaction answer says Invalid and the pile
stops (``StopTransactionOnInvalidId``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from api.core.clock import SHANGHAI
from api.models.enums import AccessMode, AccessRuleEffect
from api.policy.dto import Card, Credential, Decision, ListDiff, ListEntry, Policy, Rule, Verdict, Window

MAX_WINDOWS = 24
HHMM = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$")
BLOCKED = "Blocked"


def minutes_of(text: str) -> int:
    """``HH:MM`` (00:00..24:00) as minutes after midnight; ValueError otherwise."""
    if not HHMM.match(text):
        raise ValueError(f"{text!r} is not a time of day HH:MM (00:00 to 24:00)")
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def window(days: Iterable[int], start: str, end: str, mode: AccessMode) -> Window:
    """A checked window; ValueError says what is wrong."""
    day_set = frozenset(days)
    if not day_set or not day_set <= set(range(1, 8)):
        raise ValueError("days are ISO weekdays, 1 (Monday) to 7 (Sunday), at least one")
    start_min, end_min = minutes_of(start), minutes_of(end)
    if start_min == 1440:
        raise ValueError("a window cannot start at 24:00")
    if start_min == end_min:
        raise ValueError(f"the window {start}-{end} is empty")
    return Window(day_set, start_min, end_min, mode)


def check_schedule(schedule: Sequence[Window]) -> None:
    if len(schedule) > MAX_WINDOWS:
        raise ValueError(f"at most {MAX_WINDOWS} time windows")


def _in_window(w: Window, local: datetime) -> bool:
    now_min = local.hour * 60 + local.minute
    if w.start_min < w.end_min:
        return local.isoweekday() in w.days and w.start_min <= now_min < w.end_min
    # past midnight: the evening part on a listed day, the morning part on the day after one
    if local.isoweekday() in w.days and now_min >= w.start_min:
        return True
    yesterday = (local - timedelta(days=1)).isoweekday()
    return yesterday in w.days and now_min < w.end_min


def mode_at(policy: Policy, at: datetime) -> AccessMode:
    """The mode in force at ``at`` (an aware time; windows are read in Asia/Shanghai)."""
    local = at.astimezone(SHANGHAI)
    for w in policy.schedule:
        if _in_window(w, local):
            return w.mode
    return policy.mode


def decide(policy: Policy, rules: Sequence[Rule], who: Credential, at: datetime) -> Decision:
    """May ``who`` charge at the policy's station at ``at``? ``rules`` may be only those matching ``who``.

    A card refused now is told whether another mode of the schedule would admit it (``other_times``): a
    driver refused by a night-time fleet window may come back in the day, one refused by a private station
    may not."""
    mode = mode_at(policy, at)
    for rule in rules:
        if rule.effect == AccessRuleEffect.BLOCK and rule.matches(who):
            note = f" ({rule.note})" if rule.note else ""
            return Decision(Verdict.BLOCKED, f"{rule.describe()} is on the block list of this station{note}", mode)
    allowed = [r for r in rules if r.effect == AccessRuleEffect.ALLOW and r.matches(who)]
    if _admits(mode, who, allowed):
        return Decision(Verdict.ADMITTED, "", mode)
    other_times = any(_admits(m, who, allowed) for m in modes_used(policy) - {mode})
    match mode:
        case AccessMode.CLOSED:
            reason = "the station admits nobody at this time"
        case AccessMode.PRIVATE:
            reason = "the station is private and this card is not on its allow-list"
        case AccessMode.FLEET_ONLY:
            reason = "the station admits only cards of its allowed fleets at this time"
        case _:
            raise AssertionError(mode)
    return Decision(Verdict.NOT_ADMITTED, reason, mode, other_times)


def _admits(mode: AccessMode, who: Credential, allowed: Sequence[Rule]) -> bool:
    """Does ``mode`` admit ``who``, given the allow rules matching it? (The block list is checked before.)"""
    match mode:
        case AccessMode.PUBLIC:
            return True
        case AccessMode.CLOSED:
            return False
        case AccessMode.PRIVATE:
            return bool(allowed)
        case AccessMode.FLEET_ONLY:
            return who.fleet_id is not None and any(r.fleet_id == who.fleet_id for r in allowed)
    raise AssertionError(mode)


def modes_used(policy: Policy) -> frozenset[AccessMode]:
    return frozenset({policy.mode, *(w.mode for w in policy.schedule)})


def listed_rules(policy: Policy, rules: Sequence[Rule]) -> list[Rule]:
    """The rules whose cards belong on a pile's local list: every block rule, and the allow rules of the
    restrictive modes the policy uses (fleet rules only, if FLEET_ONLY is the only restrictive one)."""
    modes = modes_used(policy)
    listed = [r for r in rules if r.effect == AccessRuleEffect.BLOCK]
    if AccessMode.PRIVATE in modes:
        listed += [r for r in rules if r.effect == AccessRuleEffect.ALLOW]
    elif AccessMode.FLEET_ONLY in modes:
        listed += [r for r in rules if r.effect == AccessRuleEffect.ALLOW and r.fleet_id is not None]
    return listed


def local_list(policy: Policy, rules: Sequence[Rule], cards: Iterable[Card]) -> dict[str, ListEntry]:
    """The list a pile at this station should hold, given the cards the listed rules reach."""
    listed = listed_rules(policy, rules)
    out: dict[str, ListEntry] = {}
    for card in cards:
        who = Credential(card.id_tag, card.user_id, card.fleet_id)
        matching = [r for r in listed if r.matches(who)]
        if not matching:
            continue
        if any(r.effect == AccessRuleEffect.BLOCK for r in matching):
            out[card.id_tag] = ListEntry(BLOCKED, None, card.parent_tag)
        else:
            expires = card.expires_at.isoformat() if card.expires_at is not None else None
            out[card.id_tag] = ListEntry(card.status, expires, card.parent_tag)
    return out


def diff(held: dict[str, ListEntry], wanted: dict[str, ListEntry]) -> ListDiff:
    upserts = {tag: entry for tag, entry in sorted(wanted.items()) if held.get(tag) != entry}
    return ListDiff(upserts, frozenset(held.keys() - wanted.keys()))


def apply(held: dict[str, ListEntry], change: ListDiff) -> dict[str, ListEntry]:
    out = {tag: entry for tag, entry in held.items() if tag not in change.removals}
    out.update(change.upserts)
    return out


def fit(wanted: dict[str, ListEntry], capacity: int | None) -> dict[str, ListEntry]:
    """Trim a list to what the pile can hold: block-list entries first (refusing offline matters more than
    admitting offline), then the rest in tag order. Trimmed cards are still decided online."""
    if capacity is None or len(wanted) <= capacity:
        return wanted
    ordered = sorted(wanted.items(), key=lambda item: (item[1].status != BLOCKED, item[0]))
    return dict(ordered[:capacity])
