"""Alipay (Open Platform, mini-program JSAPI_PAY, 商家分账 with freezing) behind the PaymentProvider protocol.

A thin mapping onto ``AlipayClient`` (facts: ../shared/PAYMENTS.md section B). Decisions:

- trade_status: WAIT_BUYER_PAY is PENDING; TRADE_SUCCESS and TRADE_FINISHED are PAID. TRADE_CLOSED is CLOSED
  unless the trade was paid: a full refund also closes a trade (B3/F2), and that trade *was* paid; calling it
  CLOSED would tell the order code the driver never paid while our ledger holds the payment and the refunds.
  "Was paid" is read from the query itself: a payment time (send_pay_date) or a non-zero buyer_pay/receipt
  amount. The same trade at WeChat reports REFUND, which is PAID too, so both providers agree.
  ``transaction_id`` (the trade_no) is given only for paid trades; Alipay makes a trade_no at create already,
  ``Prepared.provider_ref`` carries that one.
- close is made re-entrant like WeChat's: Alipay refuses to close a closed trade (ACQ.TRADE_STATUS_ERROR), so
  that refusal is checked with a query: an unpaid closed trade is success, a paid one is the refusal.
- refunds are synchronous (B4): code 10000 with ``fund_change=Y`` is SUCCEEDED. ``fund_change=N`` means
  "no money moved by this call" (a retry of a done refund, or not processed yet), so the refund query decides:
  REFUND_SUCCESS is SUCCEEDED, anything else PENDING. refund query: REFUND_SUCCESS is SUCCEEDED; a refund
  amount without that status is PENDING (Alipay: a query soon after the refund may not see it done yet); no
  refund at all under that number raises ProviderError ``REFUND_NOT_EXIST``: refunding again with the same
  out_refund_no is safe (one request number refunds once).
- bind_receiver: the bind request number is derived from the receiver (type, account, name), so a retry
  repeats the same request and a changed name is a new one.
- share = ``alipay.trade.order.settle`` in sync mode (all or nothing: 10000 is SUCCEEDED for every part);
  finish_sharing = a settle call under the caller's NEW out_order_no with ``royalty_finish=true`` and no
  royalty_parameters (B5: "单独调用分账完结时，可以不传"). If Alipay refuses it, the unsettled amount decides: 0
  (already finished, auto-unfrozen after 30 days, or fully refunded) is SUCCEEDED; else the refusal stands.
- notifications: trade_status_sync forms; one carrying ``refund_fee``/``out_biz_no`` is a refund. Alipay says
  only the cumulative refund (``refund_fee``), not this refund's amount, so ``amount_fen`` of an Alipay refund
  notification is the trade's cumulative refunded amount (equal to the refund when it is the first one);
  confirm a specific refund with query_refund.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from urllib.parse import parse_qsl

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
from api.payments.providers.alipay import (
    NOTIFY_ACK,
    NOTIFY_NACK,
    AlipayClient,
    RoyaltyReceiver,
    RoyaltySplit,
    Trade,
    TradeNotification,
)
from api.payments.providers.errors import BadSignature, ProviderError

NAME = "alipay"
RECEIVER_TYPES = frozenset({"userId", "loginName", "openId"})
CLOSE_REFUSALS = frozenset({"ACQ.TRADE_STATUS_ERROR", "ACQ.TRADE_HAS_CLOSE"})
TRADE_STATES: dict[str, PaymentStatus] = {
    "WAIT_BUYER_PAY": PaymentStatus.PENDING,
    "TRADE_SUCCESS": PaymentStatus.PAID, "TRADE_FINISHED": PaymentStatus.PAID,
    "TRADE_CLOSED": PaymentStatus.CLOSED,
}
SETTLE_STATES: dict[str, StepStatus] = {
    "SUCCESS": StepStatus.SUCCEEDED, "FAIL": StepStatus.FAILED, "PROCESSING": StepStatus.PENDING,
}


class AlipayProvider:
    """PaymentProvider for Alipay. The client (and its lifetime) belongs to the caller."""

    name = NAME

    def __init__(self, client: AlipayClient, *, max_share_bp: int = 3000) -> None:
        if not 0 <= max_share_bp <= 10_000:
            raise ValueError("max_share_bp is 0..10000")
        self._client = client
        self.max_share_bp = max_share_bp

    @property
    def client(self) -> AlipayClient:
        """The Alipay client (the mini-program login shares it: same app, same keys)."""
        return self._client

    # -- payments

    async def prepay(self, request: PrepayRequest) -> Prepared:
        trade_no = await self._client.trade_create(
            request.out_trade_no, request.description, request.amount_fen, request.payer_id,
            royalty_freeze=request.profit_sharing, notify_url=request.notify_url,
            time_expire=request.expires_at)
        return Prepared(request.out_trade_no, self._client.payment_params(trade_no), provider_ref=trade_no)

    async def query_payment(self, out_trade_no: str) -> PaymentState:
        trade = await self._client.trade_query(out_trade_no)
        status = _payment_status(trade)
        return PaymentState(
            out_trade_no=out_trade_no, status=status, amount_fen=trade.total_fen,
            transaction_id=trade.trade_no if status is PaymentStatus.PAID else None, paid_at=trade.paid_at,
            payer_id=trade.buyer_open_id or trade.buyer_user_id)

    async def close(self, out_trade_no: str) -> None:
        try:
            await self._client.trade_close(out_trade_no)
        except ProviderError as refusal:
            if refusal.provider_code not in CLOSE_REFUSALS:
                raise
            try:
                state = await self.query_payment(out_trade_no)
            except ProviderError:
                raise refusal from None
            if state.status is not PaymentStatus.CLOSED:
                raise

    # -- refunds

    async def refund(
        self, out_trade_no: str, out_refund_no: str, refund_fen: int, total_fen: int, reason: str,
    ) -> RefundState:
        """Synchronous at Alipay; ``total_fen`` is not needed there. Refusals raise ProviderError."""
        refund = await self._client.trade_refund(out_trade_no, out_refund_no, refund_fen, reason or None)
        if refund.fund_change:
            return RefundState(out_refund_no, StepStatus.SUCCEEDED, refund_fen, provider_ref=refund.trade_no,
                               at=refund.refunded_at)
        try:
            return await self.query_refund(out_trade_no, out_refund_no)
        except ProviderError as error:
            if error.retryable or error.provider_code != "REFUND_NOT_EXIST":
                raise
            return RefundState(out_refund_no, StepStatus.PENDING, refund_fen, provider_ref=refund.trade_no,
                               message="fund_change=N and the refund query does not know it yet")

    async def query_refund(self, out_trade_no: str, out_refund_no: str) -> RefundState:
        found = await self._client.refund_query(out_trade_no, out_refund_no)
        if found.refund_fen is None:
            raise ProviderError(NAME, "REFUND_NOT_EXIST", f"no refund {out_refund_no!r} of {out_trade_no!r}: "
                                                          "refunding again under the same number is safe")
        if found.refund_status == "REFUND_SUCCESS":
            return RefundState(out_refund_no, StepStatus.SUCCEEDED, found.refund_fen,
                               message=found.refund_status)
        return RefundState(out_refund_no, StepStatus.PENDING, found.refund_fen,
                           message=f"refund_status={found.refund_status!r}: query again in 10 s or more")

    # -- profit sharing

    async def bind_receiver(self, receiver: Receiver) -> None:
        if receiver.account_type not in RECEIVER_TYPES:
            raise ProviderError(NAME, "INVALID_RECEIVER", "an Alipay receiver is userId, loginName or "
                                                          f"openId, not {receiver.account_type!r}")
        key = f"{receiver.account_type}\n{receiver.account}\n{receiver.name}".encode()
        out_request_no = "B" + hashlib.sha256(key).hexdigest()[:31]
        result = await self._client.royalty_relation_bind(
            [RoyaltyReceiver(receiver.account_type, receiver.account, receiver.name or None)], out_request_no)
        if result and result != "SUCCESS":
            raise ProviderError(NAME, "BIND_FAILED", f"result_code={result!r}")

    async def share(
        self, transaction_id: str, out_trade_no: str, out_order_no: str, parts: tuple[SharePart, ...],
    ) -> ShareState:
        """Sync settle: all or nothing, so code 10000 means every part arrived."""
        if not parts:
            raise ProviderError(NAME, "INVALID_REQUEST", "a share needs at least one part")
        splits = [RoyaltySplit(p.receiver.account_type, p.receiver.account, p.amount_fen, p.description)
                  for p in parts]
        await self._client.order_settle(transaction_id, out_order_no, splits, royalty_finish=False)
        return ShareState(out_order_no, StepStatus.SUCCEEDED, tuple(
            PartResult(p.receiver.account, p.amount_fen, StepStatus.SUCCEEDED) for p in parts))

    async def query_share(self, transaction_id: str, out_trade_no: str, out_order_no: str) -> ShareState:
        record = await self._client.settle_query(transaction_id, out_order_no)
        parts = []
        for detail in record.details:
            if detail.operation_type not in ("transfer", ""):
                continue  # transfer_refund / replenish*: later movements, not parts of this share
            status = SETTLE_STATES.get(detail.state)
            if status is None:
                raise ProviderError(NAME, "UNKNOWN_SETTLE_STATE", repr(detail.state))
            reason = " ".join(filter(None, (detail.error_code, detail.error_desc)))
            parts.append(PartResult(detail.trans_in or "", detail.amount_fen, status, reason))
        return ShareState(out_order_no, overall(parts), tuple(parts))

    async def finish_sharing(self, transaction_id: str, out_trade_no: str, out_order_no: str) -> ShareState:
        """B5: a settle call with ``royalty_finish=true`` and no parameters unfreezes the rest."""
        try:
            await self._client.order_settle(transaction_id, out_order_no, (), royalty_finish=True)
        except ProviderError as refusal:
            if refusal.retryable:
                raise
            try:
                unsettled_fen = await self._client.onsettle_query(transaction_id)
            except ProviderError:
                raise refusal from None
            if unsettled_fen != 0:
                raise
        return ShareState(out_order_no, StepStatus.SUCCEEDED)

    # -- notifications

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        """The urlencoded form body as posted (B3): verified by the client, then read."""
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
        except (UnicodeDecodeError, ValueError) as error:
            raise BadSignature(f"alipay notification: not a form: {error}") from error
        form = dict(pairs)
        if len(form) != len(pairs):
            raise BadSignature("alipay notification: a field is repeated")
        event = self._client.parse_notification(form)
        if event.refunded_total_fen is not None or event.out_biz_no:
            return _refund_notification(event, form)
        status = TRADE_STATES.get(event.trade_status)
        if status is None:
            raise ProviderError(NAME, "UNKNOWN_TRADE_STATUS", repr(event.trade_status))
        return Notification(
            provider=NAME, external_id=event.notify_id, kind=NotificationKind.PAYMENT,
            out_trade_no=event.out_trade_no, status=status.value, amount_fen=event.total_fen,
            transaction_id=event.trade_no,
            at=(event.paid_at if status is PaymentStatus.PAID else event.closed_at) or event.notified_at,
            raw=dict(form))

    def answer(self, ok: bool, message: str = "") -> NotifyAnswer:
        """B3: exactly ``success`` stops the resends; anything else (here ``fail``) makes Alipay resend."""
        if ok:
            return NotifyAnswer(200, NOTIFY_ACK.encode(), "text/plain")
        return NotifyAnswer(500, NOTIFY_NACK.encode(), "text/plain")


def _payment_status(trade: Trade) -> PaymentStatus:
    status = TRADE_STATES.get(trade.trade_status)
    if status is None:
        raise ProviderError(NAME, "UNKNOWN_TRADE_STATUS", repr(trade.trade_status))
    was_paid = trade.paid_at is not None or bool(trade.buyer_pay_fen) or bool(trade.receipt_fen)
    if status is PaymentStatus.CLOSED and was_paid:
        return PaymentStatus.PAID  # closed by a full refund: it was paid (see the module doc)
    return status


def _refund_notification(event: TradeNotification, form: dict[str, str]) -> Notification:
    if not event.out_biz_no or event.refunded_total_fen is None:
        raise ProviderError(NAME, "BAD_NOTIFICATION", "a refund notification without out_biz_no/refund_fee")
    return Notification(
        provider=NAME, external_id=event.notify_id, kind=NotificationKind.REFUND,
        out_trade_no=event.out_trade_no, status=StepStatus.SUCCEEDED.value,
        amount_fen=event.refunded_total_fen, transaction_id=event.trade_no, out_refund_no=event.out_biz_no,
        at=event.refunded_at or event.notified_at, raw=dict(form))
