"""Alipay Open Platform client (public-key mode): RSA2 signing, verifying answers and notifications, calls.

Facts come from ../shared/PAYMENTS.md section B (gateway protocol B1, mini-program payment B2, notifications
B3, refunds B4, 商家分账 with freezing B5, idempotency keys B6) and D2 (login). Money is int fen everywhere;
the yuan strings Alipay speaks ("12.34") exist only inside this module. Every call carries the caller's
idempotency key (out_trade_no, out_request_no, out_biz_no): the same call may be sent again after a failure.
"""

from __future__ import annotations

import base64
import functools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from api.core.clock import SHANGHAI, Clock, as_utc, to_shanghai
from api.payments.providers.errors import BadSignature, ProviderError

PROVIDER = "alipay"
SUCCESS_CODE = "10000"
NOTIFY_ACK = "success"
"""The exact body Alipay expects once a notification is taken (B3); anything else makes it resend."""
NOTIFY_NACK = "fail"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
"""Alipay's wall-clock format, always Asia/Shanghai."""
_RETRYABLE_SUB_CODES = frozenset({"ACQ.SYSTEM_ERROR", "aop.ACQ.SYSTEM_ERROR"})
_YUAN = re.compile(r"(0|[1-9][0-9]*)(?:\.([0-9]{1,2}))?")


# --- money at the edge --------------------------------------------------------------------------------------

def fen_to_yuan(amount_fen: int) -> str:
    """12345 -> "123.45": Alipay's amount strings, exact (integer arithmetic only)."""
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen < 0:
        raise ValueError(f"an amount in fen is a non-negative int, not {amount_fen!r}")
    return f"{amount_fen // 100}.{amount_fen % 100:02d}"


def yuan_to_fen(text: str) -> int:
    """"123.45" -> 12345; "12.3" and "12" are accepted, anything with more than two decimals is refused."""
    match = _YUAN.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"not an amount in yuan: {text!r}")
    whole, cents = match.groups()
    return int(whole) * 100 + int((cents or "").ljust(2, "0"))


# --- signing (B1, B3) ---------------------------------------------------------------------------------------

def request_sign_content(params: Mapping[str, str]) -> str:
    """B1: every param but ``sign`` with a non-empty value (``sign_type`` included), sorted, raw values."""
    return "&".join(f"{key}={value}" for key, value in sorted(params.items()) if key != "sign" and value)


def notification_sign_content(form: Mapping[str, str]) -> str:
    """B3: every field but ``sign`` and ``sign_type``, decoded values, sorted; empty values are kept."""
    return "&".join(f"{key}={form[key]}" for key in sorted(form) if key not in {"sign", "sign_type"})


@functools.lru_cache(maxsize=32)
def _load_key(text: str, private: bool) -> Any:
    """PEM, or the bare base64 DER that Alipay's key tool prints (PKCS#1 or PKCS#8 / SubjectPublicKeyInfo).
    Cached: loading a private key checks it, which costs tens of milliseconds."""
    data = text.strip().encode()
    if private:
        key = (serialization.load_pem_private_key(data, None) if data.startswith(b"-----")
               else serialization.load_der_private_key(base64.b64decode(data), None))
        expected: type = rsa.RSAPrivateKey
    else:
        key = (serialization.load_pem_public_key(data) if data.startswith(b"-----")
               else serialization.load_der_public_key(base64.b64decode(data)))
        expected = rsa.RSAPublicKey
    if not isinstance(key, expected):
        raise ValueError("Alipay RSA2 needs an RSA key")
    return key


def rsa2_sign(key: rsa.RSAPrivateKey, content: str, charset: str = "utf-8") -> str:
    return base64.b64encode(key.sign(content.encode(charset), padding.PKCS1v15(), hashes.SHA256())).decode()


def rsa2_verify(key: rsa.RSAPublicKey, content: str, sign: str, charset: str = "utf-8") -> bool:
    try:
        signature = base64.b64decode(sign, validate=True)
        key.verify(signature, content.encode(charset), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError, LookupError):
        return False
    return True


def raw_members(body: str) -> dict[str, str]:
    """The exact text of each top-level member's value of a JSON object, as it stands in ``body``.
    Alipay signs the text of the ``..._response`` node, so it is cut out, never re-serialised."""
    decoder = json.JSONDecoder()
    members: dict[str, str] = {}
    at = _skip_ws(body, 0)
    if body[at:at + 1] != "{":
        raise ValueError("not a JSON object")
    at = _skip_ws(body, at + 1)
    if body[at:at + 1] == "}":
        return members
    while True:
        key, at = decoder.raw_decode(body, at)
        at = _skip_ws(body, at)
        if not isinstance(key, str) or body[at:at + 1] != ":":
            raise ValueError("malformed member")
        start = _skip_ws(body, at + 1)
        _, end = decoder.raw_decode(body, start)
        members[key] = body[start:end]
        at = _skip_ws(body, end)
        if body[at:at + 1] == "}":
            return members
        if body[at:at + 1] != ",":
            raise ValueError("malformed object")
        at = _skip_ws(body, at + 1)


def _skip_ws(text: str, at: int) -> int:
    while at < len(text) and text[at] in " \t\n\r":
        at += 1
    return at


def _time(text: str | None) -> datetime | None:
    """An Alipay wall-clock time (Asia/Shanghai) as an aware UTC datetime."""
    return as_utc(datetime.strptime(text, TIME_FORMAT).replace(tzinfo=SHANGHAI)) if text else None


def _fen(text: str | None) -> int | None:
    try:
        return yuan_to_fen(text) if text is not None else None
    except ValueError as error:
        raise ProviderError(PROVIDER, "BAD_AMOUNT", str(error)) from error


# --- what the calls return ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class AlipayConfig:
    app_id: str
    """The mini-program's appid; also sent as ``op_app_id`` of JSAPI_PAY trades."""
    app_private_key_pem: str
    alipay_public_key_pem: str
    seller_id: str
    """The merchant's PID (2088…); notifications must name it when they name a seller."""
    gateway_url: str = "https://openapi.alipay.com/gateway.do"
    notify_url: str | None = None


@dataclass(frozen=True)
class Trade:
    out_trade_no: str
    trade_no: str
    trade_status: str
    """WAIT_BUYER_PAY, TRADE_CLOSED, TRADE_SUCCESS or TRADE_FINISHED."""
    total_fen: int
    receipt_fen: int | None
    buyer_pay_fen: int | None
    buyer_open_id: str | None
    buyer_user_id: str | None
    paid_at: datetime | None


@dataclass(frozen=True)
class Refund:
    out_trade_no: str
    trade_no: str
    fund_change: bool
    """Whether this call moved money; False when the out_request_no was already refunded (B4)."""
    refunded_total_fen: int
    """``refund_fee``: everything refunded on the trade so far."""
    refunded_at: datetime | None


@dataclass(frozen=True)
class RefundQuery:
    out_trade_no: str
    out_request_no: str
    refund_fen: int | None
    """None when Alipay knows no refund under this out_request_no."""
    total_fen: int | None
    refund_status: str | None


@dataclass(frozen=True)
class RoyaltyReceiver:
    type: str
    """userId, loginName or openId."""
    account: str
    name: str | None = None
    memo: str | None = None


class RoyaltySplit(NamedTuple):
    trans_in_type: str
    trans_in: str
    amount_fen: int
    desc: str


@dataclass(frozen=True)
class Settlement:
    trade_no: str
    settle_no: str


@dataclass(frozen=True)
class RoyaltyDetail:
    operation_type: str
    state: str
    """SUCCESS, FAIL or PROCESSING."""
    amount_fen: int
    trans_in: str | None
    trans_out: str | None
    detail_id: str | None
    error_code: str | None
    error_desc: str | None


@dataclass(frozen=True)
class SettleRecord:
    out_request_no: str
    operated_at: datetime | None
    details: tuple[RoyaltyDetail, ...]


@dataclass(frozen=True)
class Transfer:
    out_biz_no: str
    order_id: str
    pay_fund_order_id: str | None
    status: str
    transferred_at: datetime | None


@dataclass(frozen=True)
class OAuthToken:
    user_id: str | None
    open_id: str | None
    union_id: str | None
    access_token: str
    expires_in_s: int
    refresh_token: str | None
    re_expires_in_s: int | None
    auth_start: datetime | None


@dataclass(frozen=True)
class TradeNotification:
    notify_id: str
    notify_type: str
    notified_at: datetime | None
    trade_no: str
    out_trade_no: str
    trade_status: str
    total_fen: int
    receipt_fen: int | None
    buyer_pay_fen: int | None
    refunded_total_fen: int | None
    """``refund_fee`` of a refund notification; ``out_biz_no`` names the refund request."""
    out_biz_no: str | None
    buyer_open_id: str | None
    buyer_id: str | None
    seller_id: str | None
    paid_at: datetime | None
    refunded_at: datetime | None
    closed_at: datetime | None
    passback_params: str | None


# --- the client ---------------------------------------------------------------------------------------------

class AlipayClient:
    """One app's calls to the Alipay gateway. Raises ProviderError for refusals and transport trouble, and
    BadSignature for any answer whose signature does not verify (its content is then unknown: query again)."""

    def __init__(
        self, config: AlipayConfig, clock: Clock, transport: httpx.AsyncBaseTransport | None = None,
        timeout_s: float = 10,
    ) -> None:
        self._config = config
        self._clock = clock
        self._app_key: rsa.RSAPrivateKey = _load_key(config.app_private_key_pem, private=True)
        self._alipay_key: rsa.RSAPublicKey = _load_key(config.alipay_public_key_pem, private=False)
        self._http = httpx.AsyncClient(transport=transport, timeout=timeout_s)

    async def __aenter__(self) -> AlipayClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def call(
        self, method: str, biz: Mapping[str, Any] | None = None, *,
        text_params: Mapping[str, str] | None = None, notify_url: str | None = None,
    ) -> dict[str, Any]:
        """One signed gateway call (B1). Returns the verified node of a code-10000 answer."""
        protocol = {
            "app_id": self._config.app_id, "method": method, "format": "JSON", "charset": "utf-8",
            "sign_type": "RSA2", "timestamp": to_shanghai(self._clock.now()).strftime(TIME_FORMAT),
            "version": "1.0", **({"notify_url": notify_url} if notify_url else {}),
        }
        body = dict(text_params or {})
        if biz is not None:
            body["biz_content"] = json.dumps(biz, ensure_ascii=False, separators=(",", ":"))
        protocol["sign"] = rsa2_sign(self._app_key, request_sign_content({**protocol, **body}))
        try:
            response = await self._http.post(self._config.gateway_url, params=protocol, data=body)
        except httpx.RequestError as error:
            raise ProviderError(PROVIDER, "NETWORK", f"{method}: {error!r}", retryable=True) from error
        if response.status_code != 200:
            raise ProviderError(
                PROVIDER, f"HTTP_{response.status_code}", f"{method}: {response.text[:200]}",
                http_status=response.status_code, retryable=response.status_code >= 500,
            )
        node = self._verified_node(method, response.content)
        code = str(node.get("code", ""))
        if code != SUCCESS_CODE:
            sub_code = str(node.get("sub_code") or "")
            message = str(node.get("sub_msg") or node.get("msg") or "")
            retryable = code == "20000" or sub_code in _RETRYABLE_SUB_CODES
            raise ProviderError(PROVIDER, sub_code or code, message, http_status=200, retryable=retryable)
        return node

    def _verified_node(self, method: str, content: bytes) -> dict[str, Any]:
        try:
            members = raw_members(content.decode("utf-8"))
        except ValueError as error:
            raise BadSignature(f"alipay {method}: the answer is no signed JSON object") from error
        raw = members.get(method.replace(".", "_") + "_response") or members.get("error_response")
        if raw is None:
            raise BadSignature(f"alipay {method}: the answer has no response node")
        sign = json.loads(members.get("sign", "null"))
        if not isinstance(sign, str) or not rsa2_verify(self._alipay_key, raw, sign):
            raise BadSignature(f"alipay {method}: the signature does not verify: {raw[:200]}")
        node = json.loads(raw)
        if not isinstance(node, dict):
            raise BadSignature(f"alipay {method}: the response node is no object")
        return node

    # trades (B2, B4)

    async def trade_create(
        self, out_trade_no: str, subject: str, total_fen: int, buyer_open_id: str, royalty_freeze: bool,
        notify_url: str | None = None, time_expire: datetime | None = None,
    ) -> str:
        """A mini-program trade (JSAPI_PAY); returns the trade_no that ``my.tradePay`` needs."""
        biz: dict[str, Any] = {
            "out_trade_no": out_trade_no, "total_amount": fen_to_yuan(total_fen), "subject": subject,
            "product_code": "JSAPI_PAY", "op_app_id": self._config.app_id, "buyer_open_id": buyer_open_id,
        }
        if royalty_freeze:
            biz["extend_params"] = {"royalty_freeze": "true"}
        if time_expire is not None:
            biz["time_expire"] = to_shanghai(time_expire).strftime(TIME_FORMAT)
        node = await self.call("alipay.trade.create", biz, notify_url=notify_url or self._config.notify_url)
        _expect(node, "out_trade_no", out_trade_no)
        return str(node["trade_no"])

    @staticmethod
    def payment_params(trade_no: str) -> dict[str, str]:
        """What the mini-program passes to ``my.tradePay`` (capital NO, B2)."""
        return {"tradeNO": trade_no}

    async def trade_query(self, out_trade_no: str) -> Trade:
        node = await self.call("alipay.trade.query", {"out_trade_no": out_trade_no})
        _expect(node, "out_trade_no", out_trade_no)
        return Trade(
            out_trade_no=out_trade_no, trade_no=node["trade_no"], trade_status=node["trade_status"],
            total_fen=yuan_to_fen(node["total_amount"]), receipt_fen=_fen(node.get("receipt_amount")),
            buyer_pay_fen=_fen(node.get("buyer_pay_amount")), buyer_open_id=node.get("buyer_open_id"),
            buyer_user_id=node.get("buyer_user_id"), paid_at=_time(node.get("send_pay_date")),
        )

    async def trade_close(self, out_trade_no: str) -> None:
        node = await self.call("alipay.trade.close", {"out_trade_no": out_trade_no})
        _expect(node, "out_trade_no", out_trade_no)

    async def trade_refund(
        self, out_trade_no: str, out_request_no: str, refund_fen: int, reason: str | None = None,
    ) -> Refund:
        biz = {
            "out_trade_no": out_trade_no, "out_request_no": out_request_no,
            "refund_amount": fen_to_yuan(refund_fen),
        }
        if reason:
            biz["refund_reason"] = reason
        node = await self.call("alipay.trade.refund", biz)
        _expect(node, "out_trade_no", out_trade_no)
        return Refund(
            out_trade_no=out_trade_no, trade_no=node["trade_no"], fund_change=node.get("fund_change") == "Y",
            refunded_total_fen=yuan_to_fen(node["refund_fee"]), refunded_at=_time(node.get("gmt_refund_pay")),
        )

    async def refund_query(self, out_trade_no: str, out_request_no: str) -> RefundQuery:
        biz = {"out_trade_no": out_trade_no, "out_request_no": out_request_no}
        node = await self.call("alipay.trade.fastpay.refund.query", biz)
        return RefundQuery(
            out_trade_no=out_trade_no, out_request_no=out_request_no,
            refund_fen=_fen(node.get("refund_amount")), total_fen=_fen(node.get("total_amount")),
            refund_status=node.get("refund_status"),
        )

    # 商家分账 (B5)

    async def royalty_relation_bind(self, receivers: Sequence[RoyaltyReceiver], out_request_no: str) -> str:
        receiver_list = [{k: v for k, v in vars(receiver).items() if v is not None} for receiver in receivers]
        biz = {"out_request_no": out_request_no, "receiver_list": receiver_list}
        node = await self.call("alipay.trade.royalty.relation.bind", biz)
        return str(node.get("result_code", ""))

    async def order_settle(
        self, trade_no: str, out_request_no: str, royalty_parameters: Sequence[tuple[str, str, int, str]],
        royalty_finish: bool,
    ) -> Settlement:
        """Split (sync mode: all or nothing); with ``royalty_finish``, unfreeze the rest for the merchant."""
        if not royalty_parameters and not royalty_finish:
            raise ValueError("a settle call splits something or finishes the royalty")
        biz: dict[str, Any] = {"out_request_no": out_request_no, "trade_no": trade_no}
        if royalty_parameters:
            biz["royalty_parameters"] = [
                {"royalty_type": "transfer", "trans_in_type": trans_in_type, "trans_in": trans_in,
                 "amount": fen_to_yuan(amount_fen), "desc": desc}
                for trans_in_type, trans_in, amount_fen, desc in royalty_parameters
            ]
        if royalty_finish:
            biz["extend_params"] = {"royalty_finish": "true"}
        node = await self.call("alipay.trade.order.settle", biz)
        _expect(node, "trade_no", trade_no)
        return Settlement(trade_no=trade_no, settle_no=str(node["settle_no"]))

    async def settle_query(self, trade_no: str, out_request_no: str) -> SettleRecord:
        node = await self.call(
            "alipay.trade.order.settle.query", {"trade_no": trade_no, "out_request_no": out_request_no},
        )
        details = tuple(
            RoyaltyDetail(
                operation_type=item.get("operation_type", ""), state=item.get("state", ""),
                amount_fen=yuan_to_fen(item["amount"]), trans_in=item.get("trans_in"),
                trans_out=item.get("trans_out"), detail_id=item.get("detail_id"),
                error_code=item.get("error_code"), error_desc=item.get("error_desc"),
            )
            for item in node.get("royalty_detail_list", [])
        )
        operated_at = _time(node.get("operation_dt"))
        return SettleRecord(out_request_no=out_request_no, operated_at=operated_at, details=details)

    async def onsettle_query(self, trade_no: str) -> int:
        """The amount still frozen for splitting (unsettled_fen)."""
        node = await self.call("alipay.trade.order.onsettle.query", {"trade_no": trade_no})
        return yuan_to_fen(node["unsettled_amount"])

    # payouts (G) and login (D2)

    async def fund_transfer(
        self, out_biz_no: str, amount_fen: int, payee_identity: str, payee_identity_type: str,
        payee_name: str | None, title: str,
    ) -> Transfer:
        payee = {"identity": payee_identity, "identity_type": payee_identity_type}
        if payee_name:
            payee["name"] = payee_name
        node = await self.call("alipay.fund.trans.uni.transfer", {
            "out_biz_no": out_biz_no, "trans_amount": fen_to_yuan(amount_fen),
            "product_code": "TRANS_ACCOUNT_NO_PWD", "biz_scene": "DIRECT_TRANSFER", "order_title": title,
            "payee_info": payee,
        })
        _expect(node, "out_biz_no", out_biz_no)
        return Transfer(
            out_biz_no=out_biz_no, order_id=str(node["order_id"]),
            pay_fund_order_id=node.get("pay_fund_order_id"), status=str(node.get("status", "")),
            transferred_at=_time(node.get("trans_date")),
        )

    async def oauth_token(self, code: str) -> OAuthToken:
        """``my.getAuthCode``'s code -> the user's ids (grant_type and code are plain params)."""
        node = await self.call(
            "alipay.system.oauth.token", text_params={"grant_type": "authorization_code", "code": code},
        )
        return OAuthToken(
            user_id=node.get("user_id"), open_id=node.get("open_id"), union_id=node.get("union_id"),
            access_token=node["access_token"], expires_in_s=int(node["expires_in"]),
            refresh_token=node.get("refresh_token"),
            re_expires_in_s=int(node["re_expires_in"]) if node.get("re_expires_in") is not None else None,
            auth_start=_time(node.get("auth_start")),
        )

    # notifications (B3)

    def parse_notification(self, form: Mapping[str, str]) -> TradeNotification:
        """Verify a notify_url POST (decoded form fields) and read it. Raises BadSignature for anything not
        signed by Alipay for this app and merchant; answer NOTIFY_ACK only after storing the result."""
        sign = form.get("sign")
        if form.get("sign_type", "RSA2") != "RSA2" or not sign or not rsa2_verify(
            self._alipay_key, notification_sign_content(form), sign, form.get("charset") or "utf-8",
        ):
            raise BadSignature("alipay notification: the signature does not verify")
        if form.get("app_id") != self._config.app_id:
            raise BadSignature(f"alipay notification: for another app: {form.get('app_id')!r}")
        if form.get("seller_id") and form["seller_id"] != self._config.seller_id:
            raise BadSignature(f"alipay notification: for another merchant: {form['seller_id']!r}")
        try:
            return TradeNotification(
                notify_id=form["notify_id"], notify_type=form.get("notify_type", ""),
                notified_at=_time(form.get("notify_time")), trade_no=form["trade_no"],
                out_trade_no=form["out_trade_no"], trade_status=form["trade_status"],
                total_fen=yuan_to_fen(form["total_amount"]), receipt_fen=_fen(form.get("receipt_amount")),
                buyer_pay_fen=_fen(form.get("buyer_pay_amount")),
                refunded_total_fen=_fen(form.get("refund_fee")), out_biz_no=form.get("out_biz_no"),
                buyer_open_id=form.get("buyer_open_id"), buyer_id=form.get("buyer_id"),
                seller_id=form.get("seller_id"), paid_at=_time(form.get("gmt_payment")),
                refunded_at=_time(form.get("gmt_refund")), closed_at=_time(form.get("gmt_close")),
                passback_params=form.get("passback_params"),
            )
        except (KeyError, ValueError) as error:
            raise ProviderError(PROVIDER, "BAD_NOTIFICATION", f"unreadable: {error!r}") from error


def _expect(node: Mapping[str, Any], key: str, wanted: str) -> None:
    """A signed answer about another object (a replayed response) must not be taken for this one."""
    if key in node and node[key] != wanted:
        raise BadSignature(f"alipay: the answer is about {key}={node[key]!r}, not {wanted!r}")
