"""Each PaymentProvider against its local fake over real HTTP on 127.0.0.1: the mapping end to end.

WeChatPayProvider drives the WeChat Pay v3 fake, AlipayProvider the Alipay fake, and the SandboxProvider is
its own counterpart. Notifications arrive at a tiny Starlette receiver (our notify_url in miniature) that
parses them with the provider under test and answers what ``provider.answer`` says. The fakes and the
receiver are started once per module; each test uses order numbers of its own.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.core.money import share_of
from api.payments.alipay import AlipayProvider
from api.payments.provider import (
    Notification,
    NotificationKind,
    PartResult,
    PaymentProvider,
    PaymentStatus,
    PrepayRequest,
    Receiver,
    SharePart,
    StepStatus,
)
from api.payments.providers.alipay import AlipayClient
from api.payments.providers.errors import BadSignature, ProviderError
from api.payments.providers.wechatpay import WeChatPayClient
from api.payments.sandbox import SandboxProvider
from api.payments.wechat import WeChatPayProvider
from tests.fakes.alipay import AlipayFake, sign_form
from tests.fakes.serve import serve
from tests.fakes.wechatpay import FakeClock, WeChatPayFake, stranger_key, tls_context

OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
WX_PARTNER = Receiver("MERCHANT_ID", "1900000110", "杭州某物业服务有限公司")
ALI_BUYER = "074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5"
ALI_PARTNER = Receiver("userId", "2088000000000777", "城南充电合伙人")
SANDBOX_KEY = b"sandbox-secret-key-for-tests-0001"


def wx_part(amount_fen: int) -> tuple[SharePart, ...]:
    return (SharePart(WX_PARTNER, amount_fen, "物业分成"),)


def ali_part(amount_fen: int) -> tuple[SharePart, ...]:
    return (SharePart(ALI_PARTNER, amount_fen, "合伙人分成"),)


# ------------------------------------------------------------------------------------------- our notify_url


@dataclass
class Inbox:
    """One provider's notify_url: parse with the provider, answer as it says, keep each notification once."""

    provider: PaymentProvider
    fail_next: int = 0
    """Answer this many deliveries with a failure before looking at them (our server "is busy")."""
    accepted: dict[str, Notification] = field(default_factory=dict)
    raw: dict[str, tuple[dict[str, str], bytes]] = field(default_factory=dict)
    rejected: list[str] = field(default_factory=list)
    answered: list[int] = field(default_factory=list)

    async def endpoint(self, request: Request) -> Response:
        headers, body = dict(request.headers), await request.body()
        if self.fail_next > 0:
            self.fail_next -= 1
            answer = self.provider.answer(False, "busy")
        else:
            try:
                notification = self.provider.parse_notification(headers, body)
            except BadSignature as error:
                self.rejected.append(str(error))
                answer = self.provider.answer(False, "bad signature")
            else:
                self.accepted.setdefault(notification.external_id, notification)
                self.raw.setdefault(notification.external_id, (headers, body))
                answer = self.provider.answer(True)
        self.answered.append(answer.status_code)
        return Response(answer.body, status_code=answer.status_code,
                        media_type=answer.media_type)  # as api/web/pay.py answers

    async def get(self, out_trade_no: str, kind: NotificationKind,
                  where: Callable[[Notification], bool] = lambda n: True) -> Notification:
        """The accepted notification about this order (and kind); waits up to 3 s for it."""
        for _ in range(600):
            for notification in self.accepted.values():
                about = (notification.out_trade_no, notification.kind) == (out_trade_no, kind)
                if about and where(notification):
                    return notification
            await asyncio.sleep(0.005)
        raise AssertionError(f"no {kind} notification about {out_trade_no}; rejected: {self.rejected}")


@pytest.fixture(scope="module")
async def notify_server() -> AsyncIterator[tuple[str, dict[str, Inbox]]]:
    inboxes: dict[str, Inbox] = {}

    async def endpoint(request: Request) -> Response:
        return await inboxes[request.path_params["name"]].endpoint(request)

    app = Starlette(routes=[Route("/notify/{name}", endpoint, methods=["POST"])])
    async with serve(app) as url:
        yield url, inboxes


def local_transport() -> httpx.AsyncHTTPTransport:
    return httpx.AsyncHTTPTransport(verify=tls_context())


async def refused(call: Any) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        await call
    return caught.value


# -------------------------------------------------------------------------------------------------- WeChat


@dataclass
class WeChat:
    fake: WeChatPayFake
    provider: WeChatPayProvider
    control: httpx.AsyncClient
    inbox: Inbox
    notify_url: str

    def request(self, no: str, amount_fen: int = 1000, profit_sharing: bool = True) -> PrepayRequest:
        return PrepayRequest(no, "充电预付", amount_fen, OPENID, profit_sharing, self.notify_url)

    async def paid(self, no: str, amount_fen: int = 1000, profit_sharing: bool = True) -> Notification:
        await self.provider.prepay(self.request(no, amount_fen, profit_sharing))
        answer = await self.control.post(f"/__fake__/wechat/pay/{no}")
        assert answer.status_code == 200, answer.text
        return await self.inbox.get(no, NotificationKind.PAYMENT)

    async def ctl(self, path: str, **params: Any) -> None:
        answer = await self.control.post(f"/__fake__/wechat/{path}", params=params)
        assert answer.status_code == 200, answer.text


@pytest.fixture(scope="module")
async def wx(notify_server: tuple[str, dict[str, Inbox]]) -> AsyncIterator[WeChat]:
    our_url, inboxes = notify_server
    fake, config = WeChatPayFake.create()
    async with serve(fake.app) as fake_url:
        config = replace(config, base_url=fake_url)
        async with WeChatPayClient(config, fake.clock, local_transport()) as client, \
                httpx.AsyncClient(base_url=fake_url, verify=tls_context(), trust_env=False) as control:
            notify_url = f"{our_url}/notify/wechatpay"
            provider = WeChatPayProvider(client, refund_notify_url=notify_url)
            inboxes["wechatpay"] = inbox = Inbox(provider)
            try:
                yield WeChat(fake, provider, control, inbox, notify_url)
            finally:
                await fake.aclose()


async def test_wechat_maps_the_whole_path_from_prepay_to_finished_sharing(wx: WeChat):
    # given a 10.00 yuan prepaid cap with its funds frozen for profit sharing
    provider, no = wx.provider, "WXPATH0001"
    prepared = await provider.prepay(wx.request(no))

    # then the mini-program gets exactly wx.requestPayment's five fields, paySign by the merchant key
    params = prepared.client_params
    assert set(params) == {"timeStamp", "nonceStr", "package", "signType", "paySign"}
    assert params["package"] == f"prepay_id={prepared.provider_ref}" and params["signType"] == "RSA"
    signed = f"{wx.fake.orders[no].appid}\n{params['timeStamp']}\n{params['nonceStr']}\n{params['package']}\n"
    wx.fake.merchant_public_key.verify(base64.b64decode(params["paySign"]), signed.encode(),
                                       padding.PKCS1v15(), hashes.SHA256())
    assert wx.fake.orders[no].profit_sharing is True
    unpaid = await provider.query_payment(no)
    assert (unpaid.status, unpaid.transaction_id, unpaid.amount_fen) == (PaymentStatus.PENDING, None, 1000)

    # when the driver pays
    assert (await wx.control.post(f"/__fake__/wechat/pay/{no}")).status_code == 200

    # then the notification reads as a payment with WeChat's event id, and the query agrees
    paid = await wx.inbox.get(no, NotificationKind.PAYMENT)
    assert paid.provider == "wechatpay" and paid.external_id.startswith("EV-")
    assert (paid.status, paid.amount_fen, paid.out_refund_no) == ("paid", 1000, None)
    assert paid.transaction_id and paid.raw["event_type"] == "TRANSACTION.SUCCESS"
    json.dumps(paid.raw)  # the inbox can store it as it is
    state = await provider.query_payment(no)
    assert (state.status, state.transaction_id) == (PaymentStatus.PAID, paid.transaction_id)
    assert state.payer_id == OPENID
    assert state.paid_at == paid.at is not None
    tx = paid.transaction_id

    # when 3.00 yuan are refunded
    refund = await provider.refund(no, "WXPATH0001R1", 300, 1000, "未用完的预付款")

    # then WeChat has only accepted it, until it settles: then the notification and the query say SUCCEEDED
    assert (refund.status, refund.refund_fen, refund.message) == (StepStatus.PENDING, 300, "PROCESSING")
    assert (await provider.query_refund(no, "WXPATH0001R1")).status is StepStatus.PENDING
    await wx.ctl("refund/WXPATH0001R1/settle", result="SUCCESS")
    refunded = await wx.inbox.get(no, NotificationKind.REFUND)
    assert (refunded.status, refunded.amount_fen) == ("succeeded", 300)
    assert refunded.out_refund_no == "WXPATH0001R1"
    assert refunded.transaction_id == tx and refunded.at is not None
    done = await provider.query_refund(no, "WXPATH0001R1")
    assert (done.status, done.refund_fen, done.at) == (StepStatus.SUCCEEDED, 300, refunded.at)
    assert done.provider_ref == wx.fake.refunds["WXPATH0001R1"].refund_id
    assert (await provider.query_payment(no)).status is PaymentStatus.PAID  # trade_state REFUND is still paid

    # when the partner is bound and, a minute after payment, gets 30 % of the total
    await provider.bind_receiver(WX_PARTNER)
    assert wx.fake.receivers[("MERCHANT_ID", WX_PARTNER.account)]["relation_type"] == "PARTNER"
    await wx.ctl("clock/advance", seconds=61)
    part = SharePart(WX_PARTNER, share_of(1000, provider.max_share_bp), "物业分成")
    shared = await provider.share(tx, no, "WXPATH0001S1", (part,))

    # then the share is pending until WeChat has processed it, then SUCCEEDED part by part
    assert shared.status is StepStatus.PENDING and shared.parts[0].status is StepStatus.PENDING
    assert wx.fake.requests[-1].body.count(b'"unfreeze_unsplit":false') == 1
    await wx.ctl("profitsharing/WXPATH0001S1/finish", result="SUCCESS")
    queried = await provider.query_share(tx, no, "WXPATH0001S1")
    assert queried.status is StepStatus.SUCCEEDED
    assert queried.parts == (PartResult(WX_PARTNER.account, 300, StepStatus.SUCCEEDED),)

    # when the rest is released under a new number
    finish = await provider.finish_sharing(tx, no, "WXPATH0001F1")

    # then the unfreeze gives the merchant the 4.00 left, and nothing more can be shared
    assert finish.status is StepStatus.PENDING
    await wx.ctl("profitsharing/WXPATH0001F1/finish", result="SUCCESS")
    finished = await provider.query_share(tx, no, "WXPATH0001F1")
    assert finished.status is StepStatus.SUCCEEDED
    assert finished.parts == (PartResult(wx.fake.mchid, 400, StepStatus.SUCCEEDED),)
    late = await refused(provider.share(tx, no, "WXPATH0001S2", wx_part(1)))
    assert (late.provider_code, late.retryable) == ("INVALID_REQUEST", False)

    # and a second finish (a retry under yet another number) finds nothing unsplit: SUCCEEDED, not an error
    again = await provider.finish_sharing(tx, no, "WXPATH0001F2")
    assert (again.status, again.parts) == (StepStatus.SUCCEEDED, ())


async def test_wechat_refuses_sharing_above_max_share_bp_even_in_steps(wx: WeChat):
    # given a paid 10.00 yuan order a minute old and a bound partner
    provider, no = wx.provider, "WXCAP0001"
    tx = (await wx.paid(no)).transaction_id
    assert tx is not None
    await provider.bind_receiver(WX_PARTNER)
    await wx.ctl("clock/advance", seconds=61)
    cap = share_of(1000, provider.max_share_bp)

    # when one fen above the cap is asked at once, then in two steps
    at_once = await refused(provider.share(tx, no, "WXCAP0001A", wx_part(cap + 1)))
    first = await provider.share(tx, no, "WXCAP0001B", wx_part(cap - 100))
    second = await refused(provider.share(tx, no, "WXCAP0001C", wx_part(101)))

    # then both are refused for good, and exactly the cap can be shared
    assert (at_once.provider_code, at_once.retryable, at_once.http_status) == ("INVALID_REQUEST", False, 400)
    assert first.status is StepStatus.PENDING
    assert (second.provider_code, second.retryable) == ("INVALID_REQUEST", False)
    rest = await provider.share(tx, no, "WXCAP0001D", wx_part(100))
    assert rest.parts == (PartResult(WX_PARTNER.account, 100, StepStatus.PENDING),)


async def test_wechat_abnormal_refund_stays_pending_and_a_closed_one_fails(wx: WeChat):
    # given a paid ordinary order with two refunds asked
    provider, no = wx.provider, "WXRST0001"
    await wx.paid(no, 2000, profit_sharing=False)
    await provider.refund(no, "WXRST0001A", 100, 2000, "")
    await provider.refund(no, "WXRST0001C", 200, 2000, "")

    # when WeChat ends one ABNORMAL (the payer's card is gone) and the other CLOSED
    await wx.ctl("refund/WXRST0001A/settle", result="ABNORMAL")
    await wx.ctl("refund/WXRST0001C/settle", result="CLOSED")

    # then the abnormal one is not final (no second refund must be made) and says why; the closed one failed
    abnormal = await provider.query_refund(no, "WXRST0001A")
    assert abnormal.status is StepStatus.PENDING and abnormal.message.startswith("ABNORMAL")
    noted = await wx.inbox.get(no, NotificationKind.REFUND, lambda n: n.out_refund_no == "WXRST0001A")
    assert (noted.status, noted.raw["event_type"]) == ("pending", "REFUND.ABNORMAL")
    closed = await provider.query_refund(no, "WXRST0001C")
    assert (closed.status, closed.refund_fen) == (StepStatus.FAILED, 200)
    failed = await wx.inbox.get(no, NotificationKind.REFUND, lambda n: n.out_refund_no == "WXRST0001C")
    assert failed.status == "failed"

    # and a refund of another order's number is not taken for this one
    mismatch = await refused(provider.query_refund("WXOTHER001", "WXRST0001A"))
    assert mismatch.provider_code == "REFUND_MISMATCH"


async def test_wechat_close_is_reentrant_and_a_paid_order_is_refused(wx: WeChat):
    # given an unpaid order and a paid one
    provider = wx.provider
    await provider.prepay(wx.request("WXCLOSE01"))
    await wx.paid("WXCLOSE02")

    # when both are closed (the first twice)
    await provider.close("WXCLOSE01")
    await provider.close("WXCLOSE01")
    error = await refused(provider.close("WXCLOSE02"))

    # then the unpaid one is CLOSED and the paid one stays PAID
    assert (await provider.query_payment("WXCLOSE01")).status is PaymentStatus.CLOSED
    assert (error.provider_code, error.retryable) == ("ORDERPAID", False)
    assert (await provider.query_payment("WXCLOSE02")).status is PaymentStatus.PAID


def wechat_headers(key: rsa.RSAPrivateKey, body: bytes, timestamp: int, serial: str) -> dict[str, str]:
    nonce = secrets.token_hex(16)
    message = f"{timestamp}\n{nonce}\n".encode() + body + b"\n"
    signature = key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    return {"wechatpay-timestamp": str(timestamp), "wechatpay-nonce": nonce, "wechatpay-serial": serial,
            "wechatpay-signature-type": "WECHATPAY2-SHA256-RSA2048",
            "wechatpay-signature": base64.b64encode(signature).decode()}


async def test_wechat_forged_tampered_or_stale_notifications_are_bad_signatures(wx: WeChat):
    # given a real payment notification as it arrived
    provider, fake = wx.provider, wx.fake
    paid = await wx.paid("WXFORGE01")
    headers, body = wx.inbox.raw[paid.external_id]
    now = int(fake.clock.now().timestamp())
    assert provider.parse_notification(headers, body).external_id == paid.external_id

    # when the body is changed, signed by a stranger, re-signed too late, or its ciphertext swapped under a
    # valid signature
    envelope = json.loads(body)
    envelope["resource"]["ciphertext"] = base64.b64encode(b"x" * 64).decode()
    swapped = json.dumps(envelope).encode()
    attempts = {
        "tampered": (headers, body.replace(b"TRANSACTION.SUCCESS", b"TRANSACTION.REFUND!")),
        "forged": (wechat_headers(stranger_key(), body, now, fake.public_key_id), body),
        "stale": (wechat_headers(fake.platform_key, body, now - 300, fake.public_key_id), body),
        "other key id": (wechat_headers(fake.platform_key, body, now, "PUB_KEY_ID_0000"), body),
        "ciphertext": (wechat_headers(fake.platform_key, swapped, now, fake.public_key_id), swapped),
    }

    # then none of them is believed
    for name, (forged_headers, forged_body) in attempts.items():
        with pytest.raises(BadSignature):
            provider.parse_notification(forged_headers, forged_body)
            pytest.fail(name)

    # and over HTTP a forged delivery is answered 500 {"code":"FAIL"}, so WeChat would resend it
    knobs = {"notify_tamper": "forged", "notify_max_attempts": 1}
    assert (await wx.control.post("/__fake__/wechat/knobs", json=knobs)).status_code == 200
    try:
        await provider.prepay(wx.request("WXFORGE02"))
        await wx.control.post("/__fake__/wechat/pay/WXFORGE02")
        await fake.idle()
    finally:
        reset = {"notify_tamper": None, "notify_max_attempts": 16}
        await wx.control.post("/__fake__/wechat/knobs", json=reset)
    assert [a.status for a in fake.notify_attempts if a.tamper == "forged"] == [500]
    assert not [n for n in wx.inbox.accepted.values() if n.out_trade_no == "WXFORGE02"]
    failure = provider.answer(False, "bad signature")
    assert (failure.status_code, json.loads(failure.body)["code"]) == (500, "FAIL")
    assert (provider.answer(True).status_code, provider.answer(True).body) == (204, b"")


# -------------------------------------------------------------------------------------------------- Alipay


@dataclass
class Alipay:
    fake: AlipayFake
    provider: AlipayProvider
    control: httpx.AsyncClient
    inbox: Inbox
    notify_url: str

    def request(self, no: str, amount_fen: int = 10_000, profit_sharing: bool = True) -> PrepayRequest:
        return PrepayRequest(no, "充电订单", amount_fen, ALI_BUYER, profit_sharing, self.notify_url)

    async def paid(self, no: str, amount_fen: int = 10_000, profit_sharing: bool = True) -> Notification:
        prepared = await self.provider.prepay(self.request(no, amount_fen, profit_sharing))
        answer = await self.control.post(f"/pay/{prepared.client_params['tradeNO']}")
        assert answer.status_code == 200, answer.text
        return await self.inbox.get(no, NotificationKind.PAYMENT)


@pytest.fixture(scope="module")
async def ali(notify_server: tuple[str, dict[str, Inbox]]) -> AsyncIterator[Alipay]:
    our_url, inboxes = notify_server
    fake = AlipayFake.create()
    async with serve(fake.app) as fake_url:
        async with AlipayClient(fake.client_config(fake_url), fake.clock, local_transport()) as client, \
                httpx.AsyncClient(base_url=f"{fake_url}/__fake__/alipay", trust_env=False) as control:
            provider = AlipayProvider(client)
            inboxes["alipay"] = inbox = Inbox(provider)
            try:
                yield Alipay(fake, provider, control, inbox, f"{our_url}/notify/alipay")
            finally:
                await fake.aclose()


async def test_alipay_maps_the_whole_path_from_prepay_to_finished_sharing(ali: Alipay):
    # given a 100.00 yuan mini-program trade with its funds frozen for royalty
    provider, no = ali.provider, "ALIPATH0001"
    prepared = await provider.prepay(ali.request(no))

    # then my.tradePay gets the trade_no, and Alipay was asked to freeze
    trade_no = prepared.provider_ref
    assert prepared.client_params == {"tradeNO": trade_no} and trade_no
    assert ali.fake.trades[no].request["extend_params"] == {"royalty_freeze": "true"}
    unpaid = await provider.query_payment(no)
    assert (unpaid.status, unpaid.transaction_id, unpaid.amount_fen) == (PaymentStatus.PENDING, None, 10_000)

    # when the buyer pays
    assert (await ali.control.post(f"/pay/{trade_no}")).status_code == 200

    # then the notification reads as a payment with Alipay's notify_id, and the query agrees
    paid = await ali.inbox.get(no, NotificationKind.PAYMENT)
    form = dict(parse_qsl(ali.inbox.raw[paid.external_id][1].decode()))
    assert paid.provider == "alipay" and paid.external_id == form["notify_id"]
    assert (paid.status, paid.amount_fen, paid.transaction_id) == ("paid", 10_000, trade_no)
    state = await provider.query_payment(no)
    assert (state.status, state.transaction_id, state.payer_id) == (PaymentStatus.PAID, trade_no, ALI_BUYER)
    assert state.paid_at == paid.at is not None

    # when 12.34 yuan are refunded, and the call is repeated after a "timeout"
    refund = await provider.refund(no, "ALIPATH0001R1", 1_234, 10_000, "未用完的预付款")
    retried = await provider.refund(no, "ALIPATH0001R1", 1_234, 10_000, "未用完的预付款")

    # then the refund succeeded at once, once; the notification and the query say so
    assert (refund.status, refund.refund_fen) == (StepStatus.SUCCEEDED, 1_234)
    assert (retried.status, retried.refund_fen) == (StepStatus.SUCCEEDED, 1_234)
    assert ali.fake.trades[no].refunded_fen == 1_234
    refunded = await ali.inbox.get(no, NotificationKind.REFUND)
    assert (refunded.status, refunded.amount_fen) == ("succeeded", 1_234)
    assert refunded.out_refund_no == "ALIPATH0001R1"
    queried = await provider.query_refund(no, "ALIPATH0001R1")
    assert (queried.status, queried.refund_fen) == (StepStatus.SUCCEEDED, 1_234)
    unknown = await refused(provider.query_refund(no, "ALIPATH0001R9"))
    assert (unknown.provider_code, unknown.retryable) == ("REFUND_NOT_EXIST", False)

    # when the partner is bound (twice: the same request) and gets 20.00 yuan
    await provider.bind_receiver(ALI_PARTNER)
    await provider.bind_receiver(ALI_PARTNER)
    shared = await provider.share(trade_no, no, "ALIPATH0001S1", ali_part(2_000))

    # then the sync settle succeeded as a whole, and the query shows the part
    assert ("userId", ALI_PARTNER.account) in ali.fake.relations
    assert shared.status is StepStatus.SUCCEEDED
    assert shared.parts == (PartResult(ALI_PARTNER.account, 2_000, StepStatus.SUCCEEDED),)
    assert (await provider.query_share(trade_no, no, "ALIPATH0001S1")) == shared

    # when the rest is released
    finish = await provider.finish_sharing(trade_no, no, "ALIPATH0001F1")

    # then a settle with royalty_finish and no parameters went out, nothing stays frozen, no more sharing
    assert finish.status is StepStatus.SUCCEEDED
    sent = ali.fake.settlements["ALIPATH0001F1"].request
    assert sent["extend_params"] == {"royalty_finish": "true"} and "royalty_parameters" not in sent
    assert ali.fake.trades[no].royalty_finished and ali.fake.trades[no].frozen_fen == 0
    assert (await provider.query_share(trade_no, no, "ALIPATH0001F1")).status is StepStatus.SUCCEEDED
    late = await refused(provider.share(trade_no, no, "ALIPATH0001S2", ali_part(1)))
    assert late.retryable is False
    again = await provider.finish_sharing(trade_no, no, "ALIPATH0001F2")  # nothing unsettled: done
    assert again.status is StepStatus.SUCCEEDED

    # and a second refund's notification carries the cumulative refund (all Alipay says)
    await provider.refund(no, "ALIPATH0001R2", 100, 10_000, "")
    second = await ali.inbox.get(no, NotificationKind.REFUND, lambda n: n.out_refund_no == "ALIPATH0001R2")
    assert second.amount_fen == 1_334


async def test_alipay_refuses_sharing_above_max_share_bp_even_in_steps(ali: Alipay):
    # given a paid frozen trade of 100.00 and a bound partner
    provider, no = ali.provider, "ALICAP0001"
    trade_no = (await ali.paid(no)).transaction_id
    assert trade_no is not None
    await provider.bind_receiver(ALI_PARTNER)
    cap = share_of(10_000, provider.max_share_bp)

    # when one fen above the cap is asked at once, then in two steps
    at_once = await refused(provider.share(trade_no, no, "ALICAP0001A", ali_part(cap + 1)))
    await provider.share(trade_no, no, "ALICAP0001B", ali_part(cap - 1))
    second = await refused(provider.share(trade_no, no, "ALICAP0001C", ali_part(2)))

    # then both are refused for good, and the last fen of the cap can still be shared
    assert (at_once.provider_code, at_once.retryable) == ("ACQ.ALLOC_AMOUNT_VALIDATE_ERROR", False)
    assert (second.provider_code, second.retryable) == ("ACQ.ALLOC_AMOUNT_VALIDATE_ERROR", False)
    last = await provider.share(trade_no, no, "ALICAP0001D", ali_part(1))
    assert last.status is StepStatus.SUCCEEDED and ali.fake.trades[no].settled_fen == cap


async def test_alipay_fully_refunded_trade_is_still_paid_and_close_is_reentrant(ali: Alipay):
    # given a paid trade refunded in full (Alipay closes it) and an unpaid trade
    provider = ali.provider
    paid = await ali.paid("ALIFULL01", 2_500, profit_sharing=False)
    await provider.refund("ALIFULL01", "ALIFULL01R", 2_500, 2_500, "")
    await provider.prepay(ali.request("ALIFULL02"))

    # when both are queried, the unpaid one closed twice and the paid one closed once
    refunded = await provider.query_payment("ALIFULL01")
    await provider.close("ALIFULL02")
    await provider.close("ALIFULL02")
    error = await refused(provider.close("ALIFULL01"))

    # then the refunded trade is PAID (with its trade_no), the unpaid one CLOSED, closing the paid one refused
    assert ali.fake.trades["ALIFULL01"].status == "TRADE_CLOSED"
    assert (refunded.status, refunded.transaction_id) == (PaymentStatus.PAID, paid.transaction_id)
    closed = await provider.query_payment("ALIFULL02")
    assert (closed.status, closed.transaction_id) == (PaymentStatus.CLOSED, None)
    assert error.provider_code == "ACQ.TRADE_STATUS_ERROR"
    full = await ali.inbox.get("ALIFULL01", NotificationKind.REFUND)
    assert (full.amount_fen, full.raw["trade_status"]) == (2_500, "TRADE_CLOSED")


async def test_alipay_forged_or_tampered_notifications_are_bad_signatures(ali: Alipay):
    # given a real payment notification as it arrived
    provider = ali.provider
    paid = await ali.paid("ALIFORGE01", 1_000)
    headers, body = ali.inbox.raw[paid.external_id]
    form = dict(parse_qsl(body.decode()))
    assert provider.parse_notification(headers, body).external_id == paid.external_id

    # when the amount is changed, a forger signs it, or it is validly signed for another app
    attempts = {
        "tampered": {**form, "total_amount": "0.01"},
        "forged": sign_form({**form, "total_amount": "0.01"}, key="forger"),
        "other app": sign_form({**form, "app_id": "2021000000009999"}),
        "unsigned": {k: v for k, v in form.items() if k != "sign"},
    }

    # then none of them is believed
    for name, forged in attempts.items():
        with pytest.raises(BadSignature):
            provider.parse_notification(headers, urlencode(forged).encode())
            pytest.fail(name)
    with pytest.raises(BadSignature):
        provider.parse_notification(headers, b"\xff\xfe not a form")
    assert (provider.answer(True).body, provider.answer(False).body) == (b"success", b"fail")


# ------------------------------------------------------------------------------------------------- Sandbox


@dataclass
class Sandbox:
    provider: SandboxProvider
    clock: FakeClock
    inbox: Inbox
    notify_url: str

    def request(self, no: str, amount_fen: int = 1000, profit_sharing: bool = True) -> PrepayRequest:
        return PrepayRequest(no, "充电预付（沙箱）", amount_fen, "demo-driver", profit_sharing, self.notify_url)

    async def paid(self, no: str, amount_fen: int = 1000) -> Notification:
        await self.provider.prepay(self.request(no, amount_fen))
        await self.provider.pay(no)
        return await self.inbox.get(no, NotificationKind.PAYMENT)


@pytest.fixture(scope="module")
async def sbx(notify_server: tuple[str, dict[str, Inbox]]) -> AsyncIterator[Sandbox]:
    our_url, inboxes = notify_server
    clock = FakeClock()
    provider = SandboxProvider(SANDBOX_KEY, clock, transport=local_transport(),
                               retry_delays_s=(0.01, 0.02, 0.03))
    inboxes["sandbox"] = inbox = Inbox(provider)
    try:
        yield Sandbox(provider, clock, inbox, f"{our_url}/notify/sandbox")
    finally:
        await provider.aclose()


async def test_sandbox_maps_the_whole_path_from_prepay_to_finished_sharing(sbx: Sandbox):
    # given a sandbox order of 10.00 (play money) for profit sharing
    provider, no = sbx.provider, "SBXPATH01"
    prepared = await provider.prepay(sbx.request(no))
    assert prepared.client_params == {"sandbox": "1", "out_trade_no": no, "payUrl": f"/sandbox/pay/{no}"}
    assert (await provider.prepay(sbx.request(no))) == prepared  # the same request again: the same answer
    assert (await provider.query_payment(no)).status is PaymentStatus.PENDING

    # when the demo pay page pays it
    await provider.pay(no)

    # then a signed notification reaches our notify_url and the query agrees
    paid = await sbx.inbox.get(no, NotificationKind.PAYMENT)
    assert paid.provider == "sandbox" and paid.external_id.startswith("SANDBOX-EV-") and paid.raw["sandbox"]
    assert (paid.status, paid.amount_fen) == ("paid", 1000) and paid.transaction_id
    state = await provider.query_payment(no)
    assert (state.status, state.transaction_id) == (PaymentStatus.PAID, paid.transaction_id)
    assert state.paid_at == paid.at is not None
    tx = paid.transaction_id

    # when 3.00 are refunded, then the partner is bound and shares 30 %, then the rest is released
    refund = await provider.refund(no, "SBXPATH01R", 300, 1000, "未用完")
    await provider.bind_receiver(WX_PARTNER)
    shared = await provider.share(tx, no, "SBXPATH01S", wx_part(300))
    finish = await provider.finish_sharing(tx, no, "SBXPATH01F")

    # then every step succeeded at once, the refund was notified too, and the queries agree
    assert (refund.status, refund.refund_fen) == (StepStatus.SUCCEEDED, 300)
    refunded = await sbx.inbox.get(no, NotificationKind.REFUND)
    assert (refunded.status, refunded.amount_fen, refunded.out_refund_no) == ("succeeded", 300, "SBXPATH01R")
    assert await provider.query_refund(no, "SBXPATH01R") == refund
    assert shared.parts == (PartResult(WX_PARTNER.account, 300, StepStatus.SUCCEEDED),)
    assert await provider.query_share(tx, no, "SBXPATH01S") == shared
    assert finish.status is StepStatus.SUCCEEDED
    assert await provider.query_share(tx, no, "SBXPATH01F") == finish
    assert await provider.finish_sharing(tx, no, "SBXPATH01F") == finish  # a retry

    # and after the finish nothing more can be shared
    late = await refused(provider.share(tx, no, "SBXPATH01S2", wx_part(1)))
    assert late.provider_code == "SHARING_FINISHED"


async def test_sandbox_refuses_what_the_real_providers_refuse(sbx: Sandbox):
    # given a paid sandbox order of 10.00 with 9.00 refunded, a bound partner, and an unpaid order
    provider, no = sbx.provider, "SBXREF01"
    tx = (await sbx.paid(no)).transaction_id
    assert tx is not None
    await provider.refund(no, "SBXREF01R1", 900, 1000, "")
    await provider.bind_receiver(WX_PARTNER)
    await provider.prepay(sbx.request("SBXREF02"))
    stranger = (SharePart(Receiver("MERCHANT_ID", "1900009999", "没绑定"), 1, "分成"),)

    # when each refused thing is tried
    codes = {
        "refund above refundable": await refused(provider.refund(no, "SBXREF01R2", 101, 1000, "")),
        "refund of another total": await refused(provider.refund(no, "SBXREF01R3", 1, 999, "")),
        "refund of an unpaid order": await refused(provider.refund("SBXREF02", "SBXREF02R", 1, 1000, "")),
        "unbound receiver": await refused(provider.share(tx, no, "SBXREF01S0", stranger)),
        "more than is left": await refused(provider.share(tx, no, "SBXREF01S1", wx_part(101))),
        "close of a paid order": await refused(provider.close(no)),
        "prepay with other parameters": await refused(provider.prepay(sbx.request("SBXREF02", 2000))),
        "unknown order": await refused(provider.query_payment("SBXNOPE")),
    }

    # then each is a non-retryable ProviderError with its own code, and nothing changed
    assert {name: error.provider_code for name, error in codes.items()} == {
        "refund above refundable": "REFUND_EXCEEDS_REFUNDABLE", "refund of another total": "INVALID_REQUEST",
        "refund of an unpaid order": "ORDER_NOT_PAID", "unbound receiver": "RECEIVER_NOT_BOUND",
        "more than is left": "NOT_ENOUGH_UNSPLIT", "close of a paid order": "ORDER_PAID",
        "prepay with other parameters": "INVALID_REQUEST", "unknown order": "ORDER_NOT_EXIST",
    }
    assert not any(error.retryable for error in codes.values())
    assert (await provider.query_payment(no)).status is PaymentStatus.PAID


async def test_sandbox_caps_sharing_cumulatively_at_max_share_bp(sbx: Sandbox):
    # given a paid sandbox order of 10.00 and a bound partner
    provider, no = sbx.provider, "SBXCAP01"
    tx = (await sbx.paid(no)).transaction_id
    assert tx is not None
    await provider.bind_receiver(WX_PARTNER)
    cap = share_of(1000, provider.max_share_bp)

    # when one fen above the cap is asked at once, then in two steps
    at_once = await refused(provider.share(tx, no, "SBXCAP01A", wx_part(cap + 1)))
    await provider.share(tx, no, "SBXCAP01B", wx_part(cap - 1))
    second = await refused(provider.share(tx, no, "SBXCAP01C", wx_part(2)))

    # then both are refused, a reused number with other parts too, and exactly the cap can be shared
    assert at_once.provider_code == second.provider_code == "EXCEEDS_MAX_SHARE"
    reused = await refused(provider.share(tx, no, "SBXCAP01B", wx_part(1)))
    assert reused.provider_code == "INVALID_REQUEST"
    last = await provider.share(tx, no, "SBXCAP01D", wx_part(1))
    assert last.status is StepStatus.SUCCEEDED


async def test_sandbox_close_expiry_and_pay_of_a_closed_order(sbx: Sandbox):
    # given an unpaid order that expires in 10 minutes and another unpaid order
    provider = sbx.provider
    expires_at = sbx.clock.now() + timedelta(minutes=10)
    await provider.prepay(replace(sbx.request("SBXEXP01"), expires_at=expires_at))
    await provider.prepay(sbx.request("SBXEXP02"))

    # when the second is closed (twice) and 10 minutes pass
    await provider.close("SBXEXP02")
    await provider.close("SBXEXP02")
    sbx.clock.advance(600)

    # then both are CLOSED and cannot be paid
    for no in ("SBXEXP01", "SBXEXP02"):
        assert (await provider.query_payment(no)).status is PaymentStatus.CLOSED
        assert (await refused(provider.pay(no))).provider_code == "ORDER_CLOSED"


async def test_sandbox_retries_a_notification_until_our_server_answers_2xx(sbx: Sandbox):
    # given our server answers the next two deliveries with a failure
    provider = sbx.provider
    sbx.inbox.fail_next = 2
    await provider.prepay(sbx.request("SBXRETRY1"))

    # when the order is paid
    await provider.pay("SBXRETRY1")
    await provider.idle()

    # then the same notification was sent three times, and taken once
    paid = await sbx.inbox.get("SBXRETRY1", NotificationKind.PAYMENT)
    attempts = [a for a in provider.attempts if a.notification_id == paid.external_id]
    assert [(a.attempt, a.status_code) for a in attempts] == [(1, 500), (2, 500), (3, 204)]
    assert [n for n in sbx.inbox.accepted.values() if n.out_trade_no == "SBXRETRY1"] == [paid]

    # and a notify_url where nothing listens is tried 1 + len(retry_delays_s) times, then given up
    await provider.prepay(replace(sbx.request("SBXRETRY2"), notify_url="http://127.0.0.1:9/notify"))
    await provider.pay("SBXRETRY2")
    await provider.idle()
    dead = [a for a in provider.attempts if a.url == "http://127.0.0.1:9/notify"]
    assert [(a.attempt, a.status_code) for a in dead] == [(1, None), (2, None), (3, None), (4, None)]


async def test_sandbox_stale_forged_or_tampered_notifications_are_refused(sbx: Sandbox):
    # given a real sandbox notification as it arrived, and the signature rule written out here again
    provider = sbx.provider
    paid = await sbx.paid("SBXFORGE1")
    _, body = sbx.inbox.raw[paid.external_id]
    now = int(sbx.clock.now().timestamp())

    def headers(timestamp: int, key: bytes = SANDBOX_KEY, signed: bytes = body) -> dict[str, str]:
        mac = hmac.new(key, f"{timestamp}\n".encode() + signed, hashlib.sha256).hexdigest()
        return {"X-Sandbox-Timestamp": str(timestamp), "X-Sandbox-Signature": mac}

    assert provider.parse_notification(headers(now - 299), body).external_id == paid.external_id

    # when it comes 5 minutes late or early, under another key, with a changed amount, or unsigned
    more = body.replace(b'"amount_fen":1000', b'"amount_fen":100000')
    attempts = {
        "stale": (headers(now - 300), body),
        "from the future": (headers(now + 300), body),
        "forged": (headers(now, key=b"not-the-sandbox-secret-key"), body),
        "tampered": (headers(now), more),
        "unsigned": ({"X-Sandbox-Timestamp": str(now)}, body),
    }

    # then none is believed
    assert more != body
    for name, (forged_headers, forged_body) in attempts.items():
        with pytest.raises(BadSignature):
            provider.parse_notification(forged_headers, forged_body)
            pytest.fail(name)

    # and over HTTP a forged one is answered 500, and not taken
    url = sbx.notify_url
    async with httpx.AsyncClient(transport=local_transport()) as http:
        answer = await http.post(url, content=more, headers=headers(now, key=b"not-the-sandbox-secret-key"))
    assert answer.status_code == 500 and answer.json()["code"] == "FAIL"
    assert sbx.inbox.accepted[paid.external_id].amount_fen == 1000
