"""A local fake of WeChat Pay API v3 (direct merchant, public-key mode), served over real HTTP by tests.

It follows ../shared/PAYMENTS.md F1. It has its own WeChat Pay key pair and ``PUB_KEY_ID_FAKE...``. It
verifies every inbound request as the provider does (401 SIGN_ERROR; 400 PARAM_ERROR for missing, extra or
mistyped fields; mchid/appid checks; the timestamp window) and signs every answer, errors included. It keeps
orders, refunds, receivers and profit-sharing orders in memory and refuses what WeChat refuses. It POSTs
signed, AES-256-GCM encrypted notifications to notify_url on the real retry schedule, scaled down, recording
each attempt.

Its crypto is written here on purpose, not imported from the client, so a shared mistake cannot hide.

Control endpoints (not part of the real API), under /__fake__/wechat:
    POST /pay/{out_trade_no}      body {"payer_total": int} optional: paid, then TRANSACTION.SUCCESS is sent
    POST /expire/{out_trade_no}   an unpaid order is closed (its validity ended)
    POST /refund/{out_refund_no}/settle?result=SUCCESS|ABNORMAL|CLOSED          then REFUND.* is sent
    POST /profitsharing/{out_order_no}/finish?result=SUCCESS|CLOSED&fail_reason=ACCOUNT_ABNORMAL
    POST /clock/advance?seconds=N moves the fake clock (tests give the same clock to the client)
    POST /knobs                   body {knob: value} for the names in KNOBS
    GET  /notifications           every delivery attempt so far
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import re
import secrets
import ssl
import string
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from functools import cache, cached_property
from typing import Any

import certifi
import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.core.clock import SHANGHAI
from api.payments.providers.wechatpay import WeChatPayConfig

SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
RETRY_SCHEDULE_S = (15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600)
"""Waits before each re-delivery (A5); the first delivery is immediate."""
KNOBS = {
    "response_tamper", "notify_tamper", "order_paid_error", "max_split_ratio", "split_min_delay_s",
    "balance_fen", "notify_scale", "notify_max_attempts", "notify_duplicates", "notify_probe_first",
    "request_tolerance_s",
}
TAMPERS = {None, "mismatch", "forged", "stale", "serial", "probe", "ciphertext"}
OUT_TRADE_NO = re.compile(r"[0-9A-Za-z_\-|*]{6,32}")
OUT_NO = re.compile(r"[0-9A-Za-z_\-|*@]{1,64}")
RELATION_TYPES = {"SERVICE_PROVIDER", "STORE", "STAFF", "STORE_OWNER", "PARTNER", "HEADQUARTER", "BRAND",
                  "DISTRIBUTOR", "USER", "SUPPLIER", "CUSTOM"}
TRADE_STATE_DESC = {"NOTPAY": "订单未支付", "SUCCESS": "支付成功", "CLOSED": "已关闭", "REFUND": "订单发生过退款"}
OAEP_SHA1 = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA1()), algorithm=hashes.SHA1(), label=None)


@cache
def _keys() -> tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey, rsa.RSAPrivateKey]:
    """Merchant API key, fake WeChat Pay key, a stranger's key (for forgeries): made once per process."""
    merchant, platform, stranger = (rsa.generate_private_key(public_exponent=65537, key_size=2048)
                                    for _ in range(3))
    return merchant, platform, stranger


@cache
def tls_context() -> ssl.SSLContext:
    """One verifying TLS context per process; else httpx loads the CA bundle for every client (~45 ms)."""
    return ssl.create_default_context(cafile=certifi.where())


def merchant_key() -> rsa.RSAPrivateKey:
    """The merchant API private key of every fake from ``create`` (its public half verifies our requests)."""
    return _keys()[0]


def stranger_key() -> rsa.RSAPrivateKey:
    """A key WeChat Pay never issued: what a forger would sign with."""
    return _keys()[2]


def private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def public_pem(key: rsa.RSAPublicKey) -> str:
    pem = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem.decode()


def rfc3339(value: datetime) -> str:
    return value.astimezone(SHANGHAI).isoformat(timespec="seconds")


def _digits(n: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(n))


def _b64_sign(key: rsa.RSAPrivateKey, message: bytes) -> str:
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


class FakeClock:
    """The fake's time; give the same object to the client so both move together."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC).replace(microsecond=0)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)


class Refuse(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


def _param(message: str) -> Refuse:
    return Refuse(400, "PARAM_ERROR", message)


def _invalid(message: str) -> Refuse:
    return Refuse(400, "INVALID_REQUEST", message)


# ------------------------------------------------------------------------------------------ request shapes
# field -> (type or nested shape or [item shape], required). Anything else in the body is an extra field.

Shape = dict[str, tuple[Any, bool]]
Body = dict[str, Any]
Params = dict[str, str]
Answer = tuple[int, dict[str, Any] | None]
JSAPI: Shape = {
    "appid": (str, True), "mchid": (str, True), "description": (str, True), "out_trade_no": (str, True),
    "time_expire": (str, False), "attach": (str, False), "notify_url": (str, True), "goods_tag": (str, False),
    "support_fapiao": (bool, False), "amount": ({"total": (int, True), "currency": (str, False)}, True),
    "payer": ({"openid": (str, True)}, True), "detail": (dict, False), "scene_info": (dict, False),
    "settle_info": ({"profit_sharing": (bool, False)}, False),
}
CLOSE: Shape = {"mchid": (str, True)}
REFUND: Shape = {
    "transaction_id": (str, False), "out_trade_no": (str, False), "out_refund_no": (str, True),
    "reason": (str, False), "notify_url": (str, False), "funds_account": (str, False),
    "amount": ({"refund": (int, True), "total": (int, True), "currency": (str, True), "from": (list, False)},
               True),
    "goods_detail": (list, False),
}
ADD_RECEIVER: Shape = {
    "appid": (str, True), "type": (str, True), "account": (str, True), "name": (str, False),
    "relation_type": (str, True), "custom_relation": (str, False),
}
SPLIT: Shape = {
    "appid": (str, True), "transaction_id": (str, True), "out_order_no": (str, True),
    "notify_url": (str, False),
    "receivers": ([{"type": (str, True), "account": (str, True), "name": (str, False), "amount": (int, True),
                    "description": (str, True)}], True),
    "unfreeze_unsplit": (bool, True),
}
UNFREEZE: Shape = {"transaction_id": (str, True), "out_order_no": (str, True), "description": (str, True)}


def check_shape(shape: Shape, value: Any, where: str = "body") -> None:
    if not isinstance(value, dict):
        raise _param(f"{where} 必须是对象")
    extra = sorted(set(value) - set(shape))
    if extra:
        raise _param(f"参数中含有非法的额外参数: {', '.join(f'{where}.{name}' for name in extra)}")
    for name, (kind, required) in shape.items():
        path, item = f"{where}.{name}", value.get(name)
        if item is None:
            if required:
                raise _param(f"缺少参数 {path}")
        elif isinstance(kind, dict):
            check_shape(kind, item, path)
        elif isinstance(kind, list):
            if not isinstance(item, list) or not item:
                raise _param(f"{path} 必须是非空数组")
            for i, element in enumerate(item):
                check_shape(kind[0], element, f"{path}[{i}]")
        elif not (type(item) is int if kind is int else isinstance(item, kind)):
            raise _param(f"{path} 类型错误")


def _check_notify_url(url: str) -> None:
    # The real service also wants https, a public host and an ICP-filed domain (A5); tests use 127.0.0.1.
    if not url.startswith(("https://", "http://")) or "?" in url or len(url) > 256:
        raise _param("notify_url 格式错误（需为完整URL且不能携带参数）")


# ----------------------------------------------------------------------------------------------- the store


@dataclass
class FakeOrder:
    appid: str
    out_trade_no: str
    description: str
    notify_url: str
    total_fen: int
    openid: str
    profit_sharing: bool
    attach: str | None
    time_expire: datetime | None
    request: dict[str, Any]
    prepay_id: str
    prepay_at: datetime
    trade_state: str = "NOTPAY"
    transaction_id: str | None = None
    success_time: datetime | None = None
    payer_total_fen: int | None = None
    frozen_fen: int = 0
    sharing_finished: bool = False


@dataclass
class FakeRefund:
    refund_id: str
    out_refund_no: str
    order: FakeOrder
    refund_fen: int
    reason: str | None
    notify_url: str | None
    create_time: datetime
    source: str
    """"frozen" (the order's unsplit money) or "balance" (the merchant's available balance)."""
    status: str = "PROCESSING"
    success_time: datetime | None = None


@dataclass
class FakeSharing:
    """A profit-sharing order or an unfreeze (OrdersEntity)."""

    kind: str
    out_order_no: str
    order_id: str
    order: FakeOrder
    receivers: list[dict[str, Any]]
    release_fen: int
    """Unsplit money given back to the merchant when this finishes (unfreeze / unfreeze_unsplit)."""
    state: str = "PROCESSING"


@dataclass(frozen=True)
class NotifyAttempt:
    event_id: str
    event_type: str
    url: str
    attempt: int
    waited_s: int
    """The unscaled wait before this attempt (0, 15, 15, 30, 180, ...)."""
    status: int | None
    error: str | None
    tamper: str | None


@dataclass(frozen=True)
class Inbound:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes


@dataclass
class WeChatPayFake:
    mchid: str
    appids: frozenset[str]
    merchant_serial_no: str
    merchant_public_key: rsa.RSAPublicKey
    platform_key: rsa.RSAPrivateKey
    public_key_id: str
    apiv3_key: str
    clock: FakeClock = field(default_factory=FakeClock)
    # knobs
    response_tamper: str | None = None
    notify_tamper: str | None = None
    order_paid_error: tuple[int, str] = (400, "ORDERPAID")
    """Code for "already paid" on jsapi/close: [UNCONFIRMED] in PAYMENTS.md (A6, A8)."""
    max_split_ratio: float = 0.30
    split_min_delay_s: int = 60
    balance_fen: int = 0
    """Merchant available balance: payments of ordinary orders land here; refunds not covered by frozen money
    come from here (else 403 NOT_ENOUGH)."""
    notify_scale: float = 0.001
    notify_max_attempts: int = 1 + len(RETRY_SCHEDULE_S)
    notify_duplicates: int = 1
    notify_probe_first: bool = False
    request_tolerance_s: int = 300
    fail_next: list[tuple[int, str, str]] = field(default_factory=list)
    """Forced answers (status, code, message) for the next API calls, e.g. (500, "SYSTEM_ERROR", "系统错误")."""
    # records and store
    requests: list[Inbound] = field(default_factory=list)
    notify_attempts: list[NotifyAttempt] = field(default_factory=list)
    orders: dict[str, FakeOrder] = field(default_factory=dict)
    refunds: dict[str, FakeRefund] = field(default_factory=dict)
    receivers: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    sharings: dict[str, FakeSharing] = field(default_factory=dict)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _http: httpx.AsyncClient | None = None

    @classmethod
    def create(
        cls, *, mchid: str = "1900000109", appid: str = "wxd678efh567hg6787",
        other_appids: tuple[str, ...] = (), clock: FakeClock | None = None, **knobs: Any,
    ) -> tuple[WeChatPayFake, WeChatPayConfig]:
        """A fake and the WeChatPayConfig our client needs for it (set ``base_url`` to where it is served)."""
        merchant, platform, _ = _keys()
        fake = cls(mchid=mchid, appids=frozenset({appid, *other_appids}),
                   merchant_serial_no=secrets.token_hex(20).upper(),
                   merchant_public_key=merchant.public_key(),
                   platform_key=platform, public_key_id=f"PUB_KEY_ID_FAKE{_digits(25)}",
                   apiv3_key=secrets.token_hex(16), clock=clock or FakeClock(), **knobs)
        config = WeChatPayConfig(
            mchid=mchid, appid=appid, merchant_serial_no=fake.merchant_serial_no,
            merchant_private_key_pem=private_pem(merchant),
            platform_public_key_pem=public_pem(platform.public_key()),
            platform_public_key_id=fake.public_key_id, apiv3_key=fake.apiv3_key,
            base_url="http://127.0.0.1:9",  # nothing listens there: set it to where the fake is served
        )
        return fake, config

    @cached_property
    def app(self) -> Starlette:
        api, ctl, mchid, tx = self._api, "/__fake__/wechat", ("mchid",), ("transaction_id",)
        return Starlette(routes=[
            Route("/v3/pay/transactions/jsapi", api(self._jsapi, JSAPI), methods=["POST"]),
            Route("/v3/pay/transactions/out-trade-no/{no}/close", api(self._close, CLOSE), methods=["POST"]),
            Route("/v3/pay/transactions/out-trade-no/{no}", api(self._query, query=mchid), methods=["GET"]),
            Route("/v3/pay/transactions/id/{tx}", api(self._query, query=mchid), methods=["GET"]),
            Route("/v3/refund/domestic/refunds", api(self._refund, REFUND), methods=["POST"]),
            Route("/v3/refund/domestic/refunds/{no}", api(self._query_refund), methods=["GET"]),
            Route("/v3/profitsharing/receivers/add", api(self._add_receiver, ADD_RECEIVER), methods=["POST"]),
            Route("/v3/profitsharing/orders/unfreeze", api(self._unfreeze, UNFREEZE), methods=["POST"]),
            Route("/v3/profitsharing/orders", api(self._split, SPLIT), methods=["POST"]),
            Route("/v3/profitsharing/orders/{no}", api(self._query_split, query=tx), methods=["GET"]),
            Route("/v3/profitsharing/transactions/{tx}/amounts", api(self._amounts), methods=["GET"]),
            Route("/v3/{rest:path}", api(self._no_such_api), methods=["GET", "POST", "PUT", "DELETE"]),
            Route(f"{ctl}/pay/{{no}}", self._ctl_pay, methods=["POST"]),
            Route(f"{ctl}/expire/{{no}}", self._ctl_expire, methods=["POST"]),
            Route(f"{ctl}/refund/{{no}}/settle", self._ctl_settle_refund, methods=["POST"]),
            Route(f"{ctl}/profitsharing/{{no}}/finish", self._ctl_finish_sharing, methods=["POST"]),
            Route(f"{ctl}/clock/advance", self._ctl_advance, methods=["POST"]),
            Route(f"{ctl}/knobs", self._ctl_knobs, methods=["POST"]),
            Route(f"{ctl}/notifications", self._ctl_notifications, methods=["GET"]),
        ])

    async def idle(self) -> None:
        """Wait until every notification delivery (with its retries) has ended."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self._http is not None:
            await self._http.aclose()

    # ------------------------------------------------------------------------------ inbound and outbound

    def _api(self, handler: Callable[[Request, Body, Params], Answer], shape: Shape | None = None,
             query: tuple[str, ...] = ()) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            raw = await request.body()
            url = request.scope["raw_path"].decode("latin-1")
            if request.scope["query_string"]:
                url += "?" + request.scope["query_string"].decode("latin-1")
            self.requests.append(Inbound(request.method, url, dict(request.headers), raw))
            try:
                mchid = self._authenticate(request, url, raw)
                if self.fail_next:
                    raise Refuse(*self.fail_next.pop(0))
                params = dict(request.query_params)
                if set(params) - set(query):
                    raise _param(f"参数中含有非法的额外参数: {sorted(set(params) - set(query))}")
                if missing := [name for name in query if not params.get(name)]:
                    raise _param(f"缺少参数 {missing[0]}")
                body: dict[str, Any] = {}
                if shape is not None:
                    try:
                        body = json.loads(raw)
                    except ValueError:
                        raise _param("请求体不是合法的JSON") from None
                    check_shape(shape, body)
                for given in (body.get("mchid"), params.get("mchid")):
                    if given is not None and given != mchid:
                        raise _invalid("mchid不匹配")
                status, payload = handler(request, body, params)
            except Refuse as refusal:
                status, payload = refusal.status, {"code": refusal.code, "message": refusal.message}
            return self._signed(status, payload)

        return endpoint

    def _authenticate(self, request: Request, url: str, raw: bytes) -> str:
        auth = request.headers.get("authorization", "")
        if not auth.startswith(SIGNATURE_TYPE + " "):
            raise Refuse(401, "SIGN_ERROR", "Authorization 认证类型错误")
        parts: dict[str, str] = {}
        for item in auth[len(SIGNATURE_TYPE) + 1:].split(","):
            match = re.fullmatch(r'\s*(\w+)="([^"]*)"\s*', item)
            if not match:
                raise Refuse(401, "SIGN_ERROR", "Authorization 格式错误")
            parts[match[1]] = match[2]
        if not {"mchid", "nonce_str", "signature", "timestamp", "serial_no"} <= parts.keys():
            raise Refuse(401, "SIGN_ERROR", "Authorization 缺少字段")
        if parts["mchid"] != self.mchid:
            raise Refuse(401, "SIGN_ERROR", "商户号不存在或与证书不匹配")
        if parts["serial_no"] != self.merchant_serial_no:
            raise Refuse(401, "SIGN_ERROR", "商户证书序列号错误")
        timestamp = parts["timestamp"]
        now = self.clock.now().timestamp()
        if not timestamp.isdigit() or abs(now - int(timestamp)) > self.request_tolerance_s:
            raise Refuse(401, "SIGN_ERROR", "时间戳偏差过大")
        message = f"{request.method}\n{url}\n{timestamp}\n{parts['nonce_str']}\n".encode() + raw + b"\n"
        try:
            signature = base64.b64decode(parts["signature"], validate=True)
            self.merchant_public_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        except (ValueError, InvalidSignature):
            raise Refuse(401, "SIGN_ERROR", "签名错误") from None
        return parts["mchid"]

    def _signature_headers(self, body: bytes, tamper: str | None) -> dict[str, str]:
        timestamp = int(self.clock.now().timestamp()) - (600 if tamper == "stale" else 0)
        nonce = secrets.token_hex(16)
        signed = body + (b" " if tamper == "mismatch" else b"")
        key = stranger_key() if tamper == "forged" else self.platform_key
        signature = _b64_sign(key, f"{timestamp}\n{nonce}\n".encode() + signed + b"\n")
        return {
            "Wechatpay-Timestamp": str(timestamp), "Wechatpay-Nonce": nonce,
            "Wechatpay-Serial": f"PUB_KEY_ID_{_digits(25)}" if tamper == "serial" else self.public_key_id,
            "Wechatpay-Signature-Type": SIGNATURE_TYPE,
            "Wechatpay-Signature": f"WECHATPAY/SIGNTEST/{signature}" if tamper == "probe" else signature,
        }

    def _signed(self, status: int, payload: dict[str, Any] | None) -> Response:
        body = b"" if payload is None else json.dumps(payload, ensure_ascii=False,
                                                       separators=(",", ":")).encode()
        headers = {"Request-ID": uuid.uuid4().hex, **self._signature_headers(body, self.response_tamper)}
        media_type = "application/json" if body else None
        return Response(body, status_code=status, headers=headers, media_type=media_type)

    # ---------------------------------------------------------------------------------------- payments

    def _jsapi(self, request: Request, body: Body, params: Params) -> Answer:
        if body["appid"] not in self.appids:
            raise Refuse(400, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
        no, total = body["out_trade_no"], body["amount"]["total"]
        if not OUT_TRADE_NO.fullmatch(no):
            raise _param("out_trade_no 需为6-32位数字、大小写字母或_-|*")
        if not body["description"] or len(body["description"]) > 127:
            raise _param("description 长度需为1-127")
        if total < 1:
            raise _param("amount.total 需大于0（单位为分）")
        if body["amount"].get("currency", "CNY") != "CNY":
            raise _param("amount.currency 只支持CNY")
        if not body["payer"]["openid"]:
            raise _param("JSAPI支付必须传openid")
        _check_notify_url(body["notify_url"])
        try:
            expire = datetime.fromisoformat(body["time_expire"]) if "time_expire" in body else None
        except ValueError:
            raise _param("time_expire 需为RFC3339格式") from None
        if expire is not None and expire.tzinfo is None:
            raise _param("time_expire 需带时区")
        now = self.clock.now()
        if (order := self.orders.get(no)) is not None:
            if order.trade_state in ("SUCCESS", "REFUND"):
                raise Refuse(*self.order_paid_error, "该订单已支付")
            if order.trade_state == "CLOSED":
                raise Refuse(400, "ORDER_CLOSED", "订单已关闭")
            if order.request != body:
                raise _invalid("请求重入时，参数与首次请求时不一致")
            if now - order.prepay_at >= timedelta(hours=2):
                order.prepay_id, order.prepay_at = self._prepay_id(), now
            return 200, {"prepay_id": order.prepay_id}
        self.orders[no] = FakeOrder(
            appid=body["appid"], out_trade_no=no, description=body["description"],
            notify_url=body["notify_url"], total_fen=total, openid=body["payer"]["openid"],
            profit_sharing=bool(body.get("settle_info", {}).get("profit_sharing")), attach=body.get("attach"),
            time_expire=expire, request=body, prepay_id=self._prepay_id(), prepay_at=now,
        )
        return 200, {"prepay_id": self.orders[no].prepay_id}

    def _query(self, request: Request, body: Body, params: Params) -> Answer:
        if "tx" in request.path_params:
            order = self._by_transaction(request.path_params["tx"], "ORDER_NOT_EXIST")
        else:
            order = self._order(request.path_params["no"])
        return 200, self._transaction_json(order)

    def _close(self, request: Request, body: Body, params: Params) -> Answer:
        order = self._order(request.path_params["no"])
        if order.trade_state in ("SUCCESS", "REFUND"):
            raise Refuse(*self.order_paid_error, "订单已支付，不能关闭")
        order.trade_state = "CLOSED"
        return 204, None

    # ----------------------------------------------------------------------------------------- refunds

    def _refund(self, request: Request, body: Body, params: Params) -> Answer:
        amount, out_refund_no = body["amount"], body["out_refund_no"]
        if not body.get("transaction_id") and not body.get("out_trade_no"):
            raise _param("transaction_id 和 out_trade_no 必须二选一")
        if not OUT_NO.fullmatch(out_refund_no):
            raise _param("out_refund_no 格式错误")
        if amount["currency"] != "CNY":
            raise _param("amount.currency 只支持CNY")
        if amount["refund"] < 1:
            raise _param("amount.refund 需大于0")
        if len(body.get("reason") or "") > 80:
            raise _param("reason 过长")
        if body.get("notify_url"):
            _check_notify_url(body["notify_url"])
        order: FakeOrder | None
        if body.get("transaction_id"):
            order = self._by_transaction(body["transaction_id"], "RESOURCE_NOT_EXISTS")
            if body.get("out_trade_no") not in (None, order.out_trade_no):
                raise _invalid("transaction_id 与 out_trade_no 不匹配")
        else:
            order = self.orders.get(body["out_trade_no"])
        if order is None or order.trade_state not in ("SUCCESS", "REFUND") or order.success_time is None:
            raise Refuse(404, "RESOURCE_NOT_EXISTS", "订单不存在，请检查订单号是否正确且是否已支付")
        self._tick(order)
        if (existing := self.refunds.get(out_refund_no)) is not None:
            if existing.order is not order:
                raise _invalid("out_refund_no 已用于其他订单")
            return 200, self._refund_json(existing)  # one number is one refund, whatever this request says
        if amount["total"] != order.total_fen:
            raise _invalid("订单金额与原订单金额不一致")
        if self.clock.now() - order.success_time > timedelta(days=365):
            raise _invalid("订单已超过退款期限")
        if sum(1 for r in self.refunds.values() if r.order is order) >= 50:
            raise _invalid("订单退款次数超过限制")
        if self._refunded(order) + amount["refund"] > order.total_fen:
            raise _invalid("退款金额超过订单可退金额")
        refund_fen = amount["refund"]
        if order.profit_sharing and not order.sharing_finished and refund_fen <= order.frozen_fen:
            order.frozen_fen -= refund_fen
            source = "frozen"
        elif self.balance_fen >= refund_fen:
            self.balance_fen -= refund_fen
            source = "balance"
        else:
            raise Refuse(403, "NOT_ENOUGH", "基本账户余额不足，请充值后重新发起")
        refund = FakeRefund(refund_id=f"50000{_digits(24)}", out_refund_no=out_refund_no, order=order,
                            refund_fen=refund_fen, reason=body.get("reason"),
                            notify_url=body.get("notify_url"), create_time=self.clock.now(), source=source)
        self.refunds[out_refund_no] = refund
        return 200, self._refund_json(refund)

    def _query_refund(self, request: Request, body: Body, params: Params) -> Answer:
        refund = self.refunds.get(request.path_params["no"])
        if refund is None:
            raise Refuse(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
        return 200, self._refund_json(refund)

    # ---------------------------------------------------------------------------------- profit sharing

    def _add_receiver(self, request: Request, body: Body, params: Params) -> Answer:
        if body["appid"] not in self.appids:
            raise Refuse(400, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
        if body["type"] not in ("MERCHANT_ID", "PERSONAL_OPENID"):
            raise _param("type 取值错误")
        if body["relation_type"] not in RELATION_TYPES:
            raise _param("relation_type 取值错误")
        if body["relation_type"] == "CUSTOM" and not body.get("custom_relation"):
            raise _param("relation_type 为 CUSTOM 时 custom_relation 必填")
        name = None
        if "name" in body:
            if request.headers.get("wechatpay-serial") != self.public_key_id:
                raise _param("Wechatpay-Serial 与加密敏感信息所用的微信支付公钥不匹配")
            try:
                ciphertext = base64.b64decode(body["name"], validate=True)
                name = self.platform_key.decrypt(ciphertext, OAEP_SHA1).decode()
            except ValueError:
                raise _param("name 解密失败（需用微信支付公钥 RSAES-OAEP 加密）") from None
        elif body["type"] == "MERCHANT_ID":
            raise _param("接收方类型为 MERCHANT_ID 时 name 必填")
        key = (body["type"], body["account"])
        stored = self.receivers.setdefault(key, {  # re-adding succeeds and does not overwrite
            "type": body["type"], "account": body["account"], "relation_type": body["relation_type"],
            **({"custom_relation": body["custom_relation"]} if body.get("custom_relation") else {}),
            "name": name,
        })
        return 200, {k: v for k, v in stored.items() if k != "name"}

    def _split(self, request: Request, body: Body, params: Params) -> Answer:
        if body["appid"] not in self.appids:
            raise Refuse(400, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
        if not OUT_NO.fullmatch(body["out_order_no"]):
            raise _param("out_order_no 格式错误")
        order = self._sharable(body["transaction_id"])
        wanted = [(r["type"], r["account"], r["amount"]) for r in body["receivers"]]
        if (existing := self.sharings.get(body["out_order_no"])) is not None:
            if existing.kind != "split" or existing.order is not order or \
                    [(r["type"], r["account"], r["amount"]) for r in existing.receivers] != wanted:
                raise _invalid("分账接收方与原请求不一致")
            return 200, self._sharing_json(existing)  # same number, same content: the same split
        if not order.profit_sharing:
            raise _invalid("非分账订单不支持分账")
        assert order.success_time is not None
        if self.clock.now() - order.success_time < timedelta(seconds=self.split_min_delay_s):
            raise _invalid("订单处理中，请稍后重试")
        if order.sharing_finished:
            raise _invalid("订单已完结分账，不支持分账")
        if self._refunded(order) >= order.total_fen:
            raise _invalid("订单已全额退款，不支持分账")
        if len(wanted) > 50:
            raise _invalid("分账接收方数量超过50")
        if len({(t, a) for t, a, _ in wanted}) != len(wanted):
            raise _invalid("同一分账请求中分账接收方重复")
        for t, a, amount in wanted:
            if (t, a) not in self.receivers:
                raise _invalid("分账接收方关系不存在")
            if amount < 1:
                raise _param("receivers.amount 需大于0")
        splits = [s for s in self.sharings.values() if s.order is order and s.kind == "split"]
        already = sum(r["amount"] for s in splits for r in s.receivers if r["result"] != "CLOSED")
        asked = sum(amount for _, _, amount in wanted)
        if already + asked > math.floor(order.total_fen * Fraction(str(self.max_split_ratio))):
            raise _invalid("分账金额超出最大分账比例")
        if asked > order.frozen_fen:
            raise _invalid("分账金额不足")
        if len(splits) >= 50:
            raise _invalid("订单分账次数超过50次")
        order.frozen_fen -= asked
        release = 0
        if body["unfreeze_unsplit"]:
            release, order.frozen_fen, order.sharing_finished = order.frozen_fen, 0, True
        now = rfc3339(self.clock.now())
        receivers = [{"amount": r["amount"], "description": r["description"], "type": r["type"],
                      "account": r["account"], "result": "PENDING", "detail_id": f"3600000{_digits(21)}",
                      "create_time": now} for r in body["receivers"]]
        sharing = FakeSharing("split", body["out_order_no"], f"30000{_digits(23)}", order, receivers, release)
        self.sharings[sharing.out_order_no] = sharing
        return 200, self._sharing_json(sharing)

    def _unfreeze(self, request: Request, body: Body, params: Params) -> Answer:
        if not OUT_NO.fullmatch(body["out_order_no"]):
            raise _param("out_order_no 格式错误")
        order = self._sharable(body["transaction_id"])
        if (existing := self.sharings.get(body["out_order_no"])) is not None and existing.order is order:
            return 200, self._sharing_json(existing)  # the real quirk: "success", nothing unfrozen (A10)
        if existing is not None:
            raise _invalid("out_order_no 已被其他订单使用")
        if not order.profit_sharing:
            raise _invalid("非分账订单不支持分账")
        if order.sharing_finished:
            raise _invalid("订单已完结分账，不支持分账")
        release, order.frozen_fen, order.sharing_finished = order.frozen_fen, 0, True
        receivers = [{"amount": release, "description": "解冻给分账方", "type": "MERCHANT_ID",
                      "account": self.mchid, "result": "PENDING", "detail_id": f"3600000{_digits(21)}",
                      "create_time": rfc3339(self.clock.now())}]
        sharing = FakeSharing("unfreeze", body["out_order_no"], f"30000{_digits(23)}", order, receivers,
                              release)
        self.sharings[sharing.out_order_no] = sharing
        return 200, self._sharing_json(sharing)

    def _query_split(self, request: Request, body: Body, params: Params) -> Answer:
        sharing = self.sharings.get(request.path_params["no"])
        if sharing is None or sharing.order.transaction_id != params["transaction_id"]:
            raise Refuse(404, "RESOURCE_NOT_EXISTS", "记录不存在")
        return 200, self._sharing_json(sharing)

    def _amounts(self, request: Request, body: Body, params: Params) -> Answer:
        order = self._by_transaction(request.path_params["tx"], "RESOURCE_NOT_EXISTS")
        self._tick(order)
        return 200, {"transaction_id": order.transaction_id, "unsplit_amount": order.frozen_fen}

    def _no_such_api(self, request: Request, body: Body, params: Params) -> Answer:
        raise Refuse(404, "NOT_FOUND", "URL不存在")

    # ---------------------------------------------------------------------------------- store helpers

    def _order(self, out_trade_no: str) -> FakeOrder:
        order = self.orders.get(out_trade_no)
        if order is None:
            raise Refuse(404, "ORDER_NOT_EXIST", "订单不存在")
        self._tick(order)
        return order

    def _by_transaction(self, transaction_id: str, missing_code: str) -> FakeOrder:
        for order in self.orders.values():
            if order.transaction_id == transaction_id:
                self._tick(order)
                return order
        raise Refuse(404, missing_code, "订单不存在")

    def _sharable(self, transaction_id: str) -> FakeOrder:
        order = self._by_transaction(transaction_id, "RESOURCE_NOT_EXISTS")
        if order.trade_state not in ("SUCCESS", "REFUND"):
            raise Refuse(404, "RESOURCE_NOT_EXISTS", "订单未支付")
        return order

    def _tick(self, order: FakeOrder) -> None:
        """30 days after payment, unsplit money unfreezes by itself (A10)."""
        if order.profit_sharing and order.success_time and not order.sharing_finished \
                and self.clock.now() - order.success_time >= timedelta(days=30):
            self.balance_fen += order.frozen_fen
            order.frozen_fen, order.sharing_finished = 0, True

    def _refunded(self, order: FakeOrder) -> int:
        return sum(r.refund_fen for r in self.refunds.values() if r.order is order and r.status != "CLOSED")

    def _prepay_id(self) -> str:
        return f"wx{self.clock.now().astimezone(SHANGHAI):%Y%m%d%H%M%S}{secrets.token_hex(10)}"

    def _transaction_json(self, order: FakeOrder) -> dict[str, Any]:
        data: dict[str, Any] = {
            "appid": order.appid, "mchid": self.mchid, "out_trade_no": order.out_trade_no,
            "trade_state": order.trade_state, "trade_state_desc": TRADE_STATE_DESC[order.trade_state],
            "attach": order.attach or "",
            "amount": {"total": order.total_fen, "currency": "CNY", "payer_currency": "CNY"},
        }
        if order.transaction_id and order.success_time:
            data.update(transaction_id=order.transaction_id, trade_type="JSAPI", bank_type="OTHERS",
                        success_time=rfc3339(order.success_time), payer={"openid": order.openid})
            data["amount"]["payer_total"] = order.payer_total_fen
        return data

    def _refund_json(self, refund: FakeRefund, notification: bool = False) -> dict[str, Any]:
        order = refund.order
        payer_total = order.payer_total_fen or order.total_fen
        amount = {"total": order.total_fen, "refund": refund.refund_fen, "payer_total": payer_total,
                  "payer_refund": refund.refund_fen * payer_total // order.total_fen}
        data: dict[str, Any] = {
            "refund_id": refund.refund_id, "out_refund_no": refund.out_refund_no,
            "transaction_id": order.transaction_id, "out_trade_no": order.out_trade_no,
            "user_received_account": "支付用户零钱", "amount": amount,
        }
        if refund.success_time:
            data["success_time"] = rfc3339(refund.success_time)
        if notification:
            data.update(mchid=self.mchid, refund_status=refund.status)
        else:
            data.update(channel="ORIGINAL", status=refund.status, create_time=rfc3339(refund.create_time),
                        funds_account="AVAILABLE" if refund.source == "balance" else "UNAVAILABLE")
            amount.update(currency="CNY", settlement_refund=refund.refund_fen,
                          settlement_total=order.total_fen,
                          discount_refund=amount["refund"] - amount["payer_refund"], **{"from": []})
        return data

    def _sharing_json(self, sharing: FakeSharing) -> dict[str, Any]:
        return {"transaction_id": sharing.order.transaction_id, "out_order_no": sharing.out_order_no,
                "order_id": sharing.order_id, "state": sharing.state,
                "receivers": [dict(r) for r in sharing.receivers]}

    # ---------------------------------------------------------------------------------- notifications

    def notify(self, url: str, event_type: str, summary: str, original_type: str, plaintext: Body) -> str:
        """Send one notification (and duplicates/a probe, per the knobs) in the background; returns its id."""
        nonce = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(12))
        aad = original_type if self.notify_tamper != "ciphertext" else "tampered"
        ciphertext = AESGCM(self.apiv3_key.encode()).encrypt(
            nonce.encode(), json.dumps(plaintext, ensure_ascii=False).encode(), aad.encode())
        event_id = f"EV-{uuid.uuid4()}"
        envelope = {
            "id": event_id, "create_time": rfc3339(self.clock.now()), "resource_type": "encrypt-resource",
            "event_type": event_type, "summary": summary,
            "resource": {"original_type": original_type, "algorithm": "AEAD_AES_256_GCM",
                         "ciphertext": base64.b64encode(ciphertext).decode(),
                         "associated_data": original_type, "nonce": nonce},
        }
        body = json.dumps(envelope, ensure_ascii=False).encode()
        if self._http is None:
            self._http = httpx.AsyncClient(trust_env=False, verify=tls_context())
        for copy in range(self.notify_duplicates):
            task = asyncio.get_running_loop().create_task(
                self._deliver(url, event_id, event_type, body, probe=self.notify_probe_first and copy == 0))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return event_id

    async def _deliver(self, url: str, event_id: str, event_type: str, body: bytes, probe: bool) -> None:
        if probe:
            await self._post(url, event_id, event_type, body, 0, 0, "probe")
        for attempt, waited in enumerate((0, *RETRY_SCHEDULE_S)[: self.notify_max_attempts], start=1):
            await asyncio.sleep(waited * self.notify_scale)
            status = await self._post(url, event_id, event_type, body, attempt, waited, self.notify_tamper)
            if status in (200, 204):
                return

    async def _post(self, url: str, event_id: str, event_type: str, body: bytes, attempt: int, waited: int,
                    tamper: str | None) -> int | None:
        headers = {"Content-Type": "application/json", "Request-ID": uuid.uuid4().hex,
                   **self._signature_headers(body, tamper)}
        status, error = None, None
        assert self._http is not None
        try:
            status = (await self._http.post(url, content=body, headers=headers, timeout=5)).status_code
        except httpx.HTTPError as exc:
            error = repr(exc)
        attempt_record = NotifyAttempt(event_id, event_type, url, attempt, waited, status, error, tamper)
        self.notify_attempts.append(attempt_record)
        return status

    # --------------------------------------------------------------------------------------- control

    async def _ctl_pay(self, request: Request) -> Response:
        order = self.orders.get(request.path_params["no"])
        if order is None:
            return JSONResponse({"error": "no such order"}, 404)
        self._tick(order)
        now = self.clock.now()
        if order.trade_state != "NOTPAY" or (order.time_expire is not None and now >= order.time_expire):
            return JSONResponse({"error": f"not payable: {order.trade_state}, expires {order.time_expire}"},
                                409)
        options = json.loads(await request.body() or b"{}")
        payer_total = options.get("payer_total", order.total_fen)
        if type(payer_total) is not int or not 1 <= payer_total <= order.total_fen:
            return JSONResponse({"error": "payer_total must be 1..total"}, 400)
        order.trade_state, order.success_time, order.payer_total_fen = "SUCCESS", now, payer_total
        order.transaction_id = f"4200{now.astimezone(SHANGHAI):%Y%m%d}{_digits(16)}"
        if order.profit_sharing:
            order.frozen_fen = order.total_fen
        else:
            self.balance_fen += order.total_fen
        transaction = self._transaction_json(order)
        event_id = self.notify(order.notify_url, "TRANSACTION.SUCCESS", "支付成功", "transaction", transaction)
        return JSONResponse({**transaction, "event_id": event_id})

    async def _ctl_expire(self, request: Request) -> Response:
        order = self.orders.get(request.path_params["no"])
        if order is None or order.trade_state != "NOTPAY":
            return JSONResponse({"error": "no unpaid order with this number"}, 409)
        order.trade_state = "CLOSED"
        return JSONResponse(self._transaction_json(order))

    async def _ctl_settle_refund(self, request: Request) -> Response:
        refund = self.refunds.get(request.path_params["no"])
        result = request.query_params.get("result", "SUCCESS")
        if refund is None or refund.status != "PROCESSING" or result not in ("SUCCESS", "ABNORMAL", "CLOSED"):
            return JSONResponse({"error": "no processing refund with this number, or a bad result"}, 409)
        refund.status = result
        if result == "SUCCESS":
            refund.success_time = self.clock.now()
            refund.order.trade_state = "REFUND"
        elif result == "CLOSED":  # the money comes back where it was taken from
            if refund.source == "frozen" and not refund.order.sharing_finished:
                refund.order.frozen_fen += refund.refund_fen
            else:
                self.balance_fen += refund.refund_fen
        event_id = None
        if refund.notify_url:
            summary = {"SUCCESS": "退款成功", "ABNORMAL": "退款异常", "CLOSED": "退款关闭"}[result]
            event_id = self.notify(refund.notify_url, f"REFUND.{result}", summary, "refund",
                                   self._refund_json(refund, notification=True))
        return JSONResponse({**self._refund_json(refund), "event_id": event_id})

    async def _ctl_finish_sharing(self, request: Request) -> Response:
        sharing = self.sharings.get(request.path_params["no"])
        result = request.query_params.get("result", "SUCCESS")
        if sharing is None or sharing.state != "PROCESSING" or result not in ("SUCCESS", "CLOSED"):
            return JSONResponse({"error": "no such profit-sharing order in PROCESSING, or a bad result"}, 409)
        now = rfc3339(self.clock.now())
        order = sharing.order
        for receiver in sharing.receivers:
            receiver.update(result=result if sharing.kind == "split" else "SUCCESS", finish_time=now)
            if receiver["result"] == "CLOSED":
                receiver["fail_reason"] = request.query_params.get("fail_reason", "ACCOUNT_ABNORMAL")
                if order.sharing_finished:
                    self.balance_fen += receiver["amount"]
                else:
                    order.frozen_fen += receiver["amount"]
        self.balance_fen += sharing.release_fen
        sharing.state = "FINISHED"
        return JSONResponse(self._sharing_json(sharing))

    async def _ctl_advance(self, request: Request) -> Response:
        self.clock.advance(float(request.query_params["seconds"]))
        return JSONResponse({"now": rfc3339(self.clock.now())})

    async def _ctl_knobs(self, request: Request) -> Response:
        knobs = await request.json()
        unknown = set(knobs) - KNOBS
        if unknown or {knobs.get("response_tamper"), knobs.get("notify_tamper")} - TAMPERS:
            return JSONResponse({"error": f"unknown knob or value: {sorted(unknown) or knobs}"}, 400)
        for name, value in knobs.items():
            setattr(self, name, tuple(value) if name == "order_paid_error" else value)
        return JSONResponse({name: getattr(self, name) for name in sorted(KNOBS)})

    async def _ctl_notifications(self, request: Request) -> Response:
        return JSONResponse([asdict(attempt) for attempt in self.notify_attempts])
