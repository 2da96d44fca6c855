"""WeChat Pay (API v3, direct merchant) behind the PaymentProvider protocol.

A thin mapping onto ``WeChatPayClient`` (facts: ../shared/PAYMENTS.md section A). Decisions:

- trade_state: SUCCESS and REFUND are PAID (REFUND means "paid, and something was refunded since": the payment
  happened, refunds are separate facts); NOTPAY and USERPAYING are PENDING; CLOSED, REVOKED and PAYERROR are
  CLOSED. An unknown word is a ProviderError, never a guess.
- refund status: PROCESSING is PENDING, SUCCESS is SUCCEEDED, CLOSED is FAILED. **ABNORMAL is PENDING** (with
  ``message`` starting "ABNORMAL"): the money could not reach the user's account (a cancelled or frozen card),
  WeChat keeps it and still counts it against the refundable amount, and a person (merchant platform) or the
  "发起异常退款" API sends it elsewhere, after which the same refund becomes SUCCESS. It did happen and is not
  final, so FAILED would be wrong: the caller would re-issue it under a new number and refund twice once the
  abnormal one is resolved. The caller must alert on a message starting with "ABNORMAL".
- profit sharing: receivers are added with relation_type PARTNER; a share never unfreezes
  (``unfreeze_unsplit=False``); a share's state is SUCCEEDED only when every receiver's ``result`` is SUCCESS,
  FAILED as soon as one is CLOSED (its ``fail_reason`` kept), else PENDING (``state`` alone says nothing,
  A10).
- finish_sharing = ``unfreeze`` under the caller's NEW out_order_no (reusing a share's number "succeeds" and
  releases nothing, A10). If WeChat refuses it, the unsplit amount decides: 0 (already finished, all shared or
  refunded, or auto-unfrozen after 30 days) is SUCCEEDED with no parts; anything else re-raises the refusal.
- WeChat sends refund notifications only when the refund request names a notify_url; the protocol's refund()
  has none, so the provider takes ``refund_notify_url`` once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from api.payments.provider import (
    Notification,
    NotificationKind,
    NotifyAnswer,
    PartResult,
    PaymentState,
    PaymentStatus,
    Prepared,
    PrepayRequest,
    Receiver,
    RefundState,
    SharePart,
    ShareState,
    StepStatus,
    overall,
)
from api.payments.providers.errors import ProviderError
from api.payments.providers.wechatpay import (
    ProfitSharingOrder,
    Refund,
    SplitTo,
    Transaction,
    WeChatPayClient,
    notification_answer,
)

NAME = "wechatpay"
RECEIVER_TYPES = frozenset({"MERCHANT_ID", "PERSONAL_OPENID"})
UNFREEZE_DESCRIPTION = "解冻剩余资金"

TRADE_STATES: dict[str, PaymentStatus] = {
    "SUCCESS": PaymentStatus.PAID, "REFUND": PaymentStatus.PAID,
    "NOTPAY": PaymentStatus.PENDING, "USERPAYING": PaymentStatus.PENDING,
    "CLOSED": PaymentStatus.CLOSED, "REVOKED": PaymentStatus.CLOSED, "PAYERROR": PaymentStatus.CLOSED,
}
REFUND_STATES: dict[str, StepStatus] = {
    "PROCESSING": StepStatus.PENDING, "ABNORMAL": StepStatus.PENDING,
    "SUCCESS": StepStatus.SUCCEEDED, "CLOSED": StepStatus.FAILED,
}
SPLIT_RESULTS: dict[str, StepStatus] = {
    "PENDING": StepStatus.PENDING, "SUCCESS": StepStatus.SUCCEEDED, "CLOSED": StepStatus.FAILED,
}
ABNORMAL_MESSAGE = ("ABNORMAL: the refund could not reach the payer's account; resolve it on the merchant "
                    "platform (or apply-abnormal-refund), never by refunding again")


class WeChatPayProvider:
    """PaymentProvider for WeChat Pay. The client (and its lifetime) belongs to the caller."""

    name = NAME

    def __init__(
        self, client: WeChatPayClient, *, refund_notify_url: str | None = None, max_share_bp: int = 3000,
    ) -> None:
        if not 0 <= max_share_bp <= 10_000:
            raise ValueError("max_share_bp is 0..10000")
        self._client = client
        self._refund_notify_url = refund_notify_url
        self.max_share_bp = max_share_bp

    # -- payments

    async def prepay(self, request: PrepayRequest) -> Prepared:
        prepay_id = await self._client.jsapi_order(
            request.out_trade_no, request.description, request.amount_fen, request.payer_id,
            request.notify_url, profit_sharing=request.profit_sharing, time_expire=request.expires_at)
        return Prepared(request.out_trade_no, self._client.payment_params(prepay_id), provider_ref=prepay_id)

    async def query_payment(self, out_trade_no: str) -> PaymentState:
        transaction = await self._client.query_order(out_trade_no)
        if transaction.out_trade_no != out_trade_no:
            raise ProviderError(NAME, "BAD_RESPONSE", f"asked for {out_trade_no!r}, got "
                                                      f"{transaction.out_trade_no!r}")
        return PaymentState(
            out_trade_no=out_trade_no, status=_payment_status(transaction.trade_state),
            amount_fen=transaction.total_fen, transaction_id=transaction.transaction_id,
            paid_at=transaction.success_time, payer_id=transaction.payer_openid)

    async def close(self, out_trade_no: str) -> None:
        """Re-entrant at WeChat; a paid order is refused (ProviderError)."""
        await self._client.close_order(out_trade_no)

    # -- refunds

    async def refund(
        self, out_trade_no: str, out_refund_no: str, refund_fen: int, total_fen: int, reason: str,
    ) -> RefundState:
        refund = await self._client.refund(out_trade_no, out_refund_no, refund_fen, total_fen,
                                           reason=reason or None, notify_url=self._refund_notify_url)
        return _refund_state(refund, out_trade_no, out_refund_no)

    async def query_refund(self, out_trade_no: str, out_refund_no: str) -> RefundState:
        return _refund_state(await self._client.query_refund(out_refund_no), out_trade_no, out_refund_no)

    # -- profit sharing

    async def bind_receiver(self, receiver: Receiver) -> None:
        if receiver.account_type not in RECEIVER_TYPES:
            raise ProviderError(NAME, "INVALID_RECEIVER", "a WeChat receiver is MERCHANT_ID or "
                                                          f"PERSONAL_OPENID, not {receiver.account_type!r}")
        await self._client.add_receiver(receiver.account_type, receiver.account, "PARTNER",
                                        name=receiver.name or None)

    async def share(
        self, transaction_id: str, out_trade_no: str, out_order_no: str, parts: tuple[SharePart, ...],
    ) -> ShareState:
        if not parts:
            raise ProviderError(NAME, "INVALID_REQUEST", "a share needs at least one part")
        receivers = [SplitTo(p.receiver.account_type, p.receiver.account, p.amount_fen, p.description)
                     for p in parts]
        order = await self._client.profit_sharing_order(transaction_id, out_order_no, receivers,
                                                        unfreeze_unsplit=False)
        return _share_state(order)

    async def query_share(self, transaction_id: str, out_trade_no: str, out_order_no: str) -> ShareState:
        return _share_state(await self._client.query_profit_sharing(out_order_no, transaction_id))

    async def finish_sharing(self, transaction_id: str, out_trade_no: str, out_order_no: str) -> ShareState:
        """Unfreeze under a NEW out_order_no. Nothing left unsplit counts as done (SUCCEEDED, no parts)."""
        try:
            order = await self._client.unfreeze(transaction_id, out_order_no, UNFREEZE_DESCRIPTION)
        except ProviderError as refusal:
            if refusal.retryable:
                raise
            try:
                unsplit_fen = await self._client.unsplit_amount(transaction_id)
            except ProviderError:
                raise refusal from None
            if unsplit_fen != 0:
                raise
            return ShareState(out_order_no, StepStatus.SUCCEEDED)
        return _share_state(order)

    # -- notifications

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        """Verify (signature, key id, timestamp, AES-GCM), then read a payment or refund notification."""
        event = self._client.parse_notification(headers, body)
        raw: dict[str, object] = {
            "id": event.id, "event_type": event.event_type, "summary": event.summary,
            "create_time": _iso(event.create_time), "resource": _jsonable(event.resource)}
        resource = event.resource
        if isinstance(resource, Transaction):
            return Notification(
                provider=NAME, external_id=event.id, kind=NotificationKind.PAYMENT,
                out_trade_no=resource.out_trade_no, status=_payment_status(resource.trade_state).value,
                amount_fen=resource.total_fen, transaction_id=resource.transaction_id,
                at=resource.success_time or event.create_time, raw=raw)
        if isinstance(resource, Refund):
            return Notification(
                provider=NAME, external_id=event.id, kind=NotificationKind.REFUND,
                out_trade_no=resource.out_trade_no, status=_refund_status(resource.status).value,
                amount_fen=resource.refund_fen, transaction_id=resource.transaction_id,
                out_refund_no=resource.out_refund_no, at=resource.success_time or event.create_time, raw=raw)
        raise ProviderError(NAME, "UNSUPPORTED_NOTIFICATION", f"event type {event.event_type!r}")

    def answer(self, ok: bool, message: str = "") -> NotifyAnswer:
        """A5: 204 without a body stops the resends; 500 + {"code":"FAIL","message":...} makes WeChat
        resend."""
        answer = notification_answer() if ok else notification_answer(message or "失败", status=500)
        return NotifyAnswer(answer.status, answer.body, answer.media_type)


def _payment_status(trade_state: str) -> PaymentStatus:
    try:
        return TRADE_STATES[trade_state]
    except KeyError:
        raise ProviderError(NAME, "UNKNOWN_TRADE_STATE", repr(trade_state)) from None


def _refund_status(status: str) -> StepStatus:
    try:
        return REFUND_STATES[status]
    except KeyError:
        raise ProviderError(NAME, "UNKNOWN_REFUND_STATUS", repr(status)) from None


def _refund_state(refund: Refund, out_trade_no: str, out_refund_no: str) -> RefundState:
    if refund.out_refund_no != out_refund_no or refund.out_trade_no != out_trade_no:
        raise ProviderError(NAME, "REFUND_MISMATCH", f"refund {refund.out_refund_no!r} of "
                                                     f"{refund.out_trade_no!r}, asked {out_refund_no!r} of "
                                                     f"{out_trade_no!r}")
    message = ABNORMAL_MESSAGE if refund.status == "ABNORMAL" else refund.status
    return RefundState(out_refund_no, _refund_status(refund.status), refund.refund_fen,
                       provider_ref=refund.refund_id, message=message,
                       at=refund.success_time or refund.create_time)


def _share_state(order: ProfitSharingOrder) -> ShareState:
    parts = []
    for receiver in order.receivers:
        status = SPLIT_RESULTS.get(receiver.result)
        if status is None:
            raise ProviderError(NAME, "UNKNOWN_SPLIT_RESULT", repr(receiver.result))
        parts.append(PartResult(receiver.account, receiver.amount_fen, status, receiver.fail_reason or ""))
    finished = StepStatus.SUCCEEDED if order.state == "FINISHED" else StepStatus.PENDING
    return ShareState(order.out_order_no, overall(parts, when_empty=finished), tuple(parts))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _jsonable(value: Any) -> Any:
    """A typed resource as plain JSON values (the inbox stores ``raw`` as JSON)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value
