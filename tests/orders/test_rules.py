"""The settlement plan: exact, never sharing more than the provider allows, never leaving anyone short."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from api.core.money import share_of
from api.orders import rules


def test_the_worked_examples():
    # 4.00 paid, 3.00 used, a 50 % partner, WeChat's 30 % maximum
    plan = rules.plan(400, 300, {7: 5000}, max_share_bp=3000, receivers=frozenset({7}))
    assert (plan.refund_fen, plan.via_provider_fen, plan.allocated_fen, plan.platform_fen) == (100, 120, 30, 150)
    # the same from the wallet: all of the partner's part by allocation transfer
    wallet = rules.plan(400, 400, {7: 5000}, max_share_bp=None)
    assert (wallet.refund_fen, wallet.via_provider_fen, wallet.allocated_fen, wallet.platform_fen) == (0, 0, 200, 200)
    # a partner without a receiver at the provider is paid by allocation
    assert rules.plan(400, 300, {7: 3000}, max_share_bp=3000, receivers=frozenset()).allocated_fen == 90


shares = st.dictionaries(st.integers(1, 6), st.integers(1, 5000), max_size=4).filter(lambda d: sum(d.values()) <= 10_000)


@given(st.integers(1, 10**7), st.data(), shares, st.sampled_from([None, 0, 3000, 10_000]), st.data())
def test_every_plan_accounts_for_every_fen(paid_fen, draw_due, shares_bp, max_share_bp, draw_receivers):
    due_fen = draw_due.draw(st.integers(0, paid_fen))
    receivers = frozenset(draw_receivers.draw(st.sets(st.sampled_from(sorted(shares_bp) or [0]))))
    plan = rules.plan(paid_fen, due_fen, shares_bp, max_share_bp=max_share_bp, receivers=receivers)
    assert plan.refund_fen + plan.due_fen == paid_fen
    assert plan.platform_fen + sum(s.part_fen for s in plan.shares) == due_fen
    assert plan.platform_fen >= 0
    for share in plan.shares:
        assert share.via_provider_fen + share.allocated_fen == share.part_fen
        assert share.via_provider_fen >= 0 and share.allocated_fen >= 0
        if share.partner_id not in receivers:
            assert share.via_provider_fen == 0
    cap = share_of(paid_fen, max_share_bp) if max_share_bp is not None else 0
    assert plan.via_provider_fen <= cap
