"""The pure rules of the ledger: valid entries, running balances, replays, the flows' lines, the invariants."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.core.money import split_by_bp
from api.ledger import rules
from api.ledger.dto import (
    AccountCheck,
    AccountRef,
    Entry,
    Line,
    PostedLine,
    clearing,
    partner,
    payout,
    revenue,
    unsettled,
    wallet,
    wallet_hold,
)
from api.ledger.errors import IdempotencyConflict, InvalidEntry, UnbalancedEntry
from api.models.enums import JournalEntryKind, LedgerAccountKind

K = LedgerAccountKind
ADJUSTMENT = JournalEntryKind.ADJUSTMENT
NOW = datetime(2026, 11, 30, 1, 30, tzinfo=UTC)

refs = st.builds(AccountRef, st.sampled_from(list(K)), st.sampled_from(["1", "2", "platform", "wechatpay"]))
amounts = st.integers(-100_000, 100_000).filter(bool)


@st.composite
def balanced_lines(draw: st.DrawFn) -> list[Line]:
    """1..10 random non-zero lines plus one on another account that brings the sum to zero."""
    lines = draw(st.lists(st.builds(Line, refs, amounts), min_size=1, max_size=10))
    total = sum(line.amount_fen for line in lines)
    if total == 0:
        lines.append(Line(wallet("balancer"), 1))
        lines.append(Line(revenue("balancer"), -1))
    else:
        lines.append(Line(AccountRef(K.CLEARING, "balancer"), -total))
    return draw(st.permutations(lines))


def posted(draft_lines: tuple[Line, ...], kind: JournalEntryKind = ADJUSTMENT) -> Entry:
    return Entry(7, "k", kind, "", "", NOW, tuple(PostedLine(line.account, line.amount_fen, 0) for line in draft_lines))


# -- building entries ---------------------------------------------------------------------------------------


@given(balanced_lines())
def test_a_balanced_entry_keeps_its_lines_with_the_increases_first(lines):
    # when
    draft = rules.draft("key-1", "adjustment", lines, memo="m", reference="order:1")

    # then
    assert Counter(draft.lines) == Counter(lines)
    assert sum(line.amount_fen for line in draft.lines) == 0
    signs = [line.amount_fen < 0 for line in draft.lines]
    assert signs == sorted(signs)
    assert [line for line in draft.lines if line.amount_fen > 0] == [line for line in lines if line.amount_fen > 0]
    assert (draft.kind, draft.memo, draft.reference) == (ADJUSTMENT, "m", "order:1")


@given(st.lists(st.builds(Line, refs, amounts), min_size=2, max_size=10).filter(
    lambda lines: sum(line.amount_fen for line in lines) != 0 and len({line.account for line in lines}) > 1))
def test_lines_that_do_not_sum_to_zero_are_refused(lines):
    with pytest.raises(UnbalancedEntry) as raised:
        rules.draft("key-1", "adjustment", lines)
    assert raised.value.code == "UNBALANCED_ENTRY"
    assert isinstance(raised.value, InvalidEntry)


@pytest.mark.parametrize(("lines", "says"), [
    ([], "2 to 64 lines"),
    ([Line(wallet(1), 5)], "2 to 64 lines"),
    ([Line(wallet(1), 5), Line(wallet(1), -5)], "at least two accounts"),
    ([Line(wallet(1), 0), Line(revenue(), 0)], "moves 0 fen"),
    ([Line(wallet(1), True), Line(revenue(), -1)], "not an integer"),
    ([Line(wallet(1), 1.0), Line(revenue(), -1)], "not an integer"),  # type: ignore[arg-type]
    ([Line(wallet(1), 10**15 + 1), Line(revenue(), -(10**15 + 1))], "moves more than"),
    ([Line(wallet(""), 5), Line(revenue(), -5)], "account key is empty"),
    ([Line(wallet(" 1"), 5), Line(revenue(), -5)], "surrounding spaces"),
    ([Line(wallet("x" * 65), 5), Line(revenue(), -5)], "more than 64"),
    ([Line(AccountRef("savings", "1"), 5), Line(revenue(), -5)], "not a kind of ledger account"),  # type: ignore[arg-type]
    ([(wallet(1), 5), Line(revenue(), -5)], "every line is a Line"),
    ([Line(wallet(1), 1)] * 64 + [Line(revenue(), -65)], "2 to 64 lines"),
])
def test_malformed_entries_are_refused(lines, says):
    with pytest.raises(InvalidEntry) as raised:
        rules.draft("key-1", "adjustment", lines)
    assert raised.value.code in ("INVALID_ENTRY", "UNBALANCED_ENTRY")
    assert says in raised.value.message


@pytest.mark.parametrize(("key", "kind", "memo", "says"), [
    ("", "adjustment", "", "idempotency key is empty"),
    ("k" * 129, "adjustment", "", "more than 128"),
    ("key", "gift", "", "not a kind of journal entry"),
    ("key", "adjustment", "m" * 256, "more than 255"),
    ("key\n", "adjustment", "", "control characters"),
])
def test_bad_keys_kinds_and_memos_are_refused(key, kind, memo, says):
    with pytest.raises(InvalidEntry) as raised:
        rules.draft(key, kind, [Line(wallet(1), 5), Line(revenue(), -5)], memo=memo)
    assert raised.value.code == "INVALID_ENTRY"
    assert says in raised.value.message


def test_an_int_key_is_the_same_account_as_its_string():
    assert rules.account_ref("wallet", 42) == wallet("42") == wallet(42)
    assert rules.draft("k", "top_up", [Line(wallet(42), 5), Line(clearing("alipay"), -5)]).lines[0].account == \
        AccountRef(K.WALLET, "42")


def test_which_kinds_may_go_below_zero():
    assert {kind for kind in K if not rules.may_go_negative(kind)} == {
        K.WALLET, K.WALLET_HOLD, K.UNSETTLED, K.PARTNER}
    assert {kind for kind in K if rules.may_go_negative(kind)} == {K.CLEARING, K.REVENUE, K.PAYOUT}


# -- net moves and running balances ---------------------------------------------------------------------------


@given(balanced_lines(), st.data())
def test_running_balances_end_at_each_accounts_final_balance(lines, data):
    # given
    draft = rules.draft("k", "adjustment", lines)
    moves = rules.net(draft.lines)
    final = {ref: data.draw(st.integers(-10**6, 10**6)) for ref in moves}

    # when
    after = rules.running_balances(draft.lines, final)

    # then: each line moves its account's balance by its amount, from the start to the final balance
    current = {ref: final[ref] - moves[ref] for ref in moves}
    for line, balance in zip(draft.lines, after):
        current[line.account] += line.amount_fen
        assert balance == current[line.account]
    assert current == final
    assert sum(moves.values()) == 0


@given(balanced_lines(), st.data())
def test_increases_first_means_a_running_balance_never_dips_below_both_ends(lines, data):
    # given: balances that are >= 0 before and after the entry
    draft = rules.draft("k", "adjustment", lines)
    moves = rules.net(draft.lines)
    final = {ref: max(0, moved) + data.draw(st.integers(0, 1000)) for ref, moved in moves.items()}

    # when
    after = rules.running_balances(draft.lines, final)

    # then
    for line, balance in zip(draft.lines, after):
        assert balance >= min(final[line.account], final[line.account] - moves[line.account]) >= 0


def test_lines_on_one_account_move_it_by_their_sum():
    lines = rules.profit_sharing_lines("wechatpay", {9: 30, 10: 0, 11: 5})
    assert rules.net(lines) == {unsettled(): -35, partner(9): 0, partner(11): 0, clearing("wechatpay"): 35}
    assert [line.amount_fen for line in lines if line.account == partner(9)] == [30, -30]


# -- replays ---------------------------------------------------------------------------------------------------


@given(balanced_lines())
def test_the_same_lines_in_any_order_replay_the_stored_entry(lines):
    # given
    stored = posted(rules.draft("k", "adjustment", lines).lines)

    # when
    again = rules.replay(stored, rules.draft("k", "adjustment", list(reversed(lines))))

    # then
    assert again.replayed
    assert (again.id, again.lines) == (stored.id, stored.lines)


@given(balanced_lines(), st.integers(1, 1000))
def test_other_lines_or_another_kind_under_a_used_key_conflict(lines, extra):
    # given
    stored = posted(rules.draft("k", "adjustment", lines).lines)
    changed = [*lines, Line(payout("bank"), extra), Line(revenue("elsewhere"), -extra)]

    # then
    for wanted in (rules.draft("k", "adjustment", changed), rules.draft("k", "refund", lines)):
        with pytest.raises(IdempotencyConflict) as raised:
            rules.replay(stored, wanted)
        assert raised.value.code == "IDEMPOTENCY_CONFLICT"
        assert raised.value.entry_id == 7


# -- the flows -------------------------------------------------------------------------------------------------

positive = st.integers(1, 10**9)


@given(positive)
def test_every_flow_is_a_balanced_entry(amount):
    flows = {
        "payment": rules.payment_lines("wechatpay", amount),
        "refund": rules.refund_lines("alipay", amount),
        "profit_sharing": rules.profit_sharing_lines("wechatpay", {3: amount, 4: 1}),
        "revenue_release": rules.revenue_release_lines(amount, owner=12),
        "top_up": rules.top_up_lines(5, "sandbox", amount),
        "hold": rules.hold_lines(5, amount),
        "capture": rules.capture_lines(5, amount),
        "hold_release": rules.hold_release_lines(5, amount),
        "payout": rules.payout_lines(3, "bank", amount),
    }
    for kind, lines in flows.items():
        assert sum(line.amount_fen for line in rules.draft("k", kind, lines).lines) == 0
    assert rules.net(flows["top_up"]) == {clearing("sandbox"): -amount, wallet(5): amount}
    assert rules.net(flows["hold"]) == {wallet(5): -amount, wallet_hold(5): amount}
    assert rules.net(flows["hold_release"]) == {wallet_hold(5): -amount, wallet(5): amount}
    assert rules.net(flows["revenue_release"]) == {unsettled(): -amount, revenue(12): amount}
    assert rules.net(flows["payout"]) == {partner(3): -amount, payout("bank"): amount}


@given(positive, st.dictionaries(st.integers(1, 50), st.integers(0, 5000), max_size=4).filter(
    lambda shares: sum(shares.values()) <= 10_000))
def test_a_capture_gives_each_partner_its_part_and_the_rest_to_revenue(due, shares_bp):
    # given
    parts = split_by_bp(due, shares_bp)

    # when: from a wallet's hold, or from UNSETTLED (a provider-paid order), the split is the same
    captured = rules.capture_lines(77, due, parts, owner=4)
    released = rules.revenue_release_lines(due, parts, owner=4)

    # then
    for lines, source in ((captured, wallet_hold(77)), (released, unsettled())):
        moves = rules.net(lines)
        assert moves[source] == -due
        assert {ref.key: fen for ref, fen in moves.items() if ref.kind == K.PARTNER} == {
            str(p): fen for p, fen in parts.items() if fen}
        assert moves.get(revenue(4), 0) == due - sum(parts.values())
        assert all(line.amount_fen != 0 for line in lines)
        assert sum(rules.net(rules.draft("k", "capture", lines).lines).values()) == 0


def test_a_capture_cannot_share_more_than_is_due():
    with pytest.raises(InvalidEntry, match="allocations exceed the 100 fen"):
        rules.capture_lines(1, 100, {"p1": 60, "p2": 41})
    with pytest.raises(InvalidEntry, match="0 fen or more"):
        rules.capture_lines(1, 100, {"p1": -1})
    with pytest.raises(InvalidEntry, match="the shares together must be a positive"):
        rules.profit_sharing_lines("alipay", {"p1": 0})


@pytest.mark.parametrize("amount", [0, -5, True, 1.5])
def test_flows_take_only_positive_amounts(amount):
    with pytest.raises(InvalidEntry, match="positive number of fen"):
        rules.top_up_lines(1, "sandbox", amount)


# -- invariants ------------------------------------------------------------------------------------------------


def test_the_invariants_name_what_is_wrong():
    assert rules.account_violations([
        AccountCheck(wallet(1), 100, 100), AccountCheck(clearing("sandbox"), -100, -100)]) == []
    found = rules.account_violations([
        AccountCheck(wallet(1), -5, -5), AccountCheck(partner(2), 30, 20), AccountCheck(revenue(), -10, -10),
    ])
    assert found == [
        "wallet:1: balance -5 fen is below zero",
        "partner:2: cached balance 30 fen, lines sum to 20 fen",
        "the balances of all accounts sum to 15 fen, not 0",
    ]
