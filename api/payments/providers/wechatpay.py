"""WeChat Pay API v3 (direct merchant, public-key mode): our thin async client.

Facts: ../shared/PAYMENTS.md section A (why our own layer: section E).
- Requests carry ``Authorization: WECHATPAY2-SHA256-RSA2048 ...``, a signature with the merchant API key over
  ``METHOD\\nURL\\nts\\nnonce\\nbody\\n``; the signed bytes are exactly the bytes sent (A2).
- Every response and notification is verified before anything in it is believed: SHA256withRSA over
  ``ts\\nnonce\\nbody\\n`` with the WeChat Pay public key, ``Wechatpay-Serial`` = its ``PUB_KEY_ID_...``, the
  timestamp within the tolerance (A3). Notification resources are AES-256-GCM with the APIv3 key (A4).
- Amounts are integer fen. The idempotency keys (out_trade_no, out_refund_no, out_order_no) are the caller's.
No business rules live here.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple, Self, TypeVar
from urllib.parse import quote, urlencode

import httpx
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from api.core.clock import Clock, as_utc, to_shanghai
from api.payments.providers.errors import BadSignature, ProviderError

PROVIDER = "wechatpay"
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
_OAEP = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA1()), algorithm=hashes.SHA1(), label=None)
T = TypeVar("T")


@dataclass(frozen=True)
class WeChatPayConfig:
    mchid: str
    appid: str
    """The mini-program AppID bound to ``mchid`` (A6)."""
    merchant_serial_no: str
    merchant_private_key_pem: str = field(repr=False)
    platform_public_key_pem: str
    platform_public_key_id: str
    """``PUB_KEY_ID_...``: every answer must carry it in ``Wechatpay-Serial``."""
    apiv3_key: str = field(repr=False)
    base_url: str = "https://api.mch.weixin.qq.com"
    timestamp_tolerance_s: int = 300

    def __post_init__(self) -> None:
        if len(self.apiv3_key.encode()) != 32:
            raise ValueError("the APIv3 key must be 32 bytes")


# ---------------------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Transaction:
    appid: str
    mchid: str
    out_trade_no: str
    trade_state: str
    """SUCCESS | REFUND | NOTPAY | CLOSED | REVOKED | USERPAYING | PAYERROR"""
    trade_state_desc: str
    total_fen: int
    transaction_id: str | None = None
    payer_total_fen: int | None = None
    payer_openid: str | None = None
    success_time: datetime | None = None
    trade_type: str | None = None
    bank_type: str | None = None
    attach: str | None = None


@dataclass(frozen=True)
class Refund:
    out_refund_no: str
    refund_id: str
    out_trade_no: str
    transaction_id: str
    status: str
    """SUCCESS | CLOSED | PROCESSING | ABNORMAL"""
    refund_fen: int
    total_fen: int
    payer_refund_fen: int | None = None
    payer_total_fen: int | None = None
    user_received_account: str | None = None
    channel: str | None = None
    create_time: datetime | None = None
    success_time: datetime | None = None


@dataclass(frozen=True)
class Receiver:
    type: str
    account: str
    relation_type: str
    custom_relation: str | None = None


class SplitTo(NamedTuple):
    """One receiver of a profit-sharing request; a plain 4-tuple works too."""

    type: str
    account: str
    amount_fen: int
    description: str


@dataclass(frozen=True)
class SplitResult:
    type: str
    account: str
    amount_fen: int
    description: str
    result: str
    """PENDING | SUCCESS | CLOSED: the real outcome of this part (A10)."""
    fail_reason: str | None = None
    detail_id: str | None = None
    create_time: datetime | None = None
    finish_time: datetime | None = None


@dataclass(frozen=True)
class ProfitSharingOrder:
    transaction_id: str
    out_order_no: str
    order_id: str
    state: str
    """PROCESSING | FINISHED: only says the action is done; each receiver's ``result`` is the outcome."""
    receivers: tuple[SplitResult, ...] = ()


@dataclass(frozen=True)
class Notification:
    id: str
    event_type: str
    """TRANSACTION.SUCCESS, REFUND.SUCCESS | REFUND.ABNORMAL | REFUND.CLOSED, ..."""
    summary: str
    create_time: datetime | None
    resource: Transaction | Refund | Mapping[str, Any]
    """A Transaction or a Refund; the decrypted JSON for any other event type."""


@dataclass(frozen=True)
class NotificationAnswer:
    status: int
    body: bytes
    media_type: str = "application/json"


def notification_answer(failure: str | None = None, *, status: int = 500) -> NotificationAnswer:
    """What to answer WeChat (A5): success is 204 without a body; a failure (a bad signature: 401, or
    "could not store it now": 5xx) is 4xx/5xx with ``{"code":"FAIL","message":...}``; WeChat resends."""
    if failure is None:
        return NotificationAnswer(204, b"")
    if not 400 <= status <= 599:
        raise ValueError("a failure answer needs a 4xx or 5xx status")
    return NotificationAnswer(status, _json_bytes({"code": "FAIL", "message": failure}))


# ----------------------------------------------------------------------------------------------- client


class WeChatPayClient:
    def __init__(
        self, config: WeChatPayConfig, clock: Clock, transport: httpx.AsyncBaseTransport | None = None,
        timeout_s: float = 10,
    ) -> None:
        self._config, self._clock = config, clock
        self._private_key, self._platform_key = _load_keys(
            config.merchant_private_key_pem, config.platform_public_key_pem)
        self._http = httpx.AsyncClient(base_url=config.base_url, transport=transport, timeout=timeout_s)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- payments (A6-A8)

    async def jsapi_order(
        self, out_trade_no: str, description: str, total_fen: int, payer_openid: str, notify_url: str,
        profit_sharing: bool = False, time_expire: datetime | None = None,
    ) -> str:
        """Place a mini-program order; returns the prepay_id. Repeating it with the same arguments is safe."""
        c = self._config
        body: dict[str, Any] = {
            "appid": c.appid, "mchid": c.mchid, "description": description, "out_trade_no": out_trade_no,
            "notify_url": notify_url, "amount": {"total": _fen(total_fen), "currency": "CNY"},
            "payer": {"openid": payer_openid}, "settle_info": {"profit_sharing": profit_sharing},
        }
        if time_expire is not None:
            body["time_expire"] = to_shanghai(time_expire).isoformat(timespec="seconds")
        data = await self._call("POST", "/v3/pay/transactions/jsapi", body)
        return _parse(lambda: str(data["prepay_id"]))

    def payment_params(self, prepay_id: str) -> dict[str, str]:
        """``wx.requestPayment`` arguments (A7): paySign over ``appId\\ntimeStamp\\nnonceStr\\npackage\\n``"""
        timestamp, nonce, package = str(self._now()), _nonce(), f"prepay_id={prepay_id}"
        pay_sign = self._sign(f"{self._config.appid}\n{timestamp}\n{nonce}\n{package}\n".encode())
        return {"timeStamp": timestamp, "nonceStr": nonce, "package": package, "signType": "RSA",
                "paySign": pay_sign}

    async def query_order(self, out_trade_no: str) -> Transaction:
        path = f"/v3/pay/transactions/out-trade-no/{_seg(out_trade_no)}"
        data = await self._call("GET", path, query={"mchid": self._config.mchid})
        return _parse(lambda: _transaction(data))

    async def close_order(self, out_trade_no: str) -> None:
        path = f"/v3/pay/transactions/out-trade-no/{_seg(out_trade_no)}/close"
        await self._call("POST", path, {"mchid": self._config.mchid})

    # -- refunds (A9)

    async def refund(
        self, out_trade_no: str, out_refund_no: str, refund_fen: int, total_fen: int,
        reason: str | None = None, notify_url: str | None = None,
    ) -> Refund:
        """Ask for a refund; the answer only says it was accepted (PROCESSING). Retry with the same
        out_refund_no: one number is one refund."""
        body: dict[str, Any] = {
            "out_trade_no": out_trade_no, "out_refund_no": out_refund_no,
            "amount": {"refund": _fen(refund_fen), "total": _fen(total_fen), "currency": "CNY"},
        }
        if reason:
            body["reason"] = reason
        if notify_url:
            body["notify_url"] = notify_url
        data = await self._call("POST", "/v3/refund/domestic/refunds", body)
        return _parse(lambda: _refund(data))

    async def query_refund(self, out_refund_no: str) -> Refund:
        data = await self._call("GET", f"/v3/refund/domestic/refunds/{_seg(out_refund_no)}")
        return _parse(lambda: _refund(data))

    # -- profit sharing (A10)

    async def add_receiver(
        self, type: str, account: str, relation_type: str, name: str | None = None,
        custom_relation: str | None = None,
    ) -> Receiver:
        """Add a receiver (idempotent). ``name`` goes OAEP-encrypted with the WeChat Pay public key."""
        body: dict[str, Any] = {"appid": self._config.appid, "type": type, "account": account,
                                "relation_type": relation_type}
        if name is not None:
            body["name"] = base64.b64encode(self._platform_key.encrypt(name.encode(), _OAEP)).decode()
        if custom_relation is not None:
            body["custom_relation"] = custom_relation
        data = await self._call("POST", "/v3/profitsharing/receivers/add", body)
        return _parse(lambda: Receiver(data["type"], data["account"], data["relation_type"],
                                       data.get("custom_relation")))

    async def profit_sharing_order(
        self, transaction_id: str, out_order_no: str,
        receivers: Sequence[SplitTo | tuple[str, str, int, str]], unfreeze_unsplit: bool,
    ) -> ProfitSharingOrder:
        body = {
            "appid": self._config.appid, "transaction_id": transaction_id, "out_order_no": out_order_no,
            "receivers": [{"type": t, "account": a, "amount": _fen(fen), "description": d}
                          for t, a, fen, d in receivers],
            "unfreeze_unsplit": unfreeze_unsplit,
        }
        data = await self._call("POST", "/v3/profitsharing/orders", body)
        return _parse(lambda: _sharing(data))

    async def query_profit_sharing(self, out_order_no: str, transaction_id: str) -> ProfitSharingOrder:
        data = await self._call("GET", f"/v3/profitsharing/orders/{_seg(out_order_no)}",
                                query={"transaction_id": transaction_id})
        return _parse(lambda: _sharing(data))

    async def unfreeze(self, transaction_id: str, out_order_no: str, description: str) -> ProfitSharingOrder:
        """Release what was not split. ``out_order_no`` must be NEW: reusing a split's number "succeeds" and
        releases nothing (A10)."""
        body = {"transaction_id": transaction_id, "out_order_no": out_order_no, "description": description}
        data = await self._call("POST", "/v3/profitsharing/orders/unfreeze", body)
        return _parse(lambda: _sharing(data))

    async def unsplit_amount(self, transaction_id: str) -> int:
        data = await self._call("GET", f"/v3/profitsharing/transactions/{_seg(transaction_id)}/amounts")
        return _parse(lambda: _amount(data["unsplit_amount"]))

    # -- notifications (A3-A5)

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        """Verify (signature, key id, timestamp), then decrypt and type a notification. What does not verify
        or decrypt raises BadSignature: answer it with ``notification_answer(..., status=401)``."""
        self._verify(headers, body)
        try:
            envelope = json.loads(body)
            resource = envelope["resource"]
            if resource["algorithm"] != "AEAD_AES_256_GCM":
                raise BadSignature(f"unexpected algorithm {resource['algorithm']!r}")
            plaintext = AESGCM(self._config.apiv3_key.encode()).decrypt(
                resource["nonce"].encode(), base64.b64decode(resource["ciphertext"], validate=True),
                (resource.get("associated_data") or "").encode())
            data = json.loads(plaintext)
            if data.get("mchid") != self._config.mchid:
                raise BadSignature(f"a notification for another merchant: {data.get('mchid')!r}")
            event_type = str(envelope["event_type"])
            parsed: Transaction | Refund | Mapping[str, Any] = (
                _transaction(data) if event_type.startswith("TRANSACTION.")
                else _refund(data) if event_type.startswith("REFUND.") else data)
            return Notification(str(envelope["id"]), event_type, str(envelope.get("summary", "")),
                                _time(envelope.get("create_time")), parsed)
        except InvalidTag as exc:
            raise BadSignature("the notification resource does not decrypt") from exc
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise BadSignature(f"a malformed notification: {exc!r}") from exc

    # -- the protocol

    async def _call(
        self, method: str, path: str, body: Mapping[str, Any] | None = None, *,
        query: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        c = self._config
        url = f"{path}?{urlencode(query)}" if query else path
        content = b"" if body is None else _json_bytes(body)
        timestamp, nonce = str(self._now()), _nonce()
        signature = self._sign(f"{method}\n{url}\n{timestamp}\n{nonce}\n".encode() + content + b"\n")
        authorization = (f'{SIGNATURE_TYPE} mchid="{c.mchid}",nonce_str="{nonce}",signature="{signature}",'
                         f'timestamp="{timestamp}",serial_no="{c.merchant_serial_no}"')
        headers = {
            "Authorization": authorization,
            "Accept": "application/json", "Wechatpay-Serial": c.platform_public_key_id,
            "User-Agent": "chargeops-wechatpay/1",
        }
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            response = await self._http.request(method, url, content=content if body is not None else None,
                                                headers=headers)
        except httpx.TransportError as exc:
            raise ProviderError(PROVIDER, "NETWORK_ERROR", repr(exc), retryable=True) from exc
        status = response.status_code
        unsigned = "wechatpay-signature" not in response.headers
        if unsigned and not response.is_success and _retryable(status, ""):
            # e.g. a gateway's bare 502: nothing in it is believed; it only says "try again, same key"
            raise ProviderError(PROVIDER, f"HTTP_{status}", "unsigned error answer", http_status=status,
                                retryable=True)
        self._verify(response.headers, response.content)
        try:
            data = json.loads(response.content) if response.content else {}
        except ValueError:
            data = {}
        data = data if isinstance(data, dict) else {}
        if response.is_success:
            return data
        code = str(data.get("code") or f"HTTP_{status}")
        raise ProviderError(PROVIDER, code, str(data.get("message", "")), http_status=status,
                            retryable=_retryable(status, code))

    def _verify(self, headers: Mapping[str, str], body: bytes) -> None:
        h = {key.lower(): value for key, value in headers.items()}
        timestamp, nonce = h.get("wechatpay-timestamp", ""), h.get("wechatpay-nonce", "")
        signature, serial = h.get("wechatpay-signature", ""), h.get("wechatpay-serial", "")
        if not (timestamp and nonce and signature and serial):
            raise BadSignature("missing Wechatpay-* signature headers")
        if h.get("wechatpay-signature-type", SIGNATURE_TYPE) != SIGNATURE_TYPE:
            raise BadSignature(f"unsupported signature type {h['wechatpay-signature-type']!r}")
        if serial != self._config.platform_public_key_id:
            raise BadSignature(f"signed with an unknown key {serial!r}")
        if not timestamp.isdigit() or abs(self._now() - int(timestamp)) >= self._config.timestamp_tolerance_s:
            raise BadSignature(f"the timestamp {timestamp!r} is outside the tolerance")
        try:
            self._platform_key.verify(base64.b64decode(signature, validate=True),
                                      f"{timestamp}\n{nonce}\n".encode() + body + b"\n",
                                      padding.PKCS1v15(), hashes.SHA256())
        except (ValueError, InvalidSignature) as exc:  # a SIGNTEST probe fails here too (A3)
            raise BadSignature("the signature does not verify") from exc

    def _sign(self, message: bytes) -> str:
        return base64.b64encode(self._private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()

    def _now(self) -> int:
        return int(self._clock.now().timestamp())


@lru_cache(maxsize=8)
def _load_keys(private_pem: str, public_pem: str) -> tuple[rsa.RSAPrivateKey, rsa.RSAPublicKey]:
    """Loading (and checking) an RSA private key costs ~50 ms; clients made per use share the loaded keys."""
    private_key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    public_key = serialization.load_pem_public_key(public_pem.encode())
    if not isinstance(private_key, rsa.RSAPrivateKey) or not isinstance(public_key, rsa.RSAPublicKey):
        raise TypeError("WeChat Pay v3 keys are RSA keys")
    return private_key, public_key


# ------------------------------------------------------------------------------------------------ parsing


def _parse(build: Callable[[], T]) -> T:
    """A verified answer that lacks what the API promises is the provider's fault, not a crash of ours."""
    try:
        return build()
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ProviderError(PROVIDER, "BAD_RESPONSE", f"unexpected answer: {exc!r}") from exc


def _transaction(d: Mapping[str, Any]) -> Transaction:
    amount = d["amount"]
    return Transaction(
        appid=d["appid"], mchid=d["mchid"], out_trade_no=d["out_trade_no"], trade_state=d["trade_state"],
        trade_state_desc=d.get("trade_state_desc", ""), total_fen=_amount(amount["total"]),
        transaction_id=d.get("transaction_id") or None, payer_openid=(d.get("payer") or {}).get("openid"),
        payer_total_fen=_opt_amount(amount.get("payer_total")), success_time=_time(d.get("success_time")),
        trade_type=d.get("trade_type"), bank_type=d.get("bank_type"), attach=d.get("attach"),
    )


def _refund(d: Mapping[str, Any]) -> Refund:
    """A Refund answer (``status``) or the plaintext of a refund notification (``refund_status``)."""
    amount = d["amount"]
    return Refund(
        out_refund_no=d["out_refund_no"], refund_id=d["refund_id"], out_trade_no=d["out_trade_no"],
        transaction_id=d["transaction_id"], status=d.get("status") or d["refund_status"],
        refund_fen=_amount(amount["refund"]), total_fen=_amount(amount["total"]),
        payer_refund_fen=_opt_amount(amount.get("payer_refund")),
        payer_total_fen=_opt_amount(amount.get("payer_total")),
        user_received_account=d.get("user_received_account"), channel=d.get("channel"),
        create_time=_time(d.get("create_time")), success_time=_time(d.get("success_time")),
    )


def _sharing(d: Mapping[str, Any]) -> ProfitSharingOrder:
    receivers = tuple(
        SplitResult(r["type"], r["account"], _amount(r["amount"]), r.get("description", ""), r["result"],
                    r.get("fail_reason") or None, r.get("detail_id"), _time(r.get("create_time")),
                    _time(r.get("finish_time")))
        for r in d.get("receivers") or ())
    return ProfitSharingOrder(d["transaction_id"], d["out_order_no"], d["order_id"], d["state"], receivers)


def _amount(value: Any) -> int:
    if type(value) is not int:
        raise TypeError(f"expected an integer amount in fen, got {value!r}")
    return value


def _opt_amount(value: Any) -> int | None:
    return None if value is None else _amount(value)


def _fen(value: int) -> int:
    if type(value) is not int or value < 0:
        raise ValueError(f"amounts are non-negative integer fen, got {value!r}")
    return value


def _time(value: Any) -> datetime | None:
    return as_utc(datetime.fromisoformat(value)) if value else None


def _seg(value: str) -> str:
    return quote(value, safe="")


def _nonce() -> str:
    return secrets.token_hex(16).upper()


def _json_bytes(value: Mapping[str, Any]) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _retryable(status: int, code: str) -> bool:
    return status == 429 or status >= 500 or code == "SYSTEM_ERROR"
