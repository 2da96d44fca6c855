"""The sandbox: an embedded PaymentProvider so ``serve --demo`` takes whole orders through without merchant
accounts. **No real money moves**: every id it makes starts with ``SANDBOX``, its client_params carry
``"sandbox": "1"`` and its notifications ``"sandbox": true``.

It behaves like the real providers where the order code can tell: payment is confirmed by a signed, retried
notification to the order's notify_url (never by the "front end"), and it refuses what WeChat Pay and Alipay
refuse: refunds above the refundable amount or against another total, closing a paid order, sharing with an
unbound receiver, sharing more than ``max_share_bp`` of the total over all shares of an order, sharing after
the finish, reusing an idempotency key for something else. Refunds, shares and finishes succeed at once.

State is in memory and is lost on restart. That is acceptable here because nothing real is owed: a demo order
whose sandbox state is gone simply cannot be paid or refunded any more (its queries raise ORDER_NOT_EXIST) and
stays in the demo database as it was; a real deployment never uses the sandbox. Persisting it would make the
sandbox a second ledger to migrate and keep consistent, for play money.

Notifications (POST, JSON)::

    {"id": "SANDBOX-EV-<32 hex>", "sandbox": true, "kind": "payment" | "refund", "out_trade_no": "...",
     "status": "paid" | "succeeded" | ..., "amount_fen": 1000, "transaction_id": "SANDBOX...",
     "out_refund_no": null | "...", "at": "<RFC 3339, UTC>"}

    X-Sandbox-Timestamp: <unix seconds>
    X-Sandbox-Signature: hex(HMAC-SHA256(secret_key, "<timestamp>\\n" + body))

The signature covers the timestamp as well as the body, so a captured notification cannot be replayed later
under a fresh timestamp; ``parse_notification`` refuses a timestamp 5 minutes or more away from its clock.
Every delivery attempt is signed anew (a retry minutes later still verifies) and keeps the same ``id`` (the
inbox's idempotency key). An answer other than 2xx (or none) is retried after ``retry_delays_s``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

from api.core.clock import Clock, as_utc
from api.core.money import share_of
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
)
from api.payments.providers.errors import BadSignature, ProviderError

NAME = "sandbox"
TIMESTAMP_HEADER = "X-Sandbox-Timestamp"
SIGNATURE_HEADER = "X-Sandbox-Signature"
TOLERANCE_S = 300
DEFAULT_RETRY_DELAYS_S = (0.5, 2.0, 5.0, 15.0)


def sign(secret_key: bytes, timestamp: int, body: bytes) -> str:
    """The sandbox notification signature: hex HMAC-SHA256 over ``"<timestamp>\\n" + body``."""
    return hmac.new(secret_key, f"{timestamp}\n".encode() + body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class DeliveryAttempt:
    notification_id: str
    url: str
    attempt: int
    status_code: int | None
    error: str | None = None


@dataclass
class _Order:
    request: PrepayRequest
    prepay_id: str
    status: PaymentStatus = PaymentStatus.PENDING
    transaction_id: str | None = None
    paid_at: datetime | None = None
    refunds: dict[str, RefundState] = field(default_factory=dict)
    shared_fen: int = 0
    finished: bool = False

    @property
    def refunded_fen(self) -> int:
        return sum(refund.refund_fen for refund in self.refunds.values())


@dataclass(frozen=True)
class _Sharing:
    out_trade_no: str
    kind: str
    """"share" or "finish"."""
    parts: tuple[tuple[str, str, int], ...]
    state: ShareState


class SandboxProvider:
    """PaymentProvider with play money, kept in memory. ``pay`` is what the demo pay page calls."""

    name = NAME

    def __init__(
        self, secret_key: bytes, clock: Clock, *, transport: httpx.AsyncBaseTransport | None = None,
        max_share_bp: int = 3000, retry_delays_s: Sequence[float] = DEFAULT_RETRY_DELAYS_S,
    ) -> None:
        if len(secret_key) < 16:
            raise ValueError("the sandbox secret key needs at least 16 bytes")
        if not 0 <= max_share_bp <= 10_000:
            raise ValueError("max_share_bp is 0..10000")
        self._key, self._clock, self._transport = secret_key, clock, transport
        self.max_share_bp = max_share_bp
        self.retry_delays_s = tuple(retry_delays_s)
        self.attempts: list[DeliveryAttempt] = []
        """Every delivery attempt of every notification, in order."""
        self._orders: dict[str, _Order] = {}
        self._sharings: dict[str, _Sharing] = {}
        self._receivers: set[tuple[str, str]] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._http: httpx.AsyncClient | None = None

    async def aclose(self) -> None:
        """Stop pending deliveries and close the HTTP client."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def idle(self) -> None:
        """Wait until every notification was taken or has used up its retries."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # -- payments

    async def prepay(self, request: PrepayRequest) -> Prepared:
        if not request.out_trade_no or type(request.amount_fen) is not int or request.amount_fen < 1:
            raise _refuse("PARAM_ERROR", "out_trade_no is required and amount_fen is at least 1")
        order = self._orders.get(request.out_trade_no)
        if order is not None:
            self._expire(order)
            if order.status is PaymentStatus.PAID:
                raise _refuse("ORDER_PAID", "this order is paid already")
            if order.status is PaymentStatus.CLOSED:
                raise _refuse("ORDER_CLOSED", "this order is closed")
            if order.request != request:
                raise _refuse("INVALID_REQUEST", "the same out_trade_no with other parameters")
        else:
            order = _Order(request, f"SANDBOX-PREPAY-{secrets.token_hex(8)}")
            self._orders[request.out_trade_no] = order
        no = request.out_trade_no
        params = {"sandbox": "1", "out_trade_no": no, "payUrl": f"/sandbox/pay/{quote(no, safe='')}"}
        return Prepared(no, params, provider_ref=order.prepay_id)

    async def pay(self, out_trade_no: str) -> PaymentState:
        """The payer pays (play money): the order is PAID and a payment notification is sent in the
        background to its notify_url. Paying a paid order again changes nothing and sends nothing."""
        order = self._order(out_trade_no)
        if order.status is PaymentStatus.CLOSED:
            raise _refuse("ORDER_CLOSED", "this order is closed and cannot be paid")
        if order.status is PaymentStatus.PENDING:
            now = as_utc(self._clock.now())
            order.status, order.paid_at = PaymentStatus.PAID, now
            order.transaction_id = f"SANDBOX{now:%Y%m%d}{secrets.randbelow(10**16):016d}"
            self._notify(order.request.notify_url, {
                "kind": NotificationKind.PAYMENT.value, "out_trade_no": out_trade_no,
                "status": PaymentStatus.PAID.value, "amount_fen": order.request.amount_fen,
                "transaction_id": order.transaction_id, "out_refund_no": None, "at": now.isoformat()})
        return self._state(order)

    async def query_payment(self, out_trade_no: str) -> PaymentState:
        return self._state(self._order(out_trade_no))

    async def close(self, out_trade_no: str) -> None:
        """Re-entrant; a paid order is refused, as at WeChat Pay and Alipay."""
        order = self._order(out_trade_no)
        if order.status is PaymentStatus.PAID:
            raise _refuse("ORDER_PAID", "a paid order cannot be closed")
        order.status = PaymentStatus.CLOSED

    # -- refunds

    async def refund(
        self, out_trade_no: str, out_refund_no: str, refund_fen: int, total_fen: int, reason: str,
    ) -> RefundState:
        order = self._order(out_trade_no)
        if (done := self._refund_of(out_refund_no)) is not None:
            if done[0] is not order:
                raise _refuse("INVALID_REQUEST", "this out_refund_no belongs to another order")
            return done[1]  # one number is one refund
        if order.status is not PaymentStatus.PAID or order.transaction_id is None:
            raise _refuse("ORDER_NOT_PAID", "only a paid order can be refunded")
        if total_fen != order.request.amount_fen:
            raise _refuse("INVALID_REQUEST", f"total_fen {total_fen} is not the order's total "
                                             f"{order.request.amount_fen}")
        if type(refund_fen) is not int or refund_fen < 1 or not out_refund_no:
            raise _refuse("PARAM_ERROR", "out_refund_no is required and refund_fen is at least 1")
        refundable_fen = order.request.amount_fen - order.refunded_fen
        if refund_fen > refundable_fen:
            raise _refuse("REFUND_EXCEEDS_REFUNDABLE", f"{refund_fen} asked, {refundable_fen} refundable")
        now = as_utc(self._clock.now())
        state = RefundState(out_refund_no, StepStatus.SUCCEEDED, refund_fen,
                            provider_ref=f"SANDBOX-REFUND-{secrets.token_hex(8)}", at=now)
        order.refunds[out_refund_no] = state
        self._notify(order.request.notify_url, {
            "kind": NotificationKind.REFUND.value, "out_trade_no": out_trade_no,
            "status": StepStatus.SUCCEEDED.value, "amount_fen": refund_fen,
            "transaction_id": order.transaction_id, "out_refund_no": out_refund_no, "at": now.isoformat()})
        return state

    async def query_refund(self, out_trade_no: str, out_refund_no: str) -> RefundState:
        done = self._refund_of(out_refund_no)
        if done is None or done[0].request.out_trade_no != out_trade_no:
            raise _refuse("RESOURCE_NOT_EXISTS", f"no refund {out_refund_no!r} of {out_trade_no!r}")
        return done[1]

    # -- profit sharing

    async def bind_receiver(self, receiver: Receiver) -> None:
        if not receiver.account_type or not receiver.account:
            raise _refuse("INVALID_RECEIVER", "a receiver needs an account type and an account")
        self._receivers.add((receiver.account_type, receiver.account))

    async def share(
        self, transaction_id: str, out_trade_no: str, out_order_no: str, parts: tuple[SharePart, ...],
    ) -> ShareState:
        order = self._paid(transaction_id, out_trade_no)
        wanted = tuple((p.receiver.account_type, p.receiver.account, p.amount_fen) for p in parts)
        if (earlier := self._sharings.get(out_order_no)) is not None:
            if earlier.kind != "share" or earlier.out_trade_no != out_trade_no or earlier.parts != wanted:
                raise _refuse("INVALID_REQUEST", "this out_order_no was used for another request")
            return earlier.state  # the same number with the same content is the same share
        if not order.request.profit_sharing:
            raise _refuse("NOT_PROFIT_SHARING_ORDER", "the order was not placed for profit sharing")
        if order.finished:
            raise _refuse("SHARING_FINISHED", "sharing of this order is finished")
        if not parts or len({(kind, account) for kind, account, _ in wanted}) != len(wanted):
            raise _refuse("INVALID_REQUEST", "a share needs one or more parts, each receiver once")
        for kind, account, amount_fen in wanted:
            if (kind, account) not in self._receivers:
                raise _refuse("RECEIVER_NOT_BOUND", f"{kind} {account} is not bound")
            if type(amount_fen) is not int or amount_fen < 1:
                raise _refuse("PARAM_ERROR", "every part is at least 1 fen")
        asked_fen = sum(amount for _, _, amount in wanted)
        cap_fen = share_of(order.request.amount_fen, self.max_share_bp)
        if order.shared_fen + asked_fen > cap_fen:
            raise _refuse("EXCEEDS_MAX_SHARE", f"{order.shared_fen} shared + {asked_fen} asked > {cap_fen} "
                                               f"({self.max_share_bp} bp of the total)")
        unsplit_fen = order.request.amount_fen - order.refunded_fen - order.shared_fen
        if asked_fen > unsplit_fen:
            raise _refuse("NOT_ENOUGH_UNSPLIT", f"{asked_fen} asked, {unsplit_fen} left after refunds")
        order.shared_fen += asked_fen
        state = ShareState(out_order_no, StepStatus.SUCCEEDED, tuple(
            PartResult(account, amount, StepStatus.SUCCEEDED) for _, account, amount in wanted))
        self._sharings[out_order_no] = _Sharing(out_trade_no, "share", wanted, state)
        return state

    async def query_share(self, transaction_id: str, out_trade_no: str, out_order_no: str) -> ShareState:
        sharing = self._sharings.get(out_order_no)
        order = self._orders.get(out_trade_no)
        if sharing is None or sharing.out_trade_no != out_trade_no or order is None \
                or order.transaction_id != transaction_id:
            raise _refuse("RESOURCE_NOT_EXISTS", f"no share {out_order_no!r} of {out_trade_no!r}")
        return sharing.state

    async def finish_sharing(self, transaction_id: str, out_trade_no: str, out_order_no: str) -> ShareState:
        """Release the rest under a NEW out_order_no; a finished order is finished (SUCCEEDED)."""
        order = self._paid(transaction_id, out_trade_no)
        if (earlier := self._sharings.get(out_order_no)) is not None:
            if earlier.kind != "finish" or earlier.out_trade_no != out_trade_no:
                raise _refuse("INVALID_REQUEST", "the finish needs a new out_order_no, not a share's")
            return earlier.state
        if not order.request.profit_sharing:
            raise _refuse("NOT_PROFIT_SHARING_ORDER", "the order was not placed for profit sharing")
        order.finished = True
        state = ShareState(out_order_no, StepStatus.SUCCEEDED)
        self._sharings[out_order_no] = _Sharing(out_trade_no, "finish", (), state)
        return state

    # -- notifications

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        h = {key.lower(): value for key, value in headers.items()}
        timestamp, signature = h.get(TIMESTAMP_HEADER.lower(), ""), h.get(SIGNATURE_HEADER.lower(), "")
        if not timestamp.isdigit() or not signature:
            raise BadSignature("sandbox notification: missing timestamp or signature")
        if abs(int(as_utc(self._clock.now()).timestamp()) - int(timestamp)) >= TOLERANCE_S:
            raise BadSignature(f"sandbox notification: the timestamp {timestamp} is outside 5 minutes")
        if not hmac.compare_digest(sign(self._key, int(timestamp), body), signature):
            raise BadSignature("sandbox notification: the signature does not verify")
        try:
            data = json.loads(body)
            if data.get("sandbox") is not True:
                raise ValueError("not a sandbox notification")
            kind = NotificationKind(data["kind"])
            status = (PaymentStatus(data["status"]) if kind is NotificationKind.PAYMENT
                      else StepStatus(data["status"]))
            amount_fen = data["amount_fen"]
            if type(amount_fen) is not int:
                raise ValueError("amount_fen is not an int")
            return Notification(
                provider=NAME, external_id=str(data["id"]), kind=kind, out_trade_no=str(data["out_trade_no"]),
                status=status.value, amount_fen=amount_fen, transaction_id=data.get("transaction_id"),
                out_refund_no=data.get("out_refund_no"),
                at=as_utc(datetime.fromisoformat(data["at"])) if data.get("at") else None, raw=data)
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise BadSignature(f"sandbox notification: malformed: {error!r}") from error

    def answer(self, ok: bool, message: str = "") -> NotifyAnswer:
        """Any 2xx stops the resends: 204 when taken, 500 + {"code":"FAIL",...} to be asked again."""
        if ok:
            return NotifyAnswer(204, b"", "application/json")
        body = json.dumps({"code": "FAIL", "message": message or "failed"}, ensure_ascii=False).encode()
        return NotifyAnswer(500, body, "application/json")

    # -- inside

    def _order(self, out_trade_no: str) -> _Order:
        order = self._orders.get(out_trade_no)
        if order is None:
            raise _refuse("ORDER_NOT_EXIST", f"no sandbox order {out_trade_no!r} (sandbox state is in memory "
                                             "and lost on restart)")
        self._expire(order)
        return order

    def _expire(self, order: _Order) -> None:
        expires_at = order.request.expires_at
        if order.status is PaymentStatus.PENDING and expires_at is not None \
                and as_utc(self._clock.now()) >= as_utc(expires_at):
            order.status = PaymentStatus.CLOSED

    def _paid(self, transaction_id: str, out_trade_no: str) -> _Order:
        order = self._order(out_trade_no)
        if order.status is not PaymentStatus.PAID or order.transaction_id != transaction_id:
            raise _refuse("RESOURCE_NOT_EXISTS",
                          f"no paid transaction {transaction_id!r} of {out_trade_no!r}")
        return order

    def _refund_of(self, out_refund_no: str) -> tuple[_Order, RefundState] | None:
        for order in self._orders.values():
            if out_refund_no in order.refunds:
                return order, order.refunds[out_refund_no]
        return None

    @staticmethod
    def _state(order: _Order) -> PaymentState:
        return PaymentState(
            out_trade_no=order.request.out_trade_no, status=order.status, amount_fen=order.request.amount_fen,
            transaction_id=order.transaction_id, paid_at=order.paid_at,
            payer_id=order.request.payer_id if order.status is PaymentStatus.PAID else None)

    def _notify(self, url: str, fields: dict[str, Any]) -> None:
        body = json.dumps({"id": f"SANDBOX-EV-{uuid.uuid4().hex}", "sandbox": True, **fields},
                          ensure_ascii=False, separators=(",", ":")).encode()
        task = asyncio.get_running_loop().create_task(self._deliver(url, body))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, url: str, body: bytes) -> None:
        notification_id = json.loads(body)["id"]
        if self._http is None:
            self._http = httpx.AsyncClient(transport=self._transport, timeout=5, trust_env=False)
        for attempt, delay_s in enumerate((0.0, *self.retry_delays_s), start=1):
            await asyncio.sleep(delay_s)
            timestamp = int(as_utc(self._clock.now()).timestamp())
            headers = {"Content-Type": "application/json", "User-Agent": "chargeops-sandbox/1",
                       TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(self._key, timestamp, body)}
            try:
                response = await self._http.post(url, content=body, headers=headers)
            except httpx.HTTPError as error:
                self.attempts.append(DeliveryAttempt(notification_id, url, attempt, None, repr(error)))
                continue
            self.attempts.append(DeliveryAttempt(notification_id, url, attempt, response.status_code))
            if response.is_success:
                return


def _refuse(code: str, message: str) -> ProviderError:
    return ProviderError(NAME, code, message)

