"""Pure rules of the ledger: which accounts may go below zero, what a valid entry is, the lines of each
money flow, running balances, replays of an idempotency key, and the invariants. No I/O.

Sign convention: a line's amount is positive when it raises its account's balance. Every entry sums to zero,
so the sum of all balances is always zero: money coming in shows as a negative CLEARING balance (what the
providers hold for us), money owed to drivers and partners as positive WALLET / PARTNER balances.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from api.ledger.dto import (
    PLATFORM,
    AccountCheck,
    AccountRef,
    Draft,
    Entry,
    Line,
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

NEVER_NEGATIVE: frozenset[LedgerAccountKind] = frozenset({K.WALLET, K.WALLET_HOLD, K.UNSETTLED, K.PARTNER})
"""Kinds whose balance may never go below zero, whatever runs concurrently (DESIGN §3)."""

MAX_AMOUNT_FEN = 10**15
"""The largest amount of one line (10 trillion yuan): sums of many lines stay far inside 64-bit integers."""
MAX_LINES = 64
MAX_ACCOUNT_KEY = 64
MAX_IDEMPOTENCY_KEY = 128
MAX_MEMO = 255
MAX_REFERENCE = 64


def may_go_negative(kind: LedgerAccountKind) -> bool:
    return kind not in NEVER_NEGATIVE


def _text(value: object, what: str, max_len: int, *, empty: bool = False) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InvalidEntry(f"{what} must be a string")
    text = str(value)
    if not text and not empty:
        raise InvalidEntry(f"{what} is empty")
    if len(text) > max_len:
        raise InvalidEntry(f"{what} has more than {max_len} characters")
    if text != text.strip() or any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise InvalidEntry(f"{what} has surrounding spaces or control characters")
    return text


def account_ref(kind: str, key: int | str) -> AccountRef:
    """A checked account name; a user or partner id may be given as an int."""
    try:
        checked = LedgerAccountKind(kind)
    except ValueError:
        raise InvalidEntry(f"{kind!r} is not a kind of ledger account") from None
    return AccountRef(checked, _text(key, "an account key", MAX_ACCOUNT_KEY))


def draft(
    idempotency_key: str, kind: str, lines: Sequence[Line], *, memo: str = "", reference: str = ""
) -> Draft:
    """Check an entry: a known kind, 2..64 lines on at least two accounts, every amount a non-zero int of at
    most ``MAX_AMOUNT_FEN``, and a sum of zero (else ``UnbalancedEntry``). Several lines on one account are
    kept as given; the account's balance moves by their sum."""
    key = _text(idempotency_key, "the idempotency key", MAX_IDEMPOTENCY_KEY)
    try:
        entry_kind = JournalEntryKind(kind)
    except ValueError:
        raise InvalidEntry(f"{kind!r} is not a kind of journal entry") from None
    if not 2 <= len(lines) <= MAX_LINES:
        raise InvalidEntry(f"an entry has 2 to {MAX_LINES} lines, not {len(lines)}")
    checked: list[Line] = []
    for line in lines:
        if not isinstance(line, Line) or not isinstance(line.account, AccountRef):
            raise InvalidEntry("every line is a Line(AccountRef, amount_fen)")
        amount = line.amount_fen
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise InvalidEntry(f"the amount of a line on {line.account} is not an integer of fen")
        if amount == 0:
            raise InvalidEntry(f"a line on {line.account} moves 0 fen")
        if abs(amount) > MAX_AMOUNT_FEN:
            raise InvalidEntry(f"a line on {line.account} moves more than {MAX_AMOUNT_FEN} fen")
        checked.append(Line(account_ref(line.account.kind, line.account.key), amount))
    if len({line.account for line in checked}) < 2:
        raise InvalidEntry("an entry moves money between at least two accounts")
    total = sum(line.amount_fen for line in checked)
    if total != 0:
        raise UnbalancedEntry(f"the lines of {key!r} sum to {total} fen, not 0")
    ordered = tuple(sorted(checked, key=lambda line: line.amount_fen < 0))  # stable: increases first
    return Draft(
        key, entry_kind, ordered, _text(memo, "the memo", MAX_MEMO, empty=True),
        _text(reference, "the reference", MAX_REFERENCE, empty=True),
    )


def net(lines: Iterable[Line]) -> dict[AccountRef, int]:
    """How much each account's balance moves (0 for an account whose lines cancel out)."""
    moves: dict[AccountRef, int] = {}
    for line in lines:
        moves[line.account] = moves.get(line.account, 0) + line.amount_fen
    return moves


def running_balances(lines: Sequence[Line], final: Mapping[AccountRef, int]) -> list[int]:
    """The balance of each line's account just after the line, given every account's balance after the
    whole entry."""
    current = {ref: final[ref] - moved for ref, moved in net(lines).items()}
    after = []
    for line in lines:
        current[line.account] += line.amount_fen
        after.append(current[line.account])
    return after


def same_movement(entry: Entry, wanted: Draft) -> bool:
    """Does a stored entry record what ``wanted`` asks for (kind and lines, in any order)?"""
    stored = Counter((line.account, line.amount_fen) for line in entry.lines)
    return entry.kind == wanted.kind and stored == Counter((line.account, line.amount_fen) for line in wanted.lines)


def replay(entry: Entry, wanted: Draft) -> Entry:
    """The answer to a key posted again: the stored entry if it is the same movement, else a conflict."""
    if not same_movement(entry, wanted):
        raise IdempotencyConflict(wanted.idempotency_key, entry.id)
    return Entry(entry.id, entry.idempotency_key, entry.kind, entry.memo, entry.reference, entry.created_at,
                 entry.lines, replayed=True)


def account_violations(accounts: Iterable[AccountCheck]) -> list[str]:
    """Cached balances equal the sum of their lines, never-negative kinds are >= 0, and all balances sum to 0."""
    found = []
    total = 0
    for account in accounts:
        total += account.balance_fen
        if account.balance_fen != account.lines_total_fen:
            found.append(f"{account.ref}: cached balance {account.balance_fen} fen, lines sum to "
                         f"{account.lines_total_fen} fen")
        if account.balance_fen < 0 and not may_go_negative(account.ref.kind):
            found.append(f"{account.ref}: balance {account.balance_fen} fen is below zero")
    if total != 0:
        found.append(f"the balances of all accounts sum to {total} fen, not 0")
    return found


# -- the lines of each flow (drawn in api.ledger.service) ---------------------------------------------------


def _positive(amount_fen: int, what: str) -> int:
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen <= 0:
        raise InvalidEntry(f"{what} must be a positive number of fen, not {amount_fen!r}")
    return amount_fen


def payment_lines(provider: str, amount_fen: int) -> list[Line]:
    paid = _positive(amount_fen, "the amount paid")
    return [Line(clearing(provider), -paid), Line(unsettled(), paid)]


def refund_lines(provider: str, amount_fen: int, source: AccountRef | None = None) -> list[Line]:
    """Back by the original route, from UNSETTLED (before settlement) or a REVENUE account (after)."""
    refunded = _positive(amount_fen, "the refund")
    return [Line(source or unsettled(), -refunded), Line(clearing(provider), refunded)]


def profit_sharing_lines(provider: str, shares_fen: Mapping[int | str, int]) -> list[Line]:
    """The partners' shares leaving through the provider's split, in one entry, so each partner's statement
    shows its share and that it left through the provider. Shares of 0 fen are left out."""
    shares = _parts(shares_fen, "share")
    total = _positive(sum(shares.values()), "the shares together")
    lines = [Line(unsettled(), -total)]
    for partner_id, share in shares.items():
        lines += [Line(partner(partner_id), share), Line(partner(partner_id), -share)]
    return [*lines, Line(clearing(provider), total)]


def revenue_release_lines(
    amount_fen: int, allocations_fen: Mapping[int | str, int] | None = None, owner: int | str = PLATFORM
) -> list[Line]:
    """What is left of a settled provider-paid order leaves UNSETTLED: partners' allocations (划拨) to their
    sub-accounts, the rest to REVENUE(owner)."""
    return _split_lines(unsettled(), _positive(amount_fen, "the amount released"), allocations_fen, owner)


def top_up_lines(user_id: int | str, provider: str, amount_fen: int) -> list[Line]:
    paid = _positive(amount_fen, "the top-up")
    return [Line(clearing(provider), -paid), Line(wallet(user_id), paid)]


def hold_lines(user_id: int | str, cap_fen: int) -> list[Line]:
    cap = _positive(cap_fen, "the cap")
    return [Line(wallet(user_id), -cap), Line(wallet_hold(user_id), cap)]


def capture_lines(
    user_id: int | str, due_fen: int, allocations_fen: Mapping[int | str, int] | None = None,
    owner: int | str = PLATFORM,
) -> list[Line]:
    """The amount due leaves the hold: the partners' parts are allocation transfers (划拨) to their
    sub-accounts, the rest is REVENUE(owner)."""
    return _split_lines(wallet_hold(user_id), _positive(due_fen, "the amount due"), allocations_fen, owner)


def _parts(parts_fen: Mapping[int | str, int] | None, what: str) -> dict[int | str, int]:
    parts = dict(parts_fen or {})
    for partner_id, part in parts.items():
        if isinstance(part, bool) or not isinstance(part, int) or part < 0:
            raise InvalidEntry(f"the {what} of partner {partner_id} must be 0 fen or more, not {part!r}")
    return {partner_id: part for partner_id, part in parts.items() if part}


def _split_lines(
    source: AccountRef, amount_fen: int, allocations_fen: Mapping[int | str, int] | None, owner: int | str
) -> list[Line]:
    allocations = _parts(allocations_fen, "allocation")
    rest = amount_fen - sum(allocations.values())
    if rest < 0:
        raise InvalidEntry(f"the partners' allocations exceed the {amount_fen} fen to split")
    lines = [Line(source, -amount_fen)]
    if rest:
        lines.append(Line(revenue(owner), rest))
    return lines + [Line(partner(partner_id), part) for partner_id, part in allocations.items()]


def hold_release_lines(user_id: int | str, amount_fen: int) -> list[Line]:
    released = _positive(amount_fen, "the amount released")
    return [Line(wallet_hold(user_id), -released), Line(wallet(user_id), released)]


def payout_lines(partner_id: int | str, channel: str, amount_fen: int) -> list[Line]:
    paid = _positive(amount_fen, "the payout")
    return [Line(partner(partner_id), -paid), Line(payout(channel), paid)]
