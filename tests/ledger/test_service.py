"""The ledger against the real database: flows, statements, idempotency, rollbacks, concurrency, invariants.

The database is shared by the whole test session, so every test names its own accounts (uuid-based keys).
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tortoise.expressions import F

from api.core.db import UnitOfWork
from api.ledger import repository
from api.ledger.dto import Line, clearing, partner, payout, revenue, unsettled, wallet, wallet_hold
from api.ledger.errors import IdempotencyConflict, InsufficientFunds, InvalidEntry, UnbalancedEntry
from api.ledger.service import LedgerService
from api.models import JournalEntry, JournalLine, LedgerAccount
from api.models.enums import JournalEntryKind, LedgerAccountKind

K = LedgerAccountKind
E = JournalEntryKind


def new_key(prefix: str = "") -> str:
    return f"{prefix}{uuid.uuid4().hex[:16]}"


def make_ledger(server) -> LedgerService:
    return LedgerService(UnitOfWork(server.services.bus), server.services.clock)


@pytest.fixture
def ledger(server) -> LedgerService:
    return make_ledger(server)


async def balances(ledger: LedgerService, *refs) -> list[int]:
    return [await ledger.balance(ref.kind, ref.key) for ref in refs]


# -- the flows -------------------------------------------------------------------------------------------------


async def test_a_balance_paid_order_reserves_captures_and_releases(ledger):
    # given: a driver with 100.00 yuan topped up through WeChat Pay
    user, op, p1, p2 = new_key("u"), new_key("op"), new_key("p"), new_key("p")
    await ledger.top_up(user, "wechatpay", 10_000, key=f"{user}:top-up:1", reference=f"topup:{user}")

    # when: a charging order with a cap of 30.00 costs 21.37, shared 10 % / 5 % with two partners
    await ledger.reserve(user, 3000, key=f"{user}:order:1:hold", reference=f"order:{user}")
    await ledger.capture(user, 2137, {p1: 213, p2: 106}, owner=op, key=f"{user}:order:1:capture",
                         reference=f"order:{user}")
    await ledger.release(user, 3000 - 2137, key=f"{user}:order:1:release", reference=f"order:{user}")

    # then
    assert await balances(ledger, wallet(user), wallet_hold(user), revenue(op), partner(p1), partner(p2)) == [
        10_000 - 2137, 0, 2137 - 213 - 106, 213, 106]
    entries = await ledger.entries_for(f"order:{user}")
    assert [e.kind for e in entries] == [E.HOLD, E.CAPTURE, E.HOLD_RELEASE]
    assert {(line.account, line.amount_fen) for line in entries[1].lines} == {
        (wallet_hold(user), -2137), (revenue(op), 1818), (partner(p1), 213), (partner(p2), 106)}
    assert await ledger.check_invariants() == []


async def test_a_provider_paid_order_is_refunded_shared_and_released(ledger):
    # given: 50.00 paid for an order through a provider (a name of this test's own, so that its clearing
    # account moves only here; UNSETTLED is the platform's, shared with every other order)
    order, p, p2, op, psp = new_key("order:"), new_key("p"), new_key("p"), new_key("op"), new_key("psp-")
    await ledger.record_payment(psp, 5000, key=f"{order}:paid", reference=order)

    # when: it cost 32.10: 17.90 refunded, 3.21 shared through the provider with one partner, 1.00 allocated to
    # another partner's sub-account, and the rest released to the operator
    await ledger.refund(psp, 1790, key=f"{order}:refund", reference=order)
    await ledger.share(psp, {p: 321, p2: 0}, key=f"{order}:share", reference=order)
    await ledger.release_to_revenue(3210 - 321, {p2: 100}, owner=op, key=f"{order}:release", reference=order)

    # then: nothing is left unsettled for it, and the partner's statement shows its share passing through
    entries = await ledger.entries_for(order)
    assert [e.kind for e in entries] == [E.PAYMENT, E.REFUND, E.PROFIT_SHARING, E.REVENUE_RELEASE]
    assert sum(line.amount_fen for e in entries for line in e.lines if line.account == unsettled()) == 0
    assert await balances(ledger, clearing(psp), revenue(op), partner(p), partner(p2)) == [
        -5000 + 1790 + 321, 3210 - 321 - 100, 0, 100]
    shown = await ledger.statement(K.PARTNER, p)
    assert [(s.amount_fen, s.balance_after_fen, s.entry_kind) for s in shown] == [
        (-321, 0, E.PROFIT_SHARING), (321, 321, E.PROFIT_SHARING)]
    assert shown[0].entry_id == shown[1].entry_id == entries[2].id
    assert await ledger.check_invariants() == []


async def test_a_partner_is_paid_out_and_a_refund_after_settlement_takes_from_revenue(ledger):
    # given
    user, p, op, channel = new_key("u"), new_key("p"), new_key("op"), new_key("bank-")
    await ledger.top_up(user, "sandbox", 1000, key=new_key())
    await ledger.reserve(user, 1000, key=new_key())
    await ledger.capture(user, 1000, {p: 400}, owner=op, key=new_key())

    # when
    await ledger.payout(p, channel, 400, key=new_key())
    await ledger.refund("sandbox", 700, source=revenue(op), key=new_key())

    # then: revenue may go below zero, the partner may not
    assert await balances(ledger, partner(p), payout(channel), revenue(op)) == [0, 400, -100]
    with pytest.raises(InsufficientFunds) as raised:
        await ledger.payout(p, channel, 1, key=new_key())
    assert raised.value.code == "INSUFFICIENT_FUNDS"
    assert raised.value.account == partner(p)


async def test_a_statement_is_newest_first_with_the_balance_after_each_line(ledger):
    # given
    user = new_key("u")
    await ledger.top_up(user, "sandbox", 100, key=f"{user}-1", memo="充值")
    await ledger.reserve(user, 60, key=f"{user}-2", reference="order:9")
    await ledger.release(user, 10, key=f"{user}-3", reference="order:9")

    # when
    page = await ledger.statement(K.WALLET, user)
    first = await ledger.statement(K.WALLET, user, limit=2)
    rest = await ledger.statement(K.WALLET, user, before_id=first[-1].line_id, limit=2)

    # then
    assert [(s.amount_fen, s.balance_after_fen, s.entry_kind) for s in page] == [
        (10, 50, E.HOLD_RELEASE), (-60, 40, E.HOLD), (100, 100, E.TOP_UP)]
    assert [(s.memo, s.reference) for s in page] == [("", "order:9"), ("", "order:9"), ("充值", "")]
    assert first + rest == page
    assert await ledger.statement(K.WALLET, new_key("nobody")) == []
    assert await ledger.balance(K.WALLET, new_key("nobody")) == 0
    with pytest.raises(InvalidEntry):
        await ledger.statement(K.WALLET, user, limit=0)


# -- what is refused writes nothing --------------------------------------------------------------------------------


async def test_an_overdraft_rolls_back_the_whole_entry_and_names_the_account(ledger):
    # given
    user, op = new_key("u"), new_key("op")
    await ledger.top_up(user, "sandbox", 500, key=new_key())
    lines = [Line(revenue(op), 600), Line(clearing("sandbox"), -100), Line(wallet(user), -500),
             Line(payout(op), 1), Line(wallet(user), -1)]  # the wallet is taken for 501 in two lines

    # when
    with pytest.raises(InsufficientFunds) as raised:
        await ledger.post(f"{user}:overdraft", E.ADJUSTMENT, lines)

    # then
    assert raised.value.code == "INSUFFICIENT_FUNDS"
    assert raised.value.account == wallet(user)
    assert raised.value.needed_fen == 501
    assert "wallet:" + user in raised.value.message
    assert await ledger.entry(f"{user}:overdraft") is None
    assert await balances(ledger, wallet(user), revenue(op), payout(op)) == [500, 0, 0]
    assert await ledger.check_invariants() == []


async def test_unbalanced_and_malformed_entries_write_nothing(ledger):
    user = new_key("u")
    with pytest.raises(UnbalancedEntry):
        await ledger.post(f"{user}:a", E.TOP_UP, [Line(clearing("sandbox"), -100), Line(wallet(user), 99)])
    with pytest.raises(InvalidEntry):
        await ledger.post(f"{user}:b", E.TOP_UP, [])
    assert await ledger.entry(f"{user}:a") is None
    assert await ledger.account(K.WALLET, user) is None


# -- idempotency -------------------------------------------------------------------------------------------------


async def test_the_same_key_twice_is_one_entry(ledger):
    # given
    user = new_key("u")
    first = await ledger.top_up(user, "wechatpay", 250, key=f"{user}:top-up", reference=f"topup:{user}")

    # when: the notification is applied again, with the lines in another order
    again = await ledger.post(f"{user}:top-up", "top_up", [Line(wallet(user), 250), Line(clearing("wechatpay"), -250)])

    # then
    assert (first.replayed, again.replayed) == (False, True)
    assert again.id == first.id
    assert again.lines == first.lines
    assert await ledger.balance(K.WALLET, user) == 250
    assert len(await ledger.entries_for(f"topup:{user}")) == 1


async def test_the_same_key_with_other_lines_is_a_conflict(ledger):
    # given
    user = new_key("u")
    first = await ledger.top_up(user, "wechatpay", 250, key=f"{user}:top-up")

    # when / then
    with pytest.raises(IdempotencyConflict) as raised:
        await ledger.top_up(user, "wechatpay", 251, key=f"{user}:top-up")
    assert raised.value.code == "IDEMPOTENCY_CONFLICT"
    assert raised.value.entry_id == first.id
    with pytest.raises(IdempotencyConflict):
        await ledger.post(f"{user}:top-up", E.ADJUSTMENT, [Line(clearing("wechatpay"), -250), Line(wallet(user), 250)])
    assert await ledger.balance(K.WALLET, user) == 250


async def test_a_post_inside_a_callers_transaction_commits_or_rolls_back_with_it(ledger, server):
    # given
    user = new_key("u")
    uow = UnitOfWork(server.services.bus)

    # when: the caller's transaction fails after the post
    with pytest.raises(RuntimeError):
        async with uow.begin():
            await ledger.top_up(user, "sandbox", 300, key=f"{user}:1")
            raise RuntimeError("the order step failed")
    async with uow.begin():
        await ledger.top_up(user, "sandbox", 200, key=f"{user}:2")

    # then
    assert await ledger.entry(f"{user}:1") is None
    assert await ledger.balance(K.WALLET, user) == 200
    assert await ledger.check_invariants() == []


# -- concurrency -----------------------------------------------------------------------------------------------


async def test_a_hundred_simultaneous_debits_never_overdraw_a_wallet(ledger):
    # given: 100 fen, and an observer that reads the balance all along
    user = new_key("u")
    await ledger.top_up(user, "sandbox", 100, key=f"{user}:top-up")
    seen: list[int] = []
    done = asyncio.Event()

    async def observe() -> None:
        while not done.is_set():
            seen.append(await ledger.balance(K.WALLET, user))
            await asyncio.sleep(0)

    watcher = asyncio.create_task(observe())

    # when: 100 debits of 7 fen, each in its own transaction
    results = await asyncio.gather(*(
        ledger.post(f"{user}:debit:{i}", E.HOLD, [Line(wallet(user), -7), Line(wallet_hold(user), 7)])
        for i in range(100)
    ), return_exceptions=True)
    done.set()
    await watcher

    # then
    failures = [r for r in results if isinstance(r, BaseException)]
    assert len(results) - len(failures) == 14
    assert {type(f) for f in failures} == {InsufficientFunds}
    assert await balances(ledger, wallet(user), wallet_hold(user)) == [2, 98]
    assert min(seen) >= 0
    assert [s.balance_after_fen for s in await ledger.statement(K.WALLET, user)] == [2 + 7 * i for i in range(15)]
    assert await ledger.check_invariants() == []


async def test_simultaneous_posts_of_one_key_write_one_entry(ledger):
    # given
    user = new_key("u")

    # when
    results = await asyncio.gather(*(ledger.top_up(user, "alipay", 80, key=f"{user}:top-up") for _ in range(10)))

    # then
    assert len({r.id for r in results}) == 1
    assert sum(not r.replayed for r in results) == 1
    assert await ledger.balance(K.WALLET, user) == 80
    assert await ledger.check_invariants() == []


async def test_simultaneous_first_uses_of_an_account_create_it_once(ledger):
    # given: an account nobody used yet
    user = new_key("u")

    # when
    await asyncio.gather(*(ledger.top_up(user, "sandbox", 10, key=f"{user}:{i}") for i in range(20)))

    # then
    assert await LedgerAccount.filter(kind=K.WALLET, key=user).count() == 1
    assert await ledger.balance(K.WALLET, user) == 200


async def test_transfers_both_ways_between_two_accounts_all_succeed(ledger):
    # given: two partners with 1000 fen each
    a, b = new_key("p"), new_key("p")
    for p in (a, b):
        await ledger.post(new_key(), E.ADJUSTMENT, [Line(partner(p), 1000), Line(payout(new_key()), -1000)])

    # when: 40 simultaneous transfers, half each way (lock order by account id keeps them from deadlocking)
    def transfer(i: int):
        source, target = (a, b) if i % 2 else (b, a)
        return ledger.post(f"{a}:{i}", E.ADJUSTMENT, [Line(partner(source), -(i + 1)), Line(partner(target), i + 1)])

    await asyncio.gather(*(transfer(i) for i in range(40)))

    # then: odd i move a -> b, even i move b -> a
    moved = sum(i + 1 for i in range(40) if i % 2) - sum(i + 1 for i in range(40) if not i % 2)
    assert await balances(ledger, partner(a), partner(b)) == [1000 - moved, 1000 + moved]
    assert await ledger.check_invariants() == []


async def test_a_post_chosen_as_a_deadlock_victim_is_run_again(ledger, server, monkeypatch):
    if not server.services.settings.database_url.startswith("mysql://"):
        pytest.skip("SQLite runs one transaction at a time: there is no deadlock to recover from")
    retried: list[BaseException] = []
    retryable = repository.retryable
    monkeypatch.setattr(repository, "retryable", lambda exc: retryable(exc) and not retried.append(exc))
    # given: two partner accounts, and another writer that locks them in the opposite order after doing more
    # work (so MariaDB picks the post as the victim of the deadlock)
    a, b, sink = new_key("p"), new_key("p"), new_key("bank-")
    busy = [new_key("p") for _ in range(8)]
    for p in (a, b, *busy):
        await ledger.post(new_key(), E.ADJUSTMENT, [Line(partner(p), 1000), Line(payout(sink), -1000)])
    ids = {p: (await ledger.account(K.PARTNER, p)).id for p in (a, b, *busy)}
    b_locked = asyncio.Event()

    async def other_writer() -> None:
        async with UnitOfWork(server.services.bus).begin():
            for p in busy:
                await LedgerAccount.filter(id=ids[p]).update(balance_fen=F("balance_fen") + 1)
                await LedgerAccount.filter(id=ids[p]).update(balance_fen=F("balance_fen") - 1)
            await LedgerAccount.filter(id=ids[b]).update(balance_fen=F("balance_fen"))
            b_locked.set()
            await asyncio.sleep(0.3)  # the post holds a and waits for b
            await LedgerAccount.filter(id=ids[a]).update(balance_fen=F("balance_fen"))

    writer = asyncio.create_task(other_writer())
    await b_locked.wait()

    # when
    entry = await ledger.post(new_key(), E.ADJUSTMENT, [Line(partner(a), -5), Line(partner(b), 5)])

    # then: both transactions got through, the post on its second try
    await writer
    assert len(retried) == 1
    assert not entry.replayed
    assert await balances(ledger, partner(a), partner(b)) == [995, 1005]
    assert await ledger.check_invariants() == []


# -- random sequences ---------------------------------------------------------------------------------------------

users = st.integers(0, 1)
small = st.integers(1, 400)
operations = st.one_of(
    st.tuples(st.just("top_up"), users, small),
    st.tuples(st.just("reserve"), users, small),
    st.tuples(st.just("capture"), users, small, st.integers(0, 100)),
    st.tuples(st.just("release"), users, small),
    st.tuples(st.just("payout"), small),
    st.tuples(st.just("overdraft"), users, st.integers(1, 50)),
    st.tuples(st.just("unbalanced"), users, small),
    st.tuples(st.just("replay"), st.integers(0, 10)),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(operations, min_size=1, max_size=6))
async def test_random_operations_keep_the_invariants_and_failures_change_nothing(server, ops):
    # given: accounts of this example only, and a model of their balances
    ledger = make_ledger(server)
    run = new_key()
    people = [f"{run}-u0", f"{run}-u1"]
    p, op, provider, channel = f"{run}-p", f"{run}-op", f"{run}-psp", f"{run}-bank"
    accounts = [wallet(people[0]), wallet(people[1]), wallet_hold(people[0]), wallet_hold(people[1]),
                partner(p), revenue(op), clearing(provider), payout(channel)]
    model = dict.fromkeys(accounts, 0)
    posted: list[tuple[str, tuple]] = []

    for step, operation in enumerate(ops):
        key = f"{run}:{step}"
        name = operation[0]
        moves: dict = {}
        call = None
        if name == "top_up":
            _, u, amount = operation
            moves = {clearing(provider): -amount, wallet(people[u]): amount}
            call = ledger.top_up(people[u], provider, amount, key=key)
        elif name == "reserve":
            _, u, amount = operation
            moves = {wallet(people[u]): -amount, wallet_hold(people[u]): amount}
            call = ledger.reserve(people[u], amount, key=key)
        elif name == "capture":
            _, u, amount, share_pct = operation
            share = amount * share_pct // 100
            moves = {wallet_hold(people[u]): -amount, partner(p): share, revenue(op): amount - share}
            call = ledger.capture(people[u], amount, {p: share}, owner=op, key=key)
        elif name == "release":
            _, u, amount = operation
            moves = {wallet_hold(people[u]): -amount, wallet(people[u]): amount}
            call = ledger.release(people[u], amount, key=key)
        elif name == "payout":
            _, amount = operation
            moves = {partner(p): -amount, payout(channel): amount}
            call = ledger.payout(p, channel, amount, key=key)
        elif name == "overdraft":
            _, u, extra = operation
            taken = model[wallet(people[u])] + extra
            call = ledger.post(key, E.ADJUSTMENT, [Line(wallet(people[u]), -taken), Line(revenue(op), taken)])
        elif name == "unbalanced":
            _, u, amount = operation
            call = ledger.post(key, E.ADJUSTMENT, [Line(wallet(people[u]), amount), Line(clearing(provider), -amount - 1)])
        elif name == "replay" and posted:
            _, index = operation
            key, (method, args, kwargs) = posted[index % len(posted)]
            call = getattr(ledger, method)(*args, key=key, **kwargs)
        if call is None:
            continue
        expected_ok = name not in ("overdraft", "unbalanced") and all(
            model[ref] + moved >= 0 for ref, moved in moves.items()
            if ref.kind in (K.WALLET, K.WALLET_HOLD, K.PARTNER))
        before = dict(model)

        # when
        try:
            entry = await call
        except (InsufficientFunds, UnbalancedEntry):
            ok = False
        else:
            ok = True

        # then
        assert ok == (expected_ok or name == "replay"), (step, operation)
        if ok and name == "replay":
            assert entry.replayed
        elif ok:
            for ref, moved in moves.items():
                model[ref] += moved
            posted.append((key, _again(operation, people, p, op, provider, channel)))
        else:
            assert await ledger.entry(key) is None
        assert await balances(ledger, *accounts) == [model[ref] for ref in accounts], (step, operation, before)
        assert await ledger.check_invariants() == []


def _again(operation: tuple, people: list[str], p: str, op: str, provider: str, channel: str) -> tuple:
    """The wrapper call of a successful operation, to post its key again later."""
    name = operation[0]
    if name == "top_up":
        return "top_up", (people[operation[1]], provider, operation[2]), {}
    if name == "reserve":
        return "reserve", (people[operation[1]], operation[2]), {}
    if name == "capture":
        share = operation[2] * operation[3] // 100
        return "capture", (people[operation[1]], operation[2], {p: share}), {"owner": op}
    if name == "release":
        return "release", (people[operation[1]], operation[2]), {}
    return "payout", (p, channel, operation[1]), {}


# -- the checker itself ---------------------------------------------------------------------------------------------


async def test_the_invariant_check_finds_a_cached_balance_that_drifted(ledger):
    # given
    user = new_key("u")
    await ledger.top_up(user, "sandbox", 100, key=new_key())
    account = await ledger.account(K.WALLET, user)
    assert account is not None

    # when: the cached balance is changed behind the ledger's back
    await LedgerAccount.filter(id=account.id).update(balance_fen=101)
    try:
        found = await ledger.check_invariants()
    finally:
        await LedgerAccount.filter(id=account.id).update(balance_fen=100)

    # then
    assert found == [f"wallet:{user}: cached balance 101 fen, lines sum to 100 fen",
                     "the balances of all accounts sum to 1 fen, not 0"]
    assert await ledger.check_invariants() == []


async def test_the_invariant_check_finds_an_unbalanced_entry_and_a_wrong_running_balance(ledger, server):
    # given: an entry of one line written behind the ledger's back, with a wrong balance-after
    op = new_key("op")
    now = server.services.clock.now()
    account = await LedgerAccount.create(kind=K.REVENUE, key=op, balance_fen=5, created_at=now)
    entry = await JournalEntry.create(kind=E.ADJUSTMENT, idempotency_key=new_key(), created_at=now)
    line = await JournalLine.create(entry=entry, account=account, amount_fen=5, balance_after_fen=4)

    # when
    try:
        found = await ledger.check_invariants()
    finally:
        await line.delete()
        await entry.delete()
        await account.delete()

    # then
    assert found == [
        f"entry {entry.id}: 1 lines summing to 5 fen",
        "the balances of all accounts sum to 5 fen, not 0",
        f"line {line.id} of account {account.id}: stored balance-after is not the sum of the lines up to it",
    ]
    assert await ledger.check_invariants() == []
