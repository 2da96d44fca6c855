"""Expected failures of the ledger.

    DomainError
    └── LedgerError                   LEDGER_ERROR
        ├── InvalidEntry              INVALID_ENTRY
        │   └── UnbalancedEntry       UNBALANCED_ENTRY
        ├── InsufficientFunds         INSUFFICIENT_FUNDS
        └── IdempotencyConflict       IDEMPOTENCY_CONFLICT

A failed post writes nothing (accounts named for the first time may stay, empty).
"""

from __future__ import annotations

from api.core.errors import DomainError
from api.ledger.dto import AccountRef


class LedgerError(DomainError):
    code = "LEDGER_ERROR"


class InvalidEntry(LedgerError):
    """Malformed: no lines, a zero or oversized amount, one account only, an unknown kind, a bad key..."""

    code = "INVALID_ENTRY"


class UnbalancedEntry(InvalidEntry):
    """The lines do not sum to zero."""

    code = "UNBALANCED_ENTRY"


class InsufficientFunds(LedgerError):
    """An account that may not go below zero holds less than the entry takes from it."""

    code = "INSUFFICIENT_FUNDS"

    def __init__(self, account: AccountRef, needed_fen: int) -> None:
        super().__init__(f"{account} holds less than the {needed_fen} fen this entry takes from it")
        self.account = account
        self.needed_fen = needed_fen


class IdempotencyConflict(LedgerError):
    """The idempotency key was used before for another movement (another kind or other lines)."""

    code = "IDEMPOTENCY_CONFLICT"

    def __init__(self, idempotency_key: str, entry_id: int) -> None:
        super().__init__(f"the key {idempotency_key!r} was used by entry {entry_id} for another movement")
        self.idempotency_key = idempotency_key
        self.entry_id = entry_id
