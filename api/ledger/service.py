"""Ledger use cases: post balanced journal entries exactly once, read balances and statements, and the money
flows of ChargeOps as one-call wrappers. Amounts are fen; a line is positive when it raises its account.

The flows (each line is ``ACCOUNT ±amount``; every entry sums to zero)::

    provider payment     CLEARING(provider) -paid        UNSETTLED +paid                     record_payment
    refund, original     UNSETTLED -r                    CLEARING(provider) +r               refund
      route              (after settlement the source is REVENUE(owner) -r, which may go below zero)
    profit sharing       UNSETTLED -s   then for each partner p: PARTNER(p) +s_p, PARTNER(p) -s_p,
      through provider   CLEARING(provider) +s   (one entry: each partner's statement shows its share
                         and that it left through the provider's split)                      share
    release to revenue   UNSETTLED -rest                 REVENUE(owner) +(rest - allocations)
                                                         PARTNER(p) +allocation (划拨)       release_to_revenue
    wallet top-up        CLEARING(provider) -t           WALLET(user) +t                     top_up
    balance payment:
      reserve the cap    WALLET(user) -cap               WALLET_HOLD(user) +cap              reserve
      capture the due    WALLET_HOLD(user) -due          REVENUE(owner) +platform part       capture
                                                         PARTNER(p) +partner part (划拨, allocation transfer)
      release the rest   WALLET_HOLD(user) -rest         WALLET(user) +rest                  release
    partner payout       PARTNER(p) -x                   PAYOUT(channel) +x                  payout

A provider-paid order takes UNSETTLED up by what was paid and back by exactly that when settled (refund +
shares + release); a balance-paid order takes WALLET_HOLD up by the cap and back by capture + release.

Safety, on SQLite and MySQL/MariaDB alike:

- One transaction per entry (``UnitOfWork.begin``): the entry row, the balance updates and the lines commit
  together, or nothing does. Called inside a caller's transaction, the post joins it as a savepoint.
- A never-negative account is debited by a conditional update (``balance_fen >= x``); zero rows changed means
  ``InsufficientFunds`` and the whole entry rolls back. There is no read-then-write.
- Accounts are updated in ascending id order, so two entries touching the same accounts lock them in the same
  order and cannot deadlock each other; a deadlock MySQL reports anyway (error 1213) re-runs the transaction a
  few times (not inside a caller's transaction, whose rollback is the caller's to handle).
- The idempotency key is unique in the database: a concurrent duplicate loses the insert and is answered with
  the winner's entry (or ``IdempotencyConflict`` if its lines differ).
- Accounts are created before the transaction, race-free (insert; a duplicate-key error from a concurrent first
  use is ignored; then a locking read), so the pool connection a transaction holds is the only one it needs.
- Each line stores the balance after it, read back under the row lock the transaction holds, so a statement is
  an index range read; ``check_invariants`` proves those running balances and the cached ones.
"""

from __future__ import annotations

from datetime import datetime

import asyncio
import random
from collections.abc import Mapping, Sequence

from api.core.clock import Clock
from api.core.db import UnitOfWork
from api.ledger import repository, rules
from api.ledger.dto import PLATFORM, Account, AccountRef, Draft, Entry, Line, PostedLine, StatementLine
from api.ledger.errors import InsufficientFunds, InvalidEntry
from api.models.enums import JournalEntryKind, LedgerAccountKind

ATTEMPTS = 5
"""Tries of one posting transaction that MySQL aborts with a deadlock."""
MAX_STATEMENT_PAGE = 200
MAX_VIOLATIONS = 50


class LedgerService:
    def __init__(self, uow: UnitOfWork, clock: Clock) -> None:
        self.uow = uow
        self.clock = clock

    # -- posting -------------------------------------------------------------------------------------

    async def post(
        self, idempotency_key: str, kind: JournalEntryKind | str, lines: Sequence[Line], *, memo: str = "",
        reference: str = "",
    ) -> Entry:
        """Write one balanced entry, exactly once per ``idempotency_key``.

        The same key again returns the stored entry (``replayed=True``) if its kind and lines are the same
        (in any order), else raises ``IdempotencyConflict``. Raises ``InvalidEntry`` / ``UnbalancedEntry`` for a
        malformed entry and ``InsufficientFunds`` (naming the account) when a never-negative account would go
        below zero; then nothing is written."""
        wanted = rules.draft(idempotency_key, kind, lines, memo=memo, reference=reference)
        found = await repository.entry_by_key(wanted.idempotency_key)
        if found is not None:
            return rules.replay(found, wanted)
        ids = await repository.ensure_accounts(sorted({line.account for line in wanted.lines}), self.clock.now())
        nested = repository.in_transaction()
        attempt = 0
        while True:
            attempt += 1
            try:
                async with self.uow.begin():
                    return await self._write(wanted, ids)
            except repository.KeyTaken:
                found = await repository.entry_by_key(wanted.idempotency_key, current=True)
                if found is not None:
                    return rules.replay(found, wanted)
                if nested or attempt >= ATTEMPTS:
                    raise
            except Exception as exc:
                if nested or attempt >= ATTEMPTS or not repository.retryable(exc):
                    raise
            await asyncio.sleep(random.uniform(0, 0.01 * attempt))

    async def _write(self, wanted: Draft, ids: Mapping[AccountRef, int]) -> Entry:
        now = self.clock.now()
        row = await repository.create_entry(wanted, now)
        moves = rules.net(wanted.lines)
        for ref in sorted(moves, key=lambda ref: ids[ref]):  # one lock order for every transaction
            moved = moves[ref]
            if moved < 0 and not rules.may_go_negative(ref.kind):
                if not await repository.take_from_balance(ids[ref], -moved):
                    raise InsufficientFunds(ref, -moved)
            else:
                await repository.add_to_balance(ids[ref], moved)
        balances = await repository.locked_balances(ids[ref] for ref in moves)
        after = rules.running_balances(wanted.lines, {ref: balances[ids[ref]] for ref in moves})
        await repository.add_lines(
            row.id, [(ids[line.account], line.amount_fen, b) for line, b in zip(wanted.lines, after, strict=True)]
        )
        posted = tuple(PostedLine(line.account, line.amount_fen, b) for line, b in zip(wanted.lines, after))
        return Entry(row.id, wanted.idempotency_key, wanted.kind, wanted.memo, wanted.reference, now, posted)

    # -- reading -------------------------------------------------------------------------------------

    async def account(self, kind: str, key: int | str) -> Account | None:
        return await repository.account(rules.account_ref(kind, key))

    async def balance(self, kind: str, key: int | str) -> int:
        """Fen; 0 for an account never used."""
        found = await self.account(kind, key)
        return found.balance_fen if found else 0

    async def statement(
        self, kind: str, key: int | str, *, before_id: int | None = None, limit: int = 50,
        since: datetime | None = None, until: datetime | None = None,
    ) -> list[StatementLine]:
        """The account's lines, newest first, each with its entry's kind, memo and reference and the balance
        just after it. Page on with ``before_id`` = the ``line_id`` of the last line shown; ``since`` (inclusive)
        and ``until`` (exclusive) bound a period (a partner's monthly statement)."""
        if not 1 <= limit <= MAX_STATEMENT_PAGE:
            raise InvalidEntry(f"a statement page has 1 to {MAX_STATEMENT_PAGE} lines")
        found = await self.account(kind, key)
        if found is None:
            return []
        return await repository.statement(found.id, before_id, limit, since, until)

    async def entries_for(self, reference: str) -> list[Entry]:
        """Every entry recorded for ``reference`` (e.g. ``order:123``), oldest first."""
        return await repository.entries_for(reference)

    async def entry(self, idempotency_key: str) -> Entry | None:
        """The entry posted with this key, if any (a resumed step can see whether it ran)."""
        return await repository.entry_by_key(idempotency_key)

    async def check_invariants(self) -> list[str]:
        """What is wrong with the whole ledger, in words (empty when all holds): every entry has two lines or
        more and sums to zero, every cached balance is the sum of its account's lines and every stored
        running balance the sum up to its line, never-negative accounts are >= 0, all balances sum to zero.
        Reads every line, in one transaction (one snapshot, so postings running meanwhile are seen whole or not
        at all): for tests and the operations team, not for request paths."""
        async with self.uow.begin():
            malformed = await repository.malformed_entries(MAX_VIOLATIONS)
            accounts = await repository.account_checks()
            broken = await repository.broken_running_balances(MAX_VIOLATIONS)
        found = [f"entry {entry_id}: {count} lines summing to {total} fen" for entry_id, count, total in malformed]
        found += rules.account_violations(accounts)
        found += [
            f"line {line_id} of account {account_id}: stored balance-after is not the sum of the lines up to it"
            for line_id, account_id in broken
        ]
        return found

    # -- the flows (module docstring); the key is keyword-only, so it is never mixed up with an id ---------

    async def wallet_balance(self, user_id: int | str) -> int:
        """Fen a driver may spend now (held caps excluded)."""
        return await self.balance(LedgerAccountKind.WALLET, user_id)

    async def record_payment(
        self, provider: str, amount_fen: int, *, key: str, reference: str = "", memo: str = ""
    ) -> Entry:
        """A provider confirmed a payment for an order (settled later)."""
        return await self.post(key, JournalEntryKind.PAYMENT, rules.payment_lines(provider, amount_fen),
                               memo=memo, reference=reference)

    async def refund(
        self, provider: str, amount_fen: int, *, key: str, source: AccountRef | None = None, reference: str = "",
        memo: str = "",
    ) -> Entry:
        """A refund by the original route succeeded; ``source`` is UNSETTLED (default) before settlement,
        ``revenue(owner)`` after."""
        return await self.post(
            key, JournalEntryKind.REFUND, rules.refund_lines(provider, amount_fen, source), memo=memo,
            reference=reference,
        )

    async def share(
        self, provider: str, shares_fen: Mapping[int | str, int], *, key: str, reference: str = "", memo: str = ""
    ) -> Entry:
        """The provider's profit sharing to partners succeeded (``{partner_id: fen}``), one entry for all."""
        return await self.post(
            key, JournalEntryKind.PROFIT_SHARING, rules.profit_sharing_lines(provider, shares_fen), memo=memo,
            reference=reference,
        )

    async def release_to_revenue(
        self, amount_fen: int, allocations_fen: Mapping[int | str, int] | None = None, *, key: str,
        owner: int | str = PLATFORM, reference: str = "", memo: str = "",
    ) -> Entry:
        """The rest of a settled provider-paid order leaves UNSETTLED: ``allocations_fen`` to partners'
        sub-accounts (划拨), the remainder to REVENUE(owner)."""
        return await self.post(
            key, JournalEntryKind.REVENUE_RELEASE, rules.revenue_release_lines(amount_fen, allocations_fen, owner),
            memo=memo, reference=reference,
        )

    async def top_up(
        self, user_id: int | str, provider: str, amount_fen: int, *, key: str, reference: str = "", memo: str = ""
    ) -> Entry:
        return await self.post(key, JournalEntryKind.TOP_UP, rules.top_up_lines(user_id, provider, amount_fen),
                               memo=memo, reference=reference)

    async def reserve(
        self, user_id: int | str, cap_fen: int, *, key: str, reference: str = "", memo: str = ""
    ) -> Entry:
        """Move the cap of a balance-paid order from the wallet to its hold; ``InsufficientFunds`` if short."""
        return await self.post(key, JournalEntryKind.HOLD, rules.hold_lines(user_id, cap_fen), memo=memo,
                               reference=reference)

    async def capture(
        self, user_id: int | str, due_fen: int, allocations_fen: Mapping[int | str, int] | None = None, *,
        key: str, owner: int | str = PLATFORM, reference: str = "", memo: str = "",
    ) -> Entry:
        """Take the amount due from the hold: each partner's allocation (划拨) to its sub-account, the rest to
        REVENUE(owner). Compute the parts with ``api.core.money.split_by_bp``."""
        return await self.post(
            key, JournalEntryKind.CAPTURE, rules.capture_lines(user_id, due_fen, allocations_fen, owner),
            memo=memo, reference=reference,
        )

    async def release(
        self, user_id: int | str, amount_fen: int, *, key: str, reference: str = "", memo: str = ""
    ) -> Entry:
        """Give the unused part of a cap back from the hold to the wallet."""
        return await self.post(key, JournalEntryKind.HOLD_RELEASE, rules.hold_release_lines(user_id, amount_fen),
                               memo=memo, reference=reference)

    async def payout(
        self, partner_id: int | str, channel: str, amount_fen: int, *, key: str, reference: str = "", memo: str = ""
    ) -> Entry:
        """A partner was paid outside a provider split (bank transfer...)."""
        return await self.post(key, JournalEntryKind.PAYOUT, rules.payout_lines(partner_id, channel, amount_fen),
                               memo=memo, reference=reference)
