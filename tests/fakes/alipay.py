"""A local fake of the Alipay Open Platform gateway (../shared/PAYMENTS.md F2), for tests only.

It checks every request as Alipay does (app_id, sign_type, charset, RSA2 over the sorted params, timestamp
window) and signs every answer over the exact text of its response node with its own key. Trades, refunds,
royalty relations and settlements, oauth codes and transfers live in memory. A notifier POSTs signed forms to
the trade's notify_url and retries on Alipay's schedule, scaled down. Control endpoints under
``/__fake__/alipay`` play the buyer (pay), the user (oauth codes) and the calendar (clock), and turn knobs.

Its signing, string building and yuan parsing are written here again on purpose: sharing them with the client
would let one bug pass both sides. Where Alipay's behaviour is not confirmed (PAYMENTS.md H), the choice made
is marked "unconfirmed".
"""

from __future__ import annotations

import asyncio
import base64
import functools
import json
import re
import secrets
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.payments.providers.alipay import AlipayConfig
from tests.fakes.serve import serve

SHANGHAI = ZoneInfo("Asia/Shanghai")
FORMAT = "%Y-%m-%d %H:%M:%S"
NOTIFY_RETRY_INTERVALS_S = (120, 600, 600, 3600, 7200, 21600, 54000)
"""B3: 8 deliveries within 25 h (the first interval, 2 m vs 4 m, is unconfirmed)."""
AUTO_UNFREEZE = timedelta(days=30)
_OUT_NO = re.compile(r"[A-Za-z0-9_]{1,64}")
_REQUEST_NO = re.compile(r"[A-Za-z0-9_]{1,32}")
_USER_ID = re.compile(r"2088[0-9]{12}")
_REQUIRED = {"app_id": "isv.missing-app-id", "method": "isv.missing-method", "sign": "isv.missing-signature",
             "sign_type": "isv.missing-signature-type", "timestamp": "isv.missing-timestamp",
             "version": "isv.missing-version"}


@functools.cache
def key_pair(name: str) -> rsa.RSAPrivateKey:
    """One RSA key per role per process ("app", "alipay", "forger"): key generation is the slow part."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """Building a verifying TLS context costs ~50 ms; the notifier needs one per fake otherwise."""
    return httpx.create_ssl_context()


def private_pem(name: str) -> str:
    return key_pair(name).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption(),
    ).decode()


def public_pem(name: str) -> str:
    return key_pair(name).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo,
    ).decode()


def sign(content: str, key: str = "alipay") -> str:
    signature = key_pair(key).sign(content.encode(), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode()


def sign_form(form: dict[str, str], key: str = "alipay") -> dict[str, str]:
    """A notification as Alipay signs it: all fields but sign and sign_type, sorted, raw, empties kept."""
    content = "&".join(f"{k}={form[k]}" for k in sorted(form) if k not in ("sign", "sign_type"))
    return {**form, "sign": sign(content, key)}


def yuan(amount_fen: int) -> str:
    return str((Decimal(amount_fen) / 100).quantize(Decimal("0.01")))


def fen(text: Any) -> int:
    """A yuan string with at most two decimals in [0.01, 100000000], else a refusal (B2)."""
    value = Decimal(text) if isinstance(text, str) and re.fullmatch(r"[0-9]+(\.[0-9]{1,2})?", text) else None
    if value is None or not 1 <= value * 100 <= 10_000_000_000:
        raise Refusal("ACQ.INVALID_PARAMETER", f"金额格式或范围错误: {text!r}")
    return int(value * 100)


def shanghai(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime(FORMAT)


class Refusal(Exception):
    """An answer other than 10000: ``40004 Business Failed`` in the method's node unless said otherwise."""

    def __init__(self, sub_code: str, sub_msg: str, code: str = "40004", msg: str = "Business Failed",
                 node: str | None = None) -> None:
        super().__init__(sub_code)
        self.body = {"code": code, "msg": msg, "sub_code": sub_code, "sub_msg": sub_msg}
        self.node = node


def _gateway_error(sub_code: str, sub_msg: str) -> Refusal:
    if sub_code.startswith("isv.missing"):
        return Refusal(sub_code, sub_msg, "40001", "Missing Required Arguments", node="error_response")
    return Refusal(sub_code, sub_msg, "40002", "Invalid Arguments", node="error_response")


class FakeClock:
    """Real time plus an offset the tests move; the client under test may share it."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


@dataclass
class Knobs:
    royalty_cap_bp: int = 3000
    """Σ settled ≤ this share of total_amount (B5: 30 % by default)."""
    timestamp_window_s: int = 600
    """Accepted |request timestamp − now| (unconfirmed tolerance)."""
    notify_scale: float = 1e-5
    """Real retry intervals × this; 1e-5 runs the whole 25 h schedule in under a second."""
    notify_duplicate: bool = False
    """Deliver every notification a second time after it was taken."""
    notify_tamper: dict[str, str] | None = None
    """Fields overwritten after signing, e.g. {"total_amount": "0.01"}."""
    tamper_next_response: str | None = None
    """One shot: "node" (a field changed after signing), "sign" (signature damaged), "unsigned", "forger"."""
    fail_next: dict[str, Any] | None = None
    """One shot: {"http_status": 502} or a node such as {"code": "20000", "sub_code": "isp.unknow-error"}."""
    response_style: str = "compact"
    """"compact" or "spaced" (", ", ": " and \\u escapes): clients must verify the text as sent."""


@dataclass
class FakeRefund:
    out_request_no: str
    refund_fen: int
    at: datetime


@dataclass
class FakeTrade:
    trade_no: str
    out_trade_no: str
    total_fen: int
    request: dict[str, Any]
    buyer_open_id: str | None
    buyer_id: str | None
    royalty_freeze: bool
    notify_url: str | None
    created_at: datetime
    time_expire: datetime | None
    status: str = "WAIT_BUYER_PAY"
    paid_at: datetime | None = None
    closed_at: datetime | None = None
    refunds: dict[str, FakeRefund] = field(default_factory=dict)
    settled_fen: int = 0
    frozen_fen: int = 0
    royalty_finished: bool = False
    settle_calls: int = 0

    @property
    def refunded_fen(self) -> int:
        return sum(refund.refund_fen for refund in self.refunds.values())


@dataclass
class FakeSettlement:
    trade_no: str
    settle_no: str
    request: dict[str, Any]
    at: datetime
    details: list[dict[str, str]]


@dataclass
class NotifyAttempt:
    notify_id: str
    attempt: int
    url: str
    form: dict[str, str]
    status_code: int | None
    body: str
    delivered: bool


class AlipayFake:
    def __init__(self, app_id: str, seller_id: str, seller_balance_fen: int = 0, **knobs: Any) -> None:
        self.app_id = app_id
        self.seller_id = seller_id
        self.clock = FakeClock()
        self.knobs = Knobs(**knobs)
        self.seller_available_fen = seller_balance_fen
        self.receiver_balances_fen: dict[str, int] = {}
        self.trades: dict[str, FakeTrade] = {}
        self.settlements: dict[str, FakeSettlement] = {}
        self.relations: set[tuple[str, str]] = set()
        self.oauth_codes: dict[str, dict[str, str]] = {}
        self.transfers: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, dict[str, str]]] = []
        self.notify_attempts: list[NotifyAttempt] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._http: httpx.AsyncClient | None = None
        self._methods: dict[str, Callable[[dict[str, Any], dict[str, str]], dict[str, Any]]] = {
            "alipay.trade.create": self._create,
            "alipay.trade.query": self._query,
            "alipay.trade.close": self._close,
            "alipay.trade.refund": self._refund,
            "alipay.trade.fastpay.refund.query": self._refund_query,
            "alipay.trade.royalty.relation.bind": self._bind,
            "alipay.trade.order.settle": self._settle,
            "alipay.trade.order.settle.query": self._settle_query,
            "alipay.trade.order.onsettle.query": self._onsettle_query,
            "alipay.system.oauth.token": self._oauth,
            "alipay.fund.trans.uni.transfer": self._transfer,
        }
        prefix = "/__fake__/alipay"
        self.app = Starlette(routes=[
            Route("/gateway.do", self._gateway, methods=["GET", "POST"]),
            Route(prefix + "/pay/{trade_no}", self._control_pay, methods=["POST"]),
            Route(prefix + "/oauth-codes", self._control_oauth_code, methods=["POST"]),
            Route(prefix + "/clock", self._control_clock, methods=["POST"]),
            Route(prefix + "/knobs", self._control_knobs, methods=["GET", "POST"]),
            Route(prefix + "/trades/{out_trade_no}", self._control_trade, methods=["GET"]),
            Route(prefix + "/state", self._control_state, methods=["GET"]),
            Route(prefix + "/notifications", self._control_notifications, methods=["GET"]),
        ])

    @classmethod
    def create(
        cls, app_id: str = "2021000000000001", seller_id: str = "2088000000000001", **options: Any,
    ) -> AlipayFake:
        return cls(app_id, seller_id, **options)

    def client_config(self, base_url: str, notify_url: str | None = None) -> AlipayConfig:
        """The matching configuration of our client: the app key Alipay knows, Alipay's public key."""
        return AlipayConfig(
            app_id=self.app_id, app_private_key_pem=private_pem("app"),
            alipay_public_key_pem=public_pem("alipay"), seller_id=self.seller_id,
            gateway_url=f"{base_url}/gateway.do", notify_url=notify_url,
        )

    async def drain(self) -> None:
        """Wait until every notification is delivered or has used up its retries."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks))

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.aclose()

    # --- the gateway ----------------------------------------------------------------------------------------

    async def _gateway(self, request: Request) -> Response:
        params = dict(request.query_params)
        if request.method == "POST":
            form = await request.form()
            params.update({key: value for key, value in form.items() if isinstance(value, str)})
        method = params.get("method", "")
        node_name = method.replace(".", "_") + "_response"
        try:
            self._check_protocol(params)
            self.calls.append((method, params))
            if (failure := self.knobs.fail_next) is not None:
                self.knobs.fail_next = None
                if "http_status" in failure:
                    return Response("upstream unavailable", status_code=failure["http_status"])
                return self._answer(node_name, {"msg": "Service Currently Unavailable", **failure})
            biz = self._biz(method, params)
            body = {"code": "10000", "msg": "Success", **self._methods[method](biz, params)}
        except Refusal as refusal:
            return self._answer(refusal.node or node_name, refusal.body)
        return self._answer(node_name, body)

    def _check_protocol(self, params: dict[str, str]) -> None:
        for name, sub_code in _REQUIRED.items():
            if not params.get(name):
                raise _gateway_error(sub_code, f"缺少参数 {name}")
        if params["app_id"] != self.app_id:
            raise _gateway_error("isv.invalid-app-id", "无效的AppID参数")
        if params.get("format", "JSON").upper() != "JSON":
            raise _gateway_error("isv.invalid-format", "无效的数据格式")
        if params["sign_type"] != "RSA2":
            raise _gateway_error("isv.invalid-signature-type", "无效签名类型")
        if params.get("charset", "").lower() != "utf-8":
            raise _gateway_error("isv.invalid-charset", "字符集错误")
        content = "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "sign" and params[k])
        try:
            signature = base64.b64decode(params["sign"], validate=True)
            app_key = key_pair("app").public_key()
            app_key.verify(signature, content.encode(), padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            raise _gateway_error("isv.invalid-signature", f"验签出错，验签字符串为：{content}") from None
        try:
            sent = datetime.strptime(params["timestamp"], FORMAT).replace(tzinfo=SHANGHAI)
        except ValueError:
            raise _gateway_error("isv.invalid-timestamp", "非法的时间戳参数") from None
        if abs((sent - self.clock.now()).total_seconds()) > self.knobs.timestamp_window_s:
            raise _gateway_error("isv.invalid-timestamp", "非法的时间戳参数")
        if params["method"] not in self._methods:
            raise _gateway_error("isv.invalid-method", "不存在的方法名")

    def _biz(self, method: str, params: dict[str, str]) -> dict[str, Any]:
        if method == "alipay.system.oauth.token":
            return {}
        try:
            biz = json.loads(params.get("biz_content", ""))
        except ValueError:
            biz = None
        if not isinstance(biz, dict):
            raise _gateway_error("isv.invalid-parameter", "biz_content 不是 JSON 对象")
        return biz

    def _answer(self, node_name: str, node: dict[str, Any]) -> Response:
        """Serialise the node once, sign that exact text, and put it into the body as it is."""
        spaced = self.knobs.response_style == "spaced"
        text = json.dumps(node, ensure_ascii=spaced, separators=(", ", ": ") if spaced else (",", ":"))
        signature = sign(text)
        tamper, self.knobs.tamper_next_response = self.knobs.tamper_next_response, None
        if tamper == "node":
            changed = {**node, "trade_status": "TRADE_SUCCESS", "total_amount": "0.01"}
            text = json.dumps(changed, ensure_ascii=spaced, separators=(", ", ": ") if spaced else (",", ":"))
        elif tamper == "sign":
            signature = ("B" if signature[0] == "A" else "A") + signature[1:]
        elif tamper == "forger":
            signature = sign(text, key="forger")
        signed = "" if tamper == "unsigned" else f',"sign":"{signature}"'
        body = f'{{"{node_name}":{text}{signed}}}'
        return Response(body.encode(), media_type="text/html;charset=utf-8")

    def _trade(self, biz: dict[str, Any]) -> FakeTrade:
        trade = None
        if biz.get("out_trade_no"):
            trade = self.trades.get(biz["out_trade_no"])
        elif biz.get("trade_no"):
            trade = next((t for t in self.trades.values() if t.trade_no == biz["trade_no"]), None)
        if trade is None or biz.get("trade_no", trade.trade_no) != trade.trade_no:
            raise Refusal("ACQ.TRADE_NOT_EXIST", "交易不存在")
        self._age(trade)
        return trade

    def _age(self, trade: FakeTrade) -> None:
        """What the passing of time does: unpaid trades expire, frozen funds unfreeze after 30 days (B5)."""
        now = self.clock.now()
        if trade.status == "WAIT_BUYER_PAY" and trade.time_expire is not None and now >= trade.time_expire:
            trade.status, trade.closed_at = "TRADE_CLOSED", trade.time_expire
        if trade.paid_at is not None and not trade.royalty_finished and now >= trade.paid_at + AUTO_UNFREEZE:
            self._finish_royalty(trade)

    def _credit(self, account: str, amount_fen: int) -> None:
        self.receiver_balances_fen[account] = self.receiver_balances_fen.get(account, 0) + amount_fen

    def _finish_royalty(self, trade: FakeTrade) -> None:
        self.seller_available_fen += trade.frozen_fen
        trade.frozen_fen, trade.royalty_finished = 0, True

    # --- methods --------------------------------------------------------------------------------------------

    def _create(self, biz: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        out_trade_no, subject = str(biz.get("out_trade_no", "")), biz.get("subject")
        if not _OUT_NO.fullmatch(out_trade_no):
            raise Refusal("ACQ.INVALID_PARAMETER", "out_trade_no 格式错误")
        total_fen = fen(biz.get("total_amount"))
        if not isinstance(subject, str) or not 0 < len(subject) <= 256 or re.search(r"[/=&]", subject):
            raise Refusal("ACQ.INVALID_PARAMETER", "subject 格式错误")
        if biz.get("product_code") != "JSAPI_PAY" or biz.get("op_app_id") != self.app_id:
            raise Refusal("ACQ.INVALID_PARAMETER", "小程序支付需要 product_code=JSAPI_PAY 和 op_app_id")
        buyer_open_id, buyer_id = biz.get("buyer_open_id"), biz.get("buyer_id")
        if not buyer_open_id and not (buyer_id and _USER_ID.fullmatch(buyer_id)):
            raise Refusal("ACQ.INVALID_PARAMETER", "缺少买家 buyer_open_id 或 buyer_id")
        if biz.get("seller_id", self.seller_id) != self.seller_id:
            raise Refusal("ACQ.INVALID_PARAMETER", "seller_id 不是本商户")
        if buyer_id == self.seller_id:
            raise Refusal("ACQ.BUYER_SELLER_EQUAL", "买卖家不能相同")
        if (existing := self.trades.get(out_trade_no)) is not None:  # sub_codes unconfirmed (H)
            self._age(existing)
            if existing.status in ("TRADE_SUCCESS", "TRADE_FINISHED"):
                raise Refusal("ACQ.TRADE_HAS_SUCCESS", "交易已被支付")
            if existing.status == "TRADE_CLOSED":
                raise Refusal("ACQ.TRADE_HAS_CLOSE", "交易已经关闭")
            if existing.request != biz:
                raise Refusal("ACQ.DISCORDANT_REPEAT_REQUEST", "同一笔交易号的参数不一致")
            return {"out_trade_no": out_trade_no, "trade_no": existing.trade_no}
        try:
            time_expire = (datetime.strptime(biz["time_expire"], FORMAT).replace(tzinfo=SHANGHAI)
                           if biz.get("time_expire") else None)
        except ValueError:
            raise Refusal("ACQ.INVALID_PARAMETER", "time_expire 格式错误") from None
        now = self.clock.now()
        royalty_freeze = (biz.get("extend_params") or {}).get("royalty_freeze") == "true"
        trade = FakeTrade(  # trade_no: 28 digits starting with the date
            trade_no=f"{now.astimezone(SHANGHAI):%Y%m%d}2200{secrets.randbelow(10**16):016d}",
            out_trade_no=out_trade_no, total_fen=total_fen, request=biz, buyer_open_id=buyer_open_id,
            buyer_id=buyer_id, royalty_freeze=royalty_freeze,
            notify_url=params.get("notify_url"), created_at=now, time_expire=time_expire,
        )
        self.trades[out_trade_no] = trade
        return {"out_trade_no": out_trade_no, "trade_no": trade.trade_no}

    def _query(self, biz: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        trade = self._trade(biz)
        body = {"trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no, "trade_status": trade.status,
                "total_amount": yuan(trade.total_fen), **self._buyer(trade)}
        if trade.paid_at is not None:
            body.update(receipt_amount=yuan(trade.total_fen), buyer_pay_amount=yuan(trade.total_fen),
                        send_pay_date=shanghai(trade.paid_at))
        return body

    @staticmethod
    def _buyer(trade: FakeTrade) -> dict[str, str]:
        if trade.buyer_open_id:
            return {"buyer_open_id": trade.buyer_open_id}
        return {"buyer_user_id": trade.buyer_id or ""}

    def _close(self, biz: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        trade = self._trade(biz)
        if trade.status != "WAIT_BUYER_PAY":
            raise Refusal("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
        trade.status, trade.closed_at = "TRADE_CLOSED", self.clock.now()
        return {"trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no}

    def _refund(self, biz: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        trade = self._trade(biz)
        amount_fen = fen(biz.get("refund_amount"))
        out_request_no = str(biz.get("out_request_no") or trade.out_trade_no)  # default unconfirmed
        answer = {"trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no, **self._buyer(trade)}
        if (done := trade.refunds.get(out_request_no)) is not None:  # the same request refunds once (B4)
            if done.refund_fen != amount_fen:
                raise Refusal("ACQ.DISCORDANT_REPEAT_REQUEST", "退款请求号重复但金额不同")
            return {**answer, "fund_change": "N", "refund_fee": yuan(trade.refunded_fen),
                    "gmt_refund_pay": shanghai(done.at)}
        if trade.status == "TRADE_CLOSED":
            raise Refusal("ACQ.TRADE_HAS_CLOSE", "交易已经关闭")
        if trade.status != "TRADE_SUCCESS":
            raise Refusal("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
        refundable_fen = trade.total_fen - trade.refunded_fen
        if amount_fen > refundable_fen:
            raise Refusal("ACQ.REASON_TRADE_REFUND_FEE_ERR", "退款金额超限")
        if amount_fen < refundable_fen and not biz.get("out_request_no"):
            raise Refusal("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "部分退款需要 out_request_no")
        if trade.frozen_fen >= amount_fen:  # frozen funds first (B5), then the seller's balance
            trade.frozen_fen -= amount_fen
        elif self.seller_available_fen >= amount_fen:
            self.seller_available_fen -= amount_fen
        else:
            raise Refusal("ACQ.SELLER_BALANCE_NOT_ENOUGH", "卖家余额不足")
        now = self.clock.now()
        trade.refunds[out_request_no] = FakeRefund(out_request_no, amount_fen, now)
        if trade.refunded_fen == trade.total_fen:
            trade.status, trade.closed_at = "TRADE_CLOSED", now
        refund_fee = yuan(trade.refunded_fen)
        self._notify(trade, {"refund_fee": refund_fee, "gmt_refund": shanghai(now),
                             "out_biz_no": out_request_no})
        return {**answer, "fund_change": "Y", "refund_fee": refund_fee, "gmt_refund_pay": shanghai(now)}

    def _refund_query(self, biz: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        trade = self._trade(biz)
        answer = {"trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no}
        refund = trade.refunds.get(str(biz.get("out_request_no", "")))
        if refund is None:  # unknown request: 10000 without refund fields (unconfirmed)
            return answer
        return {**answer, "out_request_no": refund.out_request_no, "refund_amount": yuan(refund.refund_fen),
                "total_amount": yuan(trade.total_fen), "refund_status": "REFUND_SUCCESS",
                "gmt_refund_pay": shanghai(refund.at)}

    def _bind(self, biz: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        receivers = biz.get("receiver_list")
        if not _REQUEST_NO.fullmatch(str(biz.get("out_request_no", ""))):
            raise Refusal("ACQ.INVALID_PARAMETER", "out_request_no 格式错误")
        if not isinstance(receivers, list) or not 1 <= len(receivers) <= 20:
            raise Refusal("ACQ.INVALID_PARAMETER", "receiver_list 需要 1 到 20 个分账方")
        wanted = set()
        for receiver in receivers:
            kind, account = receiver.get("type"), str(receiver.get("account") or "")
            if kind not in ("userId", "loginName", "openId") or not account:
                raise Refusal("ACQ.INVALID_RECEIVER_TYPE", "分账收款方类型参数非法")
            bad_user_id = kind == "userId" and not _USER_ID.fullmatch(account)
            if bad_user_id or (kind == "loginName" and not receiver.get("name")):
                raise Refusal("ACQ.INVALID_PARAMETER", "分账方账号或姓名不合法")
            wanted.add((kind, account))
        if len(self.relations | wanted) > 20_000:
            raise Refusal("ACQ.INVALID_PARAMETER", "分账关系超过 20000")
        self.relations |= wanted
        return {"result_code": "SUCCESS"}  # field unconfirmed (H)

    def _settle(self, biz: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        out_request_no = str(biz.get("out_request_no", ""))
        if not _REQUEST_NO.fullmatch(out_request_no):
            raise Refusal("ACQ.INVALID_PARAMETER", "out_request_no 格式错误")
        if (earlier := self.settlements.get(out_request_no)) is not None:  # per merchant, idempotent
            if earlier.request != biz:
                raise Refusal("ACQ.DISCORDANT_REPEAT_REQUEST", "分账请求号重复但明细不同")
            return {"trade_no": earlier.trade_no, "settle_no": earlier.settle_no}
        trade = self._trade({"trade_no": biz.get("trade_no")})
        parts = biz.get("royalty_parameters") or []
        finish = (biz.get("extend_params") or {}).get("royalty_finish") == "true"
        if biz.get("royalty_mode", "sync") != "sync":
            raise Refusal("ACQ.INVALID_PARAMETER", "本模拟只支持同步分账")
        if trade.status not in ("TRADE_SUCCESS", "TRADE_FINISHED") or trade.royalty_finished:
            raise Refusal("ACQ.ILLEGAL_SETTLE_STATE", "结算单状态不允许分账")  # sub_code [3rd]
        if not isinstance(parts, list) or len(parts) > 5 or not (parts or finish) or trade.settle_calls >= 50:
            raise Refusal("ACQ.INVALID_PARAMETER", "同步分账每次 1 到 5 个分账方，每单最多 50 次")
        amounts = []
        for part in parts:
            if (part.get("trans_in_type"), part.get("trans_in")) not in self.relations:
                raise Refusal("ACQ.ROYALTY_RECEIVER_INVALID", "收入方不在分账关系内")
            if "amount_percentage" in part:
                percentage = part["amount_percentage"]
                if not isinstance(percentage, int) or not 1 <= percentage <= 100:
                    raise Refusal("ACQ.INVALID_PARAMETER", "amount_percentage 需在 1 到 100 之间")
                amounts.append(trade.total_fen * percentage // 100)
            else:
                amounts.append(fen(part.get("amount")))
        amount_fen = sum(amounts)
        cap_fen = trade.total_fen * self.knobs.royalty_cap_bp // 10_000
        if trade.settled_fen + amount_fen > min(cap_fen, trade.total_fen - trade.refunded_fen):
            raise Refusal("ACQ.ALLOC_AMOUNT_VALIDATE_ERROR", "分账金额超过最大可分账金额")
        if trade.frozen_fen >= amount_fen:
            trade.frozen_fen -= amount_fen
        elif trade.royalty_freeze or self.seller_available_fen < amount_fen:
            raise Refusal("ACQ.TXN_RESULT_ACCOUNT_BALANCE_NOT_ENOUGH", "账户余额不足")
        else:
            self.seller_available_fen -= amount_fen
        now = self.clock.now()
        details = []
        for part, part_fen in zip(parts, amounts, strict=True):
            self._credit(part["trans_in"], part_fen)
            details.append({
                "operation_type": "transfer", "execute_dt": shanghai(now), "trans_out": self.seller_id,
                "trans_out_type": "userId", "trans_in": part["trans_in"],
                "trans_in_type": part["trans_in_type"],
                "amount": yuan(part_fen), "state": "SUCCESS",
                "detail_id": f"{len(self.settlements) + 1:012d}{len(details):04d}",
            })
        trade.settled_fen += amount_fen
        trade.settle_calls += 1
        if finish:
            self._finish_royalty(trade)
        settle_no = f"2088{secrets.randbelow(10**24):024d}"
        settlement = FakeSettlement(trade.trade_no, settle_no, biz, now, details)
        self.settlements[out_request_no] = settlement
        return {"trade_no": trade.trade_no, "settle_no": settlement.settle_no}

    def _settle_query(self, biz: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        settlement = self.settlements.get(str(biz.get("out_request_no", "")))
        if settlement is None or settlement.trade_no != biz.get("trade_no", settlement.trade_no):
            raise Refusal("ACQ.TRADE_SETTLE_NOT_EXIST", "分账单据不存在")  # sub_code unconfirmed
        return {"out_request_no": biz["out_request_no"], "operation_dt": shanghai(settlement.at),
                "royalty_detail_list": settlement.details}

    def _onsettle_query(self, biz: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        trade = self._trade({"trade_no": biz.get("trade_no")})
        if trade.royalty_freeze or trade.royalty_finished:
            unsettled_fen = trade.frozen_fen
        else:
            unsettled_fen = trade.total_fen - trade.refunded_fen - trade.settled_fen if trade.paid_at else 0
        return {"unsettled_amount": yuan(unsettled_fen)}

    def _oauth(self, biz: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        if params.get("grant_type") != "authorization_code":
            raise _gateway_error("isv.invalid-parameter", "grant_type 只支持 authorization_code")
        user = self.oauth_codes.pop(params.get("code", ""), None)  # single use
        if user is None:
            raise _gateway_error("isv.code-invalid", "授权码code无效")
        return {**user, "access_token": "authusrB" + secrets.token_hex(16), "expires_in": "1296000",
                "refresh_token": "authusrB" + secrets.token_hex(16), "re_expires_in": "2592000",
                "auth_start": shanghai(self.clock.now())}

    def _transfer(self, biz: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        out_biz_no = str(biz.get("out_biz_no", ""))
        if not _OUT_NO.fullmatch(out_biz_no):
            raise Refusal("INVALID_PARAMETER", "out_biz_no 格式错误")
        if (done := self.transfers.get(out_biz_no)) is not None:  # idempotent by out_biz_no
            if done["request"] != biz:
                raise Refusal("DISCORDANT_REPEAT_REQUEST", "同一个 out_biz_no 的参数不一致")
            return done["answer"]
        payee = biz.get("payee_info") or {}
        if biz.get("product_code") != "TRANS_ACCOUNT_NO_PWD" or biz.get("biz_scene") != "DIRECT_TRANSFER":
            raise Refusal("INVALID_PARAMETER", "需要 TRANS_ACCOUNT_NO_PWD / DIRECT_TRANSFER")
        kind, identity = payee.get("identity_type"), str(payee.get("identity") or "")
        if kind not in ("ALIPAY_USER_ID", "ALIPAY_LOGON_ID", "ALIPAY_OPEN_ID") or not identity or (
            kind == "ALIPAY_USER_ID" and not _USER_ID.fullmatch(identity)) or (
                kind == "ALIPAY_LOGON_ID" and not payee.get("name")):
            raise Refusal("PAYEE_NOT_EXIST", "收款账号不存在或姓名有误")
        amount_fen = fen(biz.get("trans_amount"))
        if self.seller_available_fen < amount_fen:
            raise Refusal("PAYER_BALANCE_NOT_ENOUGH", "付款方余额不足")  # sub_code unconfirmed
        self.seller_available_fen -= amount_fen
        self._credit(identity, amount_fen)
        answer = {"out_biz_no": out_biz_no, "order_id": f"2025{secrets.randbelow(10**28):028d}",
                  "pay_fund_order_id": f"2025{secrets.randbelow(10**28):028d}", "status": "SUCCESS",
                  "trans_date": shanghai(self.clock.now())}
        self.transfers[out_biz_no] = {"request": biz, "answer": answer}
        return answer

    # --- notifications (B3) ---------------------------------------------------------------------------------

    def notification_form(self, trade: FakeTrade, extra: dict[str, str] | None = None) -> dict[str, str]:
        form = {
            "notify_time": shanghai(self.clock.now()), "notify_type": "trade_status_sync",
            "notify_id": secrets.token_hex(16), "app_id": self.app_id, "charset": "utf-8", "version": "1.0",
            "sign_type": "RSA2", "trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no,
            "seller_id": self.seller_id, "trade_status": trade.status, "total_amount": yuan(trade.total_fen),
            "gmt_create": shanghai(trade.created_at), **self._buyer(trade), **(extra or {}),
        }
        if trade.paid_at is not None:
            form.update(receipt_amount=yuan(trade.total_fen), buyer_pay_amount=yuan(trade.total_fen),
                        gmt_payment=shanghai(trade.paid_at))
        if trade.closed_at is not None:
            form["gmt_close"] = shanghai(trade.closed_at)
        return sign_form(form)

    def _notify(self, trade: FakeTrade, extra: dict[str, str] | None = None) -> None:
        if trade.notify_url:
            form = {**self.notification_form(trade, extra), **(self.knobs.notify_tamper or {})}
            task = asyncio.get_running_loop().create_task(self._deliver(trade.notify_url, form))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _deliver(self, url: str, form: dict[str, str]) -> None:
        for attempt, interval_s in enumerate((0, *NOTIFY_RETRY_INTERVALS_S), start=1):
            await asyncio.sleep(interval_s * self.knobs.notify_scale)
            if await self._post_notification(url, form, attempt):
                if self.knobs.notify_duplicate:
                    await self._post_notification(url, form, attempt + 1)
                return

    async def _post_notification(self, url: str, form: dict[str, str], attempt: int) -> bool:
        if self._http is None:
            self._http = httpx.AsyncClient(trust_env=False, timeout=5, verify=_tls_context())
        try:
            response = await self._http.post(url, data=form)
            status_code, body = response.status_code, response.text
        except httpx.HTTPError as error:
            status_code, body = None, repr(error)
        delivered = body.strip() == "success"  # B3: only this answer stops the retries
        self.notify_attempts.append(
            NotifyAttempt(form["notify_id"], attempt, url, form, status_code, body, delivered),
        )
        return delivered

    # --- control endpoints (not part of Alipay) -------------------------------------------------------------

    async def _control_pay(self, request: Request) -> Response:
        """The buyer completes ``my.tradePay`` (resultCode 9000): TRADE_SUCCESS, then a notification."""
        trade = next((t for t in self.trades.values() if t.trade_no == request.path_params["trade_no"]), None)
        if trade is None:
            return JSONResponse({"error": "unknown trade_no"}, status_code=404)
        self._age(trade)
        if trade.status != "WAIT_BUYER_PAY":
            return JSONResponse({"error": f"trade is {trade.status}"}, status_code=409)
        trade.status, trade.paid_at = "TRADE_SUCCESS", self.clock.now()
        if trade.royalty_freeze:
            trade.frozen_fen = trade.total_fen
        else:
            self.seller_available_fen += trade.total_fen
        self._notify(trade)
        return JSONResponse({"trade_no": trade.trade_no, "trade_status": trade.status})

    async def _control_oauth_code(self, request: Request) -> Response:
        """{"code": ..., "open_id": ..., "user_id"?: ...}: what ``my.getAuthCode`` would have handed out."""
        data = await request.json()
        user = {key: data[key] for key in ("open_id", "user_id", "union_id") if data.get(key)}
        self.oauth_codes[data["code"]] = user
        return JSONResponse({"code": data["code"]}, status_code=201)

    async def _control_clock(self, request: Request) -> Response:
        """{"advance_s": seconds}: moves the fake's time (and that of a client sharing ``fake.clock``)."""
        self.clock.offset += timedelta(seconds=float((await request.json())["advance_s"]))
        return JSONResponse({"now": self.clock.now().isoformat()})

    async def _control_knobs(self, request: Request) -> Response:
        if request.method == "POST":
            data = await request.json()
            unknown = set(data) - {f.name for f in fields(Knobs)} - {"seller_balance_fen"}
            if unknown:
                return JSONResponse({"error": f"unknown knobs {sorted(unknown)}"}, status_code=400)
            self.seller_available_fen = data.pop("seller_balance_fen", self.seller_available_fen)
            for name, value in data.items():
                setattr(self.knobs, name, value)
        return JSONResponse({**asdict(self.knobs), "seller_balance_fen": self.seller_available_fen})

    async def _control_trade(self, request: Request) -> Response:
        trade = self.trades.get(request.path_params["out_trade_no"])
        if trade is None:
            return JSONResponse({"error": "unknown out_trade_no"}, status_code=404)
        self._age(trade)
        return JSONResponse({
            "trade_no": trade.trade_no, "trade_status": trade.status, "total_fen": trade.total_fen,
            "refunded_fen": trade.refunded_fen, "settled_fen": trade.settled_fen,
            "frozen_fen": trade.frozen_fen,
            "royalty_freeze": trade.royalty_freeze, "royalty_finished": trade.royalty_finished,
            "request": trade.request, "notify_url": trade.notify_url,
        })

    async def _control_state(self, request: Request) -> Response:
        return JSONResponse({
            "seller_available_fen": self.seller_available_fen,
            "receiver_balances_fen": self.receiver_balances_fen,
            "relations": sorted(map(list, self.relations)), "transfers": sorted(self.transfers),
        })

    async def _control_notifications(self, request: Request) -> Response:
        return JSONResponse([asdict(attempt) for attempt in self.notify_attempts])


@asynccontextmanager
async def running_alipay_fake(**options: Any) -> AsyncIterator[tuple[AlipayFake, AlipayConfig]]:
    """The fake on a free port of 127.0.0.1, with our client's matching configuration."""
    fake = AlipayFake.create(**options)
    try:
        async with serve(fake.app) as base_url:
            yield fake, fake.client_config(base_url)
    finally:
        await fake.aclose()
