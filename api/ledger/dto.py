"""Values of the ledger: account names, the lines of an entry, posted entries and statements.

An account is named by its kind and a key (``AccountRef``); the helpers below (``wallet(42)``,
``clearing("wechatpay")``...) build the names the flows use, so callers never spell a key by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from api.models.enums import JournalEntryKind, LedgerAccountKind

PLATFORM = "platform"
"""The key of the platform's own UNSETTLED and REVENUE accounts."""


@dataclass(frozen=True, order=True)
class AccountRef:
    kind: LedgerAccountKind
    key: str

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.key}"


def wallet(user_id: int | str) -> AccountRef:
    return AccountRef(LedgerAccountKind.WALLET, str(user_id))


def wallet_hold(user_id: int | str) -> AccountRef:
    return AccountRef(LedgerAccountKind.WALLET_HOLD, str(user_id))


def unsettled() -> AccountRef:
    return AccountRef(LedgerAccountKind.UNSETTLED, PLATFORM)


def clearing(provider: str) -> AccountRef:
    return AccountRef(LedgerAccountKind.CLEARING, provider)


def revenue(owner: int | str = PLATFORM) -> AccountRef:
    """The platform's revenue, or an operator's (``owner`` = the operator id)."""
    return AccountRef(LedgerAccountKind.REVENUE, str(owner))


def uncollected(owner: int | str = PLATFORM) -> AccountRef:
    """What ``owner`` earned but could not collect (a contra-revenue account, written off): a late correction
    raised an order's amount due after its refund had gone back to the driver, and a provider neither undoes a
    refund nor takes more than was paid. Its balance is minus the total written off; operators read it like any
    account (``LedgerService.statement``)."""
    return AccountRef(LedgerAccountKind.REVENUE, f"{owner}-uncollected")


def partner(partner_id: int | str) -> AccountRef:
    return AccountRef(LedgerAccountKind.PARTNER, str(partner_id))


def payout(channel: str) -> AccountRef:
    return AccountRef(LedgerAccountKind.PAYOUT, channel)


@dataclass(frozen=True)
class Line:
    """One line of an entry to post."""

    account: AccountRef
    amount_fen: int
    """Fen; positive raises the account's balance, negative lowers it; never zero."""


@dataclass(frozen=True)
class Draft:
    """An entry that passed the rules, ready to be written."""

    idempotency_key: str
    kind: JournalEntryKind
    lines: tuple[Line, ...]
    """In the order they are written: within an entry the increases come before the decreases, so a running
    balance never dips below the lower of the balances before and after the entry."""
    memo: str = ""
    reference: str = ""


@dataclass(frozen=True)
class PostedLine:
    account: AccountRef
    amount_fen: int
    balance_after_fen: int
    """The account's balance just after this line."""


@dataclass(frozen=True)
class Entry:
    id: int
    idempotency_key: str
    kind: JournalEntryKind
    memo: str
    reference: str
    created_at: datetime
    lines: tuple[PostedLine, ...]
    replayed: bool = False
    """True when the key had been posted before and this is that entry (nothing was written this time)."""


@dataclass(frozen=True)
class Account:
    id: int
    ref: AccountRef
    balance_fen: int
    created_at: datetime


@dataclass(frozen=True)
class StatementLine:
    """One line of an account's statement, with what its entry says."""

    line_id: int
    """Pass the last one shown as ``before_id`` to read the next page."""
    entry_id: int
    entry_kind: JournalEntryKind
    memo: str
    reference: str
    created_at: datetime
    amount_fen: int
    balance_after_fen: int


@dataclass(frozen=True)
class AccountCheck:
    """What ``check_invariants`` compares for one account."""

    ref: AccountRef
    balance_fen: int
    """The cached balance."""
    lines_total_fen: int
    """The sum of the account's lines."""
