"""The double-entry ledger: accounts, journal entries, and their lines (DESIGN §3).

Every movement of money is one ``JournalEntry`` whose ``JournalLine`` amounts sum to zero. A line's amount is
positive when it raises the balance of its account. ``LedgerAccount.balance_fen`` caches the sum of the account's
lines and is changed only in the transaction that writes those lines (``api.ledger.service``);
``LedgerService.check_invariants()`` proves it. Rows here are never updated (but the cached balance) nor deleted.
"""

from tortoise import fields
from tortoise.models import Model

from api.models.enums import JournalEntryKind, LedgerAccountKind


class LedgerAccount(Model):
    """One account of the ledger, named by its kind and a key (a user id, partner id, provider name...)."""

    id = fields.IntField(primary_key=True)
    kind = fields.CharEnumField(LedgerAccountKind, max_length=16)
    key = fields.CharField(max_length=64)
    """Whose account of this kind: the user id for wallets, ``platform`` or the operator id for revenue, the
    provider name for clearing, the partner id, the payout channel (as a string)."""
    balance_fen = fields.BigIntField(default=0)
    """Fen; the sum of the account's lines, kept in the same transaction as they are written."""
    created_at = fields.DatetimeField()

    class Meta:
        table = "ledger_account"
        unique_together = (("kind", "key"),)


class JournalEntry(Model):
    """One movement of money: its lines sum to zero. Written once, never changed."""

    id = fields.BigIntField(primary_key=True)
    kind = fields.CharEnumField(JournalEntryKind, max_length=24)
    idempotency_key = fields.CharField(max_length=128, unique=True)
    """Derived from our own ids (e.g. ``order:123:capture``); posting the same key again changes nothing."""
    memo = fields.CharField(max_length=255, default="")
    reference = fields.CharField(max_length=64, default="")
    """What the movement belongs to, e.g. ``order:123`` or ``payout:7``."""
    created_at = fields.DatetimeField()

    class Meta:
        table = "journal_entry"
        indexes = (("reference",),)


class JournalLine(Model):
    id = fields.BigIntField(primary_key=True)
    entry: fields.ForeignKeyRelation[JournalEntry] = fields.ForeignKeyField(
        "models.JournalEntry", related_name="lines", on_delete=fields.RESTRICT
    )
    entry_id: int
    account: fields.ForeignKeyRelation[LedgerAccount] = fields.ForeignKeyField(
        "models.LedgerAccount", related_name="lines", on_delete=fields.RESTRICT
    )
    account_id: int
    amount_fen = fields.BigIntField()
    """Fen; positive when it raises the account's balance, never zero."""
    balance_after_fen = fields.BigIntField()
    """Fen; the account's balance just after this line (the running balance of its statement). Lines of one
    account are written under the account's row lock, so their ids follow the order they were applied in."""

    class Meta:
        table = "journal_line"
        indexes = (("account_id", "id"),)
