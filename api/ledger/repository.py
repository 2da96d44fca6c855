"""Every query of the ledger. No rules and no events; the service decides, and owns the transactions.

The balance queries are built for concurrency on SQLite and MySQL/MariaDB alike: a debit of an account that may
not go below zero is one conditional ``UPDATE … WHERE balance_fen >= x`` whose row count says whether it
happened (no read-then-write), and every query inside a posting transaction is a locking ("current") read, so
MySQL's REPEATABLE READ snapshot never feeds a stale balance into a line.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from tortoise.backends.base.client import TransactionalDBClient
from tortoise.exceptions import IntegrityError, OperationalError
from tortoise.expressions import F, Q
from tortoise.functions import Count, Sum

from api.ledger.dto import Account, AccountCheck, AccountRef, Draft, Entry, PostedLine, StatementLine
from api.models import JournalEntry, JournalLine, LedgerAccount
from api.models.enums import JournalEntryKind, LedgerAccountKind

RETRYABLE_MYSQL_ERRORS = frozenset({1213, 1020})
"""1213: deadlock found (the server rolled the transaction back); 1020: record changed since last read
(MariaDB's ``innodb_snapshot_isolation``). Both say "try the transaction again"."""


class KeyTaken(Exception):
    """Another transaction committed an entry with this idempotency key first."""


def in_transaction() -> bool:
    """Is the caller already inside a transaction (so ours is a savepoint in it)?"""
    return isinstance(LedgerAccount._meta.db, TransactionalDBClient)


def retryable(exc: BaseException) -> bool:
    """A MySQL/MariaDB error that aborts a transaction which may simply be run again."""
    if not isinstance(exc, OperationalError):
        return False
    for cause in (*exc.args[:1], exc.__cause__, exc.__context__):
        args = getattr(cause, "args", ())
        if isinstance(cause, BaseException) and args and args[0] in RETRYABLE_MYSQL_ERRORS:
            return True
    return False


def _ref(row: LedgerAccount) -> AccountRef:
    return AccountRef(LedgerAccountKind(row.kind), row.key)


def _account(row: LedgerAccount) -> Account:
    return Account(row.id, _ref(row), row.balance_fen, row.created_at)


def _named(refs: Iterable[AccountRef]) -> Q:
    named = Q()
    for ref in refs:
        named |= Q(kind=ref.kind, key=ref.key)
    return named


# -- accounts ------------------------------------------------------------------------------------------


async def account(ref: AccountRef) -> Account | None:
    row = await LedgerAccount.get_or_none(kind=ref.kind, key=ref.key)
    return _account(row) if row else None


async def ensure_accounts(refs: Sequence[AccountRef], now: datetime) -> dict[AccountRef, int]:
    """The id of each account, creating those used for the first time.

    Race-safe: a missing account is inserted, and a duplicate-key error (a concurrent first use won) is
    ignored, which on both engines undoes only that statement. The new rows are then read back with a locking
    read, which also sees rows committed after a surrounding transaction's snapshot. (Not ``INSERT IGNORE``:
    it turns every lost race into a logged MySQL warning.)"""
    wanted = set(refs)
    ids = {_ref(row): row.id for row in await LedgerAccount.filter(_named(wanted))}
    missing = sorted(wanted - ids.keys())
    if missing:
        for ref in missing:
            try:
                await LedgerAccount.create(kind=ref.kind, key=ref.key, balance_fen=0, created_at=now)
            except IntegrityError:
                pass
        rows = await LedgerAccount.filter(_named(missing)).order_by("id").select_for_update()
        ids.update({_ref(row): row.id for row in rows})
    return ids


async def take_from_balance(account_id: int, amount_fen: int) -> bool:
    """Lower a balance by ``amount_fen`` only if it holds that much; False (and no change) otherwise."""
    changed = await LedgerAccount.filter(id=account_id, balance_fen__gte=amount_fen).update(
        balance_fen=F("balance_fen") - amount_fen
    )
    return changed == 1


async def add_to_balance(account_id: int, amount_fen: int) -> None:
    """Move a balance by ``amount_fen`` (any sign; 0 only locks the row until the transaction ends)."""
    await LedgerAccount.filter(id=account_id).update(balance_fen=F("balance_fen") + amount_fen)


async def locked_balances(account_ids: Iterable[int]) -> dict[int, int]:
    """Current balances of accounts this transaction has already locked (a current read, not the snapshot)."""
    rows = await LedgerAccount.filter(id__in=list(account_ids)).order_by("id").select_for_update()
    return {row.id: row.balance_fen for row in rows}


# -- entries -------------------------------------------------------------------------------------------


async def create_entry(wanted: Draft, now: datetime) -> JournalEntry:
    try:
        return await JournalEntry.create(
            kind=wanted.kind, idempotency_key=wanted.idempotency_key, memo=wanted.memo,
            reference=wanted.reference, created_at=now,
        )
    except IntegrityError as e:
        raise KeyTaken(wanted.idempotency_key) from e


async def add_lines(entry_id: int, lines: Sequence[tuple[int, int, int]]) -> None:
    """``(account_id, amount_fen, balance_after_fen)`` in the order given (ids follow it)."""
    await JournalLine.bulk_create([
        JournalLine(entry_id=entry_id, account_id=account_id, amount_fen=amount, balance_after_fen=after)
        for account_id, amount, after in lines
    ])


async def _entries(rows: Sequence[JournalEntry], *, current: bool = False) -> list[Entry]:
    if not rows:
        return []
    lines_q = JournalLine.filter(entry_id__in=[row.id for row in rows]).order_by("id")
    lines = await (lines_q.select_for_update() if current else lines_q)
    accounts_q = LedgerAccount.filter(id__in=sorted({line.account_id for line in lines})).order_by("id")
    refs = {row.id: _ref(row) for row in await (accounts_q.select_for_update() if current else accounts_q)}
    by_entry: dict[int, list[PostedLine]] = {row.id: [] for row in rows}
    for line in lines:
        by_entry[line.entry_id].append(PostedLine(refs[line.account_id], line.amount_fen, line.balance_after_fen))
    return [
        Entry(row.id, row.idempotency_key, JournalEntryKind(row.kind), row.memo, row.reference, row.created_at,
              tuple(by_entry[row.id]))
        for row in rows
    ]


async def entry_by_key(idempotency_key: str, *, current: bool = False) -> Entry | None:
    """The entry posted with this key; ``current`` reads with locks, so it sees what was committed after a
    surrounding transaction's snapshot."""
    query = JournalEntry.filter(idempotency_key=idempotency_key)
    row = await (query.select_for_update() if current else query).first()
    if row is None:
        return None
    return (await _entries([row], current=current))[0]


async def entries_for(reference: str) -> list[Entry]:
    return await _entries(await JournalEntry.filter(reference=reference).order_by("id"))


async def statement(
    account_id: int, before_id: int | None, limit: int, since: datetime | None = None, until: datetime | None = None
) -> list[StatementLine]:
    query = JournalLine.filter(account_id=account_id)
    if before_id is not None:
        query = query.filter(id__lt=before_id)
    if since is not None:
        query = query.filter(entry__created_at__gte=since)
    if until is not None:
        query = query.filter(entry__created_at__lt=until)
    rows = await query.order_by("-id").limit(limit).select_related("entry")
    return [
        StatementLine(
            row.id, row.entry_id, JournalEntryKind(row.entry.kind), row.entry.memo, row.entry.reference,
            row.entry.created_at, row.amount_fen, row.balance_after_fen,
        )
        for row in rows
    ]


# -- invariants ----------------------------------------------------------------------------------------


async def malformed_entries(limit: int) -> list[tuple[int, int, int]]:
    """``(entry_id, line count, sum)`` of entries with fewer than two lines or a sum other than zero."""
    rows = await (
        JournalEntry.annotate(line_count=Count("lines"), total=Sum("lines__amount_fen"))
        .filter(Q(line_count__lt=2) | Q(total__not=0))
        .order_by("id").limit(limit).values("id", "line_count", "total")
    )
    return [(row["id"], row["line_count"], int(row["total"] or 0)) for row in rows]


async def account_checks() -> list[AccountCheck]:
    totals = {
        row["account_id"]: int(row["total"])
        for row in await JournalLine.annotate(total=Sum("amount_fen")).group_by("account_id")
        .values("account_id", "total")
    }
    return [
        AccountCheck(_ref(row), row.balance_fen, totals.get(row.id, 0))
        for row in await LedgerAccount.all().order_by("id")
    ]


_BROKEN_RUNNING_BALANCES = """
SELECT id, account_id FROM (
    SELECT id, account_id, balance_after_fen,
           SUM(amount_fen) OVER (PARTITION BY account_id ORDER BY id ROWS UNBOUNDED PRECEDING) AS running_fen
    FROM journal_line
) AS running
WHERE running_fen <> balance_after_fen
ORDER BY id
LIMIT {limit}
"""


async def broken_running_balances(limit: int) -> list[tuple[int, int]]:
    """``(line_id, account_id)`` of lines whose stored balance-after is not the sum of the account's lines up
    to them (window functions: SQLite 3.25+, MariaDB 10.2+, MySQL 8)."""
    rows = await JournalLine._meta.db.execute_query_dict(_BROKEN_RUNNING_BALANCES.format(limit=int(limit)))
    return [(int(row["id"]), int(row["account_id"])) for row in rows]
