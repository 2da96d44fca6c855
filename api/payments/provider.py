"""One interface for every way money comes in: WeChat Pay, Alipay, and the sandbox (the embedded default).

The order and settlement code speaks only this protocol; each provider maps it onto its own API. Every call
carries the caller's idempotency key (out_trade_no, out_refund_no, out_order_no), so retrying is always safe.
Amounts are int fen. A provider raises ``ProviderError`` (typed, with ``retryable``) or ``BadSignature``.

Wallet (balance) payments are not a provider: they never leave our ledger.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class PaymentStatus(StrEnum):
    PENDING = "pending"
    """Created, not paid (yet)."""
    PAID = "paid"
    CLOSED = "closed"
    """Closed or expired unpaid; can no longer be paid."""


class StepStatus(StrEnum):
    PENDING = "pending"
    """Accepted by the provider, the result comes later (query or notification)."""
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    """Final: the provider says it did not and will not happen."""


class NotificationKind(StrEnum):
    PAYMENT = "payment"
    REFUND = "refund"


@dataclass(frozen=True)
class PrepayRequest:
    out_trade_no: str
    description: str
    amount_fen: int
    payer_id: str
    """Who pays, in the provider's words: the WeChat openid, or the Alipay buyer open id / user id."""
    profit_sharing: bool
    """Freeze the funds for delayed profit sharing (WeChat settle_info.profit_sharing, Alipay royalty_freeze)."""
    notify_url: str
    expires_at: datetime | None = None


@dataclass(frozen=True)
class Prepared:
    out_trade_no: str
    client_params: dict[str, str]
    """Exactly what the mini-program passes on: wx.requestPayment's five fields, or my.tradePay's tradeNO."""
    provider_ref: str = ""
    """prepay_id (WeChat) or trade_no (Alipay)."""


@dataclass(frozen=True)
class PaymentState:
    out_trade_no: str
    status: PaymentStatus
    amount_fen: int
    transaction_id: str | None = None
    """The provider's id of the paid transaction (WeChat transaction_id, Alipay trade_no)."""
    paid_at: datetime | None = None
    payer_id: str | None = None


@dataclass(frozen=True)
class RefundState:
    out_refund_no: str
    status: StepStatus
    refund_fen: int
    provider_ref: str = ""
    message: str = ""
    at: datetime | None = None


@dataclass(frozen=True)
class Receiver:
    """Where a partner receives profit sharing at one provider."""

    account_type: str
    """WeChat: MERCHANT_ID | PERSONAL_OPENID. Alipay: userId | loginName | openId."""
    account: str
    name: str = ""
    """Real name (WeChat MERCHANT_ID needs the full merchant name; Alipay loginName needs the name)."""


@dataclass(frozen=True)
class SharePart:
    receiver: Receiver
    amount_fen: int
    description: str


@dataclass(frozen=True)
class PartResult:
    account: str
    amount_fen: int
    status: StepStatus
    fail_reason: str = ""


@dataclass(frozen=True)
class ShareState:
    out_order_no: str
    status: StepStatus
    """SUCCEEDED only when every part succeeded; FAILED when any part failed for good; else PENDING."""
    parts: tuple[PartResult, ...] = ()


def overall(parts: Sequence[PartResult], *, when_empty: StepStatus = StepStatus.SUCCEEDED) -> StepStatus:
    """A share's status from its parts (the ShareState rule): FAILED if any part failed, PENDING if any is still
    pending, else SUCCEEDED. ``when_empty``: the status of a share without parts (a finish-only step)."""
    statuses = {part.status for part in parts}
    if StepStatus.FAILED in statuses:
        return StepStatus.FAILED
    if StepStatus.PENDING in statuses:
        return StepStatus.PENDING
    return StepStatus.SUCCEEDED if parts else when_empty


@dataclass(frozen=True)
class Notification:
    """A verified notification, reduced to what the order code needs; ``external_id`` makes it unique."""

    provider: str
    external_id: str
    kind: NotificationKind
    out_trade_no: str
    status: str
    """PaymentStatus for payments, StepStatus for refunds."""
    amount_fen: int
    """Paid total (payments) or refunded amount (refunds)."""
    transaction_id: str | None = None
    out_refund_no: str | None = None
    at: datetime | None = None
    raw: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class NotifyAnswer:
    status_code: int
    body: bytes
    media_type: str


class PaymentProvider(Protocol):
    name: str
    """wechatpay | alipay | sandbox"""
    max_share_bp: int
    """The most of an order's total that may go to profit sharing (both providers: 3000 by default)."""

    async def prepay(self, request: PrepayRequest) -> Prepared: ...

    async def query_payment(self, out_trade_no: str) -> PaymentState: ...

    async def close(self, out_trade_no: str) -> None: ...

    async def refund(
        self, out_trade_no: str, out_refund_no: str, refund_fen: int, total_fen: int, reason: str
    ) -> RefundState: ...

    async def query_refund(self, out_trade_no: str, out_refund_no: str) -> RefundState: ...

    async def bind_receiver(self, receiver: Receiver) -> None: ...

    async def share(
        self, transaction_id: str, out_trade_no: str, out_order_no: str, parts: tuple[SharePart, ...]
    ) -> ShareState: ...

    async def query_share(self, transaction_id: str, out_trade_no: str, out_order_no: str) -> ShareState: ...

    async def finish_sharing(self, transaction_id: str, out_trade_no: str, out_order_no: str) -> ShareState:
        """Release what was not shared to the merchant (WeChat unfreeze, Alipay royalty_finish)."""
        ...

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        """Verify and read a notification; BadSignature if it cannot be trusted."""
        ...

    def answer(self, ok: bool, message: str = "") -> NotifyAnswer:
        """What the provider expects back: success stops its retries, anything else makes it retry."""
        ...
