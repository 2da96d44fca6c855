"""Our WeChat Pay v3 client against the local fake over real HTTP on 127.0.0.1 (PAYMENTS.md A and F1), and
an independent cross-check of our signatures and of the fake's notifications with wechatpayv3 (E5)."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from wechatpayv3 import utils as wxv3

from api.core.clock import to_shanghai
from api.payments.providers.errors import BadSignature, ProviderError
from api.payments.providers.wechatpay import (
    Notification,
    ProfitSharingOrder,
    Refund,
    SplitTo,
    Transaction,
    WeChatPayClient,
    WeChatPayConfig,
    notification_answer,
)
from tests.fakes.serve import serve
from tests.fakes.wechatpay import (
    RETRY_SCHEDULE_S,
    FakeClock,
    WeChatPayFake,
    merchant_key,
    stranger_key,
    tls_context,
)

OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
PARTNER = "1900000110"
"""A partner merchant (the property company) that receives a share of each order."""
PARTNER_NAME = "杭州某物业服务有限公司"


class NotifyReceiver:
    """Our notify_url in miniature: verify and decrypt with parse_notification, answer as WeChat expects,
    apply each event id once."""

    def __init__(self, client: WeChatPayClient) -> None:
        self.client = client
        self.fail_next = 0
        self.deliveries: list[tuple[dict[str, str], bytes, int]] = []
        self.accepted: dict[str, Notification] = {}
        self._arrived: asyncio.Queue[Notification] = asyncio.Queue()

    async def endpoint(self, request: Request) -> Response:
        body = await request.body()
        if self.fail_next > 0:
            self.fail_next -= 1
            answer = notification_answer("暂时无法处理", status=503)
        else:
            try:
                notification = self.client.parse_notification(request.headers, body)
            except BadSignature as exc:
                answer = notification_answer(str(exc), status=401)
            else:
                answer = notification_answer()
                if notification.id not in self.accepted:
                    self.accepted[notification.id] = notification
                    self._arrived.put_nowait(notification)
        self.deliveries.append((dict(request.headers), body, answer.status))
        media_type = answer.media_type if answer.body else None
        return Response(answer.body, status_code=answer.status, media_type=media_type)

    async def next(self) -> Notification:
        return await asyncio.wait_for(self._arrived.get(), 2)


@dataclass
class WeChat:
    fake: WeChatPayFake
    config: WeChatPayConfig
    client: WeChatPayClient
    control: httpx.AsyncClient
    receiver: NotifyReceiver
    notify_url: str

    async def order(self, out_trade_no: str, total_fen: int = 1000, profit_sharing: bool = True) -> str:
        return await self.client.jsapi_order(out_trade_no, "充电预付", total_fen, OPENID, self.notify_url,
                                             profit_sharing)

    async def pay(self, out_trade_no: str, **options: Any) -> httpx.Response:
        return await self.control.post(f"/__fake__/wechat/pay/{out_trade_no}", json=options or None)

    async def paid_order(self, out_trade_no: str, total_fen: int = 1000, profit_sharing: bool = True) -> str:
        """Ordered, paid and notified; returns the transaction id."""
        await self.order(out_trade_no, total_fen, profit_sharing)
        assert (await self.pay(out_trade_no)).status_code == 200
        paid = (await self.receiver.next()).resource
        assert isinstance(paid, Transaction) and paid.transaction_id
        return paid.transaction_id

    async def splittable(self, out_trade_no: str, total_fen: int = 1000) -> str:
        """A paid profit-sharing order past the one-minute wait, PARTNER added; returns the transaction id."""
        transaction_id = await self.paid_order(out_trade_no, total_fen)
        await self.client.add_receiver("MERCHANT_ID", PARTNER, "PARTNER", name=PARTNER_NAME)
        await self.advance(61)
        return transaction_id

    async def split(self, transaction_id: str, out_order_no: str, amount_fen: int,
                    unfreeze_unsplit: bool = False) -> ProfitSharingOrder:
        part = [SplitTo("MERCHANT_ID", PARTNER, amount_fen, "物业分成")]
        return await self.client.profit_sharing_order(transaction_id, out_order_no, part, unfreeze_unsplit)

    async def settle_refund(self, out_refund_no: str, result: str = "SUCCESS") -> None:
        path = f"/__fake__/wechat/refund/{out_refund_no}/settle"
        answer = await self.control.post(path, params={"result": result})
        assert answer.status_code == 200, answer.text

    async def finish_sharing(self, out_order_no: str, result: str = "SUCCESS") -> None:
        path = f"/__fake__/wechat/profitsharing/{out_order_no}/finish"
        answer = await self.control.post(path, params={"result": result})
        assert answer.status_code == 200, answer.text

    async def advance(self, seconds: float) -> None:
        answer = await self.control.post("/__fake__/wechat/clock/advance", params={"seconds": seconds})
        assert answer.status_code == 200, answer.text


class Switch:
    """An ASGI app handing each request to the current test's app: the two servers start once per module."""

    def __init__(self) -> None:
        self.target: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.target(scope, receive, send)


@pytest.fixture(scope="module")
async def servers() -> AsyncIterator[tuple[Switch, str, Switch, str]]:
    fake_side, our_side = Switch(), Switch()
    async with serve(fake_side) as fake_url, serve(our_side) as our_url:
        yield fake_side, fake_url, our_side, our_url


def transport() -> httpx.AsyncHTTPTransport:
    return httpx.AsyncHTTPTransport(verify=tls_context())


@pytest.fixture
async def wechat(servers: tuple[Switch, str, Switch, str]) -> AsyncIterator[WeChat]:
    fake_side, fake_url, our_side, our_url = servers
    fake, config = WeChatPayFake.create()
    config = replace(config, base_url=fake_url)
    async with WeChatPayClient(config, fake.clock, transport()) as client, \
            httpx.AsyncClient(base_url=fake_url, verify=tls_context()) as control:
        receiver = NotifyReceiver(client)
        fake_side.target = fake.app
        our_side.target = Starlette(routes=[Route("/pay/wechat/notify", receiver.endpoint, methods=["POST"])])
        try:
            yield WeChat(fake, config, client, control, receiver, f"{our_url}/pay/wechat/notify")
        finally:
            await fake.aclose()


async def refused(call: Any) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        await call
    return caught.value


# -------------------------------------------------------------------------------------------- happy path


async def test_the_whole_happy_path_order_pay_notify_refund_split_unfreeze(wechat: WeChat):
    # given: a 10.00 yuan prepaid cap, to be paid with its funds frozen for profit sharing
    client, fake, no = wechat.client, wechat.fake, "CO2025000001"
    prepay_id = await client.jsapi_order(no, "充电预付 10.00 元", 1000, OPENID, wechat.notify_url, True)
    params = client.payment_params(prepay_id)
    assert set(params) == {"timeStamp", "nonceStr", "package", "signType", "paySign"}
    assert params["package"] == f"prepay_id={prepay_id}" and params["signType"] == "RSA"
    signed = f"{wechat.config.appid}\n{params['timeStamp']}\n{params['nonceStr']}\n{params['package']}\n"
    fake.merchant_public_key.verify(base64.b64decode(params["paySign"]), signed.encode(), padding.PKCS1v15(),
                                    hashes.SHA256())
    unpaid = await client.query_order(no)
    assert (unpaid.trade_state, unpaid.transaction_id, unpaid.total_fen) == ("NOTPAY", None, 1000)

    # when: the driver pays
    assert (await wechat.pay(no)).status_code == 200
    notification = await wechat.receiver.next()

    # then: the notification verified, decrypted and says so; the query agrees
    paid = notification.resource
    assert notification.event_type == "TRANSACTION.SUCCESS" and notification.id.startswith("EV-")
    assert isinstance(paid, Transaction) and paid.transaction_id is not None
    assert (paid.trade_state, paid.total_fen, paid.payer_total_fen, paid.payer_openid) == (
        "SUCCESS", 1000, 1000, OPENID)
    assert paid.success_time == fake.clock.now()
    assert await client.query_order(no) == paid
    tx = paid.transaction_id

    # when: the session cost 7.00; the unused 3.00 goes back first, while the money is frozen
    accepted = await client.refund(no, "RF2025000001", 300, 1000, "预付余额退回", wechat.notify_url)
    await wechat.settle_refund("RF2025000001")
    refunded = (await wechat.receiver.next()).resource

    # then
    assert (accepted.status, accepted.refund_fen, accepted.total_fen) == ("PROCESSING", 300, 1000)
    assert isinstance(refunded, Refund)
    assert (refunded.status, refunded.refund_fen, refunded.refund_id) == ("SUCCESS", 300, accepted.refund_id)
    assert (await client.query_refund("RF2025000001")).status == "SUCCESS"
    assert (await client.query_order(no)).trade_state == "REFUND"

    # when: a minute later the partner gets 2.00, then the rest is unfrozen with a NEW out_order_no
    receiver = await client.add_receiver("MERCHANT_ID", PARTNER, "PARTNER", name=PARTNER_NAME)
    await wechat.advance(61)
    part = [SplitTo("MERCHANT_ID", PARTNER, 200, "物业分成")]
    split = await client.profit_sharing_order(tx, "PS2025000001", part, unfreeze_unsplit=False)
    await wechat.finish_sharing("PS2025000001")
    shared = await client.query_profit_sharing("PS2025000001", tx)
    unsplit_before = await client.unsplit_amount(tx)
    unfreeze = await client.unfreeze(tx, "PS2025000001-END", "解冻剩余资金")
    await wechat.finish_sharing("PS2025000001-END")

    # then
    assert (receiver.type, receiver.account, receiver.relation_type) == ("MERCHANT_ID", PARTNER, "PARTNER")
    assert fake.receivers[("MERCHANT_ID", PARTNER)]["name"] == PARTNER_NAME  # decrypted with the fake's key
    assert split.state == "PROCESSING" and [r.result for r in split.receivers] == ["PENDING"]
    assert shared.state == "FINISHED"
    assert [(r.account, r.amount_fen, r.result) for r in shared.receivers] == [(PARTNER, 200, "SUCCESS")]
    assert unsplit_before == 500
    assert unfreeze.out_order_no == "PS2025000001-END" and unfreeze.receivers[0].amount_fen == 500
    assert (await client.query_profit_sharing("PS2025000001-END", tx)).state == "FINISHED"
    assert await client.unsplit_amount(tx) == 0
    assert fake.balance_fen == 500


async def test_time_expire_is_sent_in_shanghai_time_and_ends_the_chance_to_pay(wechat: WeChat):
    # given
    expire = wechat.fake.clock.now() + timedelta(minutes=15)
    await wechat.client.jsapi_order("CO2025000002", "充电", 500, OPENID, wechat.notify_url, time_expire=expire)

    # when
    await wechat.advance(15 * 60)
    answer = await wechat.pay("CO2025000002")

    # then
    sent = wechat.fake.orders["CO2025000002"].request["time_expire"]
    assert sent == to_shanghai(expire).isoformat(timespec="seconds") and sent.endswith("+08:00")
    assert answer.status_code == 409
    assert (await wechat.client.query_order("CO2025000002")).trade_state == "NOTPAY"


async def test_close_is_reentrant_and_a_closed_order_cannot_be_ordered_again_or_paid(wechat: WeChat):
    # given
    await wechat.order("CO2025000003")

    # when
    await wechat.client.close_order("CO2025000003")
    await wechat.client.close_order("CO2025000003")

    # then
    assert (await wechat.client.query_order("CO2025000003")).trade_state == "CLOSED"
    again = await refused(wechat.order("CO2025000003"))
    assert (again.http_status, again.provider_code) == (400, "ORDER_CLOSED")
    assert (await wechat.pay("CO2025000003")).status_code == 409


# ----------------------------------------------------------------------------------------- refusal rules


async def test_a_paid_order_cannot_be_closed_or_ordered_again(wechat: WeChat):
    # given
    await wechat.paid_order("CO2025000004", profit_sharing=False)

    # when
    close = await refused(wechat.client.close_order("CO2025000004"))
    reorder = await refused(wechat.order("CO2025000004", profit_sharing=False))

    # then: the code is a knob (ORDERPAID or ORDER_PAID is unconfirmed, PAYMENTS.md A6/A8)
    assert (close.http_status, close.provider_code, close.retryable) == (400, "ORDERPAID", False)
    assert reorder.provider_code == "ORDERPAID" and "已支付" in reorder.message


async def test_the_already_paid_code_is_a_knob_set_over_http(wechat: WeChat):
    # given
    await wechat.paid_order("CO2025000033", profit_sharing=False)

    # when
    knobs = await wechat.control.post("/__fake__/wechat/knobs",
                                      json={"order_paid_error": [403, "ORDER_PAID"]})
    error = await refused(wechat.client.close_order("CO2025000033"))

    # then
    assert knobs.status_code == 200
    assert (error.http_status, error.provider_code) == (403, "ORDER_PAID")


async def test_a_payment_with_a_coupon_reports_what_the_payer_paid(wechat: WeChat):
    # given
    await wechat.order("CO2025000034")

    # when
    await wechat.pay("CO2025000034", payer_total=900)
    paid = (await wechat.receiver.next()).resource

    # then
    assert isinstance(paid, Transaction) and (paid.total_fen, paid.payer_total_fen) == (1000, 900)


async def test_a_refund_above_what_is_refundable_is_refused(wechat: WeChat):
    # given: 3.00 of 10.00 already refunded
    await wechat.paid_order("CO2025000005")
    await wechat.client.refund("CO2025000005", "RF2025000005-1", 300, 1000)

    # when
    too_much = await refused(wechat.client.refund("CO2025000005", "RF2025000005-2", 701, 1000))
    wrong_total = await refused(wechat.client.refund("CO2025000005", "RF2025000005-3", 100, 999))
    rest = await wechat.client.refund("CO2025000005", "RF2025000005-4", 700, 1000)

    # then
    assert (too_much.http_status, too_much.provider_code) == (400, "INVALID_REQUEST")
    assert not too_much.retryable
    assert "可退金额" in too_much.message
    assert wrong_total.provider_code == "INVALID_REQUEST"
    assert rest.refund_fen == 700
    assert len(wechat.fake.refunds) == 2


async def test_a_closed_refund_frees_its_amount_again(wechat: WeChat):
    # given: a refund of everything, which the bank then closed
    await wechat.paid_order("CO2025000006")
    await wechat.client.refund("CO2025000006", "RF2025000006-1", 1000, 1000, notify_url=wechat.notify_url)

    # when
    await wechat.settle_refund("RF2025000006-1", "CLOSED")
    closed = (await wechat.receiver.next()).resource
    again = await wechat.client.refund("CO2025000006", "RF2025000006-2", 1000, 1000)

    # then
    assert isinstance(closed, Refund) and closed.status == "CLOSED"
    assert (again.status, again.refund_fen) == ("PROCESSING", 1000)


async def test_a_refund_the_merchant_balance_cannot_cover_is_refused_with_not_enough(wechat: WeChat):
    # given: an ordinary order whose money has since left the available balance
    await wechat.paid_order("CO2025000007", profit_sharing=False)
    wechat.fake.balance_fen = 0

    # when
    error = await refused(wechat.client.refund("CO2025000007", "RF2025000007", 100, 1000))

    # then
    assert (error.http_status, error.provider_code, error.retryable) == (403, "NOT_ENOUGH", False)


async def test_a_split_above_the_maximum_ratio_is_refused_cumulatively(wechat: WeChat):
    # given: 30% of 10.00 is 3.00 over all the splits of the order
    tx = await wechat.splittable("CO2025000008")

    # when
    at_once = await refused(wechat.split(tx, "PS2025000008-1", 301))
    first = await wechat.split(tx, "PS2025000008-2", 200)
    over = await refused(wechat.split(tx, "PS2025000008-3", 101))
    exact = await wechat.split(tx, "PS2025000008-4", 100)

    # then
    assert (at_once.http_status, at_once.provider_code) == (400, "INVALID_REQUEST")
    assert "最大分账比例" in at_once.message and "最大分账比例" in over.message
    assert first.state == exact.state == "PROCESSING"
    assert await wechat.client.unsplit_amount(tx) == 700


async def test_the_maximum_ratio_is_configurable(wechat: WeChat):
    # given
    wechat.fake.max_split_ratio = 0.5
    tx = await wechat.splittable("CO2025000009")

    # when
    split = await wechat.split(tx, "PS2025000009-1", 500)
    over = await refused(wechat.split(tx, "PS2025000009-2", 1))

    # then
    assert split.receivers[0].amount_fen == 500
    assert "最大分账比例" in over.message


async def test_a_split_less_than_a_minute_after_payment_is_refused(wechat: WeChat):
    # given
    tx = await wechat.paid_order("CO2025000010")
    await wechat.client.add_receiver("MERCHANT_ID", PARTNER, "PARTNER", name=PARTNER_NAME)

    # when
    await wechat.advance(59)
    early = await refused(wechat.split(tx, "PS2025000010", 100))
    await wechat.advance(1)
    on_time = await wechat.split(tx, "PS2025000010", 100)

    # then
    assert early.provider_code == "INVALID_REQUEST" and "稍后重试" in early.message
    assert on_time.state == "PROCESSING"


async def test_a_split_of_an_order_paid_without_profit_sharing_is_refused(wechat: WeChat):
    # given
    tx = await wechat.paid_order("CO2025000011", profit_sharing=False)
    await wechat.client.add_receiver("MERCHANT_ID", PARTNER, "PARTNER", name=PARTNER_NAME)
    await wechat.advance(61)

    # when
    error = await refused(wechat.split(tx, "PS2025000011", 100))

    # then
    assert error.provider_code == "INVALID_REQUEST" and "非分账订单" in error.message


async def test_a_split_to_a_receiver_never_added_is_refused(wechat: WeChat):
    # given
    tx = await wechat.paid_order("CO2025000012")
    await wechat.advance(61)

    # when
    error = await refused(wechat.split(tx, "PS2025000012", 100))

    # then
    assert "分账接收方关系不存在" in error.message


async def test_a_merchant_receiver_needs_its_encrypted_name(wechat: WeChat):
    # when
    error = await refused(wechat.client.add_receiver("MERCHANT_ID", PARTNER, "PARTNER"))

    # then
    assert (error.http_status, error.provider_code) == (400, "PARAM_ERROR")
    assert wechat.fake.receivers == {}


async def test_unfreeze_with_a_reused_out_order_no_returns_the_split_and_unfreezes_nothing(wechat: WeChat):
    # given: a split of 2.00 of 10.00
    tx = await wechat.splittable("CO2025000013")
    split = await wechat.split(tx, "PS2025000013", 200)

    # when
    reused = await wechat.client.unfreeze(tx, "PS2025000013", "解冻剩余资金")

    # then: "success", but it is the split, and the money is still frozen and splittable
    assert reused == split
    assert await wechat.client.unsplit_amount(tx) == 800
    assert (await wechat.split(tx, "PS2025000013-2", 100)).state == "PROCESSING"


async def test_after_unfreeze_unsplit_no_further_split_is_allowed(wechat: WeChat):
    # given
    tx = await wechat.splittable("CO2025000014")
    await wechat.split(tx, "PS2025000014-1", 200, unfreeze_unsplit=True)

    # when
    error = await refused(wechat.split(tx, "PS2025000014-2", 1))

    # then
    assert "已完结分账" in error.message
    assert await wechat.client.unsplit_amount(tx) == 0


async def test_unsplit_money_unfreezes_by_itself_after_thirty_days(wechat: WeChat):
    # given
    tx = await wechat.splittable("CO2025000015")

    # when
    await wechat.advance(30 * 24 * 3600)

    # then
    assert await wechat.client.unsplit_amount(tx) == 0
    assert wechat.fake.balance_fen == 1000
    assert "已完结分账" in (await refused(wechat.split(tx, "PS2025000015", 1))).message


async def test_a_closed_split_gives_its_money_back_to_the_frozen_amount(wechat: WeChat):
    # given
    tx = await wechat.splittable("CO2025000016")
    await wechat.split(tx, "PS2025000016", 300)

    # when
    await wechat.finish_sharing("PS2025000016", "CLOSED")
    result = await wechat.client.query_profit_sharing("PS2025000016", tx)

    # then: FINISHED only says it is done; the receiver's result is the outcome
    assert result.state == "FINISHED"
    assert [(r.result, r.fail_reason) for r in result.receivers] == [("CLOSED", "ACCOUNT_ABNORMAL")]
    assert await wechat.client.unsplit_amount(tx) == 1000


async def test_unknown_orders_refunds_and_splits_are_404(wechat: WeChat):
    # given
    client, nobody_tx = wechat.client, "4200000000000000000000000000"

    # when
    errors = [
        await refused(client.query_order("CO-NOBODY-1")),
        await refused(client.close_order("CO-NOBODY-1")),
        await refused(client.refund("CO-NOBODY-1", "RF-NOBODY-1", 1, 1)),
        await refused(client.query_refund("RF-NOBODY-1")),
        await refused(client.query_profit_sharing("PS-NOBODY-1", nobody_tx)),
        await refused(client.unsplit_amount(nobody_tx)),
        await refused(wechat.split(nobody_tx, "PS-NOBODY-2", 1)),
        await refused(client.unfreeze(nobody_tx, "PS-NOBODY-3", "x")),
    ]

    # then
    assert [e.provider_code for e in errors] == ["ORDER_NOT_EXIST"] * 2 + ["RESOURCE_NOT_EXISTS"] * 6
    assert {(e.http_status, e.retryable) for e in errors} == {(404, False)}


@pytest.mark.parametrize(("status", "code", "retryable"), [
    (500, "SYSTEM_ERROR", True), (429, "FREQUENCY_LIMITED", True), (403, "USER_ACCOUNT_ABNORMAL", False),
])
async def test_provider_errors_say_whether_the_same_call_may_be_sent_again(wechat: WeChat, status, code,
                                                                          retryable):
    # given
    await wechat.paid_order("CO2025000017")
    wechat.fake.fail_next.append((status, code, "forced"))

    # when
    error = await refused(wechat.client.refund("CO2025000017", "RF2025000017", 100, 1000))
    retried = await wechat.client.refund("CO2025000017", "RF2025000017", 100, 1000)

    # then
    assert (error.provider, error.http_status, error.provider_code) == ("wechatpay", status, code)
    assert error.retryable is retryable
    assert retried.refund_fen == 100 and len(wechat.fake.refunds) == 1


async def test_a_network_failure_is_retryable():
    # given: nothing listens there
    fake, config = WeChatPayFake.create()
    async with WeChatPayClient(config, fake.clock, transport(), timeout_s=2) as client:
        # when
        error = await refused(client.query_order("CO2025000018"))

    # then
    assert (error.provider_code, error.retryable, error.http_status) == ("NETWORK_ERROR", True, None)


# --------------------------------------------------------------------------- the fake verifies what we send


def jsapi_body(w: WeChat, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "appid": w.config.appid, "mchid": w.config.mchid, "description": "充电", "out_trade_no": "CO-RAW-0001",
        "notify_url": w.notify_url, "amount": {"total": 100, "currency": "CNY"}, "payer": {"openid": OPENID},
    }
    return {**body, **changes}


def without(body: dict[str, Any], name: str) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key != name}


async def raw_call(
    w: WeChat, method: str, url: str, body: dict[str, Any] | None = None, *,
    key: rsa.RSAPrivateKey | None = None, serial_no: str | None = None, skew_s: int = 0,
    send_body: bytes | None = None, send_url: str | None = None, scheme: str = "WECHATPAY2-SHA256-RSA2048",
) -> httpx.Response:
    """A request signed by hand, independently of the client, to show what the fake accepts and refuses."""
    content = b"" if body is None else json.dumps(body, ensure_ascii=False).encode()
    timestamp, nonce = str(int(w.fake.clock.now().timestamp()) + skew_s), secrets.token_hex(16)
    message = f"{method}\n{url}\n{timestamp}\n{nonce}\n".encode() + content + b"\n"
    signature = base64.b64encode((key or merchant_key()).sign(message, padding.PKCS1v15(), hashes.SHA256()))
    authorization = (f'{scheme} mchid="{w.config.mchid}",nonce_str="{nonce}",'
                     f'signature="{signature.decode()}",timestamp="{timestamp}",'
                     f'serial_no="{serial_no or w.config.merchant_serial_no}"')
    headers = {"Authorization": authorization, "Content-Type": "application/json",
               "Accept": "application/json"}
    sent = content if send_body is None else send_body
    return await w.control.request(method, send_url or url, content=sent, headers=headers)


JSAPI = "/v3/pay/transactions/jsapi"
QUERY = "/v3/pay/transactions/out-trade-no/CO-RAW-0001?mchid=1900000109"


def order(w: WeChat, body: dict[str, Any] | None = None, **options: Any) -> Any:
    return raw_call(w, "POST", JSAPI, jsapi_body(w) if body is None else body, **options)


INBOUND = {
    "a correct request": (lambda w: order(w), 200, None),
    "another scheme": (lambda w: order(w, scheme="Bearer"), 401, "SIGN_ERROR"),
    "another key": (lambda w: order(w, key=stranger_key()), 401, "SIGN_ERROR"),
    "another cert serial": (lambda w: order(w, serial_no="0" * 40), 401, "SIGN_ERROR"),
    "a timestamp 301 s old": (lambda w: order(w, skew_s=-301), 401, "SIGN_ERROR"),
    "a body changed after signing": (
        lambda w: order(w, send_body=json.dumps(jsapi_body(w, amount={"total": 1})).encode()), 401,
        "SIGN_ERROR"),
    "a URL changed after signing": (
        lambda w: raw_call(w, "GET", QUERY, send_url=QUERY.replace("0001", "0002")), 401, "SIGN_ERROR"),
    "an extra field": (lambda w: order(w, jsapi_body(w, coupon="free")), 400, "PARAM_ERROR"),
    "a missing field": (lambda w: order(w, without(jsapi_body(w), "payer")), 400, "PARAM_ERROR"),
    "an amount as a string": (lambda w: order(w, jsapi_body(w, amount={"total": "100"})), 400, "PARAM_ERROR"),
    "an amount of 0": (lambda w: order(w, jsapi_body(w, amount={"total": 0})), 400, "PARAM_ERROR"),
    "a short out_trade_no": (lambda w: order(w, jsapi_body(w, out_trade_no="CO1")), 400, "PARAM_ERROR"),
    "a notify_url with a query": (
        lambda w: order(w, jsapi_body(w, notify_url=w.notify_url + "?a=1")), 400, "PARAM_ERROR"),
    "another mchid in the body": (lambda w: order(w, jsapi_body(w, mchid="19")), 400, "INVALID_REQUEST"),
    "an appid not bound to the mchid": (
        lambda w: order(w, jsapi_body(w, appid="wx0000000000000000")), 400, "APPID_MCHID_NOT_MATCH"),
    "a query without mchid": (lambda w: raw_call(w, "GET", QUERY.split("?")[0]), 400, "PARAM_ERROR"),
}


@pytest.mark.parametrize("case", INBOUND)
async def test_the_fake_verifies_every_request_like_the_provider_and_signs_every_answer(wechat: WeChat, case):
    # given
    send, status, code = INBOUND[case]

    # when
    answer = await send(wechat)

    # then: the expected verdict, and the answer (an error too) is signed with the WeChat Pay key
    assert answer.status_code == status, answer.text
    assert code is None or answer.json()["code"] == code
    assert answer.headers["Wechatpay-Serial"] == wechat.fake.public_key_id
    h = answer.headers
    assert wxv3.rsa_verify(h["Wechatpay-Timestamp"], h["Wechatpay-Nonce"], answer.text,
                           h["Wechatpay-Signature"], wechat.fake.platform_key.public_key())


async def test_a_client_with_a_skewed_clock_or_an_unknown_certificate_is_refused(servers):
    # given: a client 400 s ahead (lenient enough to believe the fake's answer), and one with a wrong serial
    fake_side, url, _, _ = servers
    fake, config = WeChatPayFake.create()
    fake_side.target = fake.app
    ahead = FakeClock(fake.clock.now() + timedelta(seconds=400))
    lenient = replace(config, base_url=url, timestamp_tolerance_s=600)
    wrong_cert = replace(config, base_url=url, merchant_serial_no="0" * 40)
    async with WeChatPayClient(lenient, ahead, transport()) as skewed, \
            WeChatPayClient(wrong_cert, fake.clock, transport()) as unknown:
        # when
        skew_error = await refused(skewed.query_order("CO2025000019"))
        cert_error = await refused(unknown.query_order("CO2025000019"))

    # then
    assert (skew_error.http_status, skew_error.provider_code) == (401, "SIGN_ERROR")
    assert (cert_error.http_status, cert_error.provider_code) == (401, "SIGN_ERROR")


# -------------------------------------------------------------------- we verify what the provider sends


@pytest.mark.parametrize("tamper", ["mismatch", "forged", "stale", "serial", "probe"])
async def test_a_tampered_stale_or_forged_answer_raises_bad_signature(wechat: WeChat, tamper):
    # given: one good order, then answers signed wrongly
    await wechat.order("CO2025000020")
    wechat.fake.response_tamper = tamper

    # when / then: success answers and error answers alike
    with pytest.raises(BadSignature):
        await wechat.client.query_order("CO2025000020")
    with pytest.raises(BadSignature):
        await wechat.client.query_order("CO-NOBODY-2")


@pytest.mark.parametrize(("status", "expected"), [
    (200, BadSignature), (400, BadSignature), (502, ProviderError)])
async def test_an_unsigned_answer_is_never_believed(status, expected):
    # given: something between us and WeChat answers without a signature
    fake, config = WeChatPayFake.create()
    bare = httpx.MockTransport(lambda request: httpx.Response(status, json={"code": "SUCCESS"}))
    async with WeChatPayClient(config, fake.clock, transport=bare) as client:
        # when
        with pytest.raises(expected) as caught:
            await client.query_order("CO2025000021")

    # then: only a bare 5xx becomes "send it again with the same key", and nothing of its body is used
    if expected is ProviderError:
        assert (caught.value.provider_code, caught.value.retryable) == ("HTTP_502", True)


async def test_an_answer_within_the_tolerance_is_believed(servers):
    # given: our clock is 299 s behind the provider's
    fake_side, url, _, _ = servers
    fake, config = WeChatPayFake.create()
    fake_side.target = fake.app
    behind = FakeClock(fake.clock.now() - timedelta(seconds=299))
    async with WeChatPayClient(replace(config, base_url=url), behind, transport()) as client:
        # when
        error = await refused(client.query_order("CO2025000022"))

    # then: a verified business answer, not a BadSignature
    assert error.provider_code == "ORDER_NOT_EXIST"


# ------------------------------------------------------------------------------------------ notifications


@pytest.mark.parametrize("tamper", ["mismatch", "forged", "stale", "serial", "probe", "ciphertext"])
async def test_a_tampered_notification_is_refused_and_sent_again(wechat: WeChat, tamper):
    # given
    wechat.fake.notify_tamper, wechat.fake.notify_max_attempts = tamper, 2
    await wechat.order("CO2025000023")

    # when
    await wechat.pay("CO2025000023")
    await wechat.fake.idle()

    # then
    assert wechat.receiver.accepted == {}
    assert [(a.attempt, a.status) for a in wechat.fake.notify_attempts] == [(1, 401), (2, 401)]
    assert [status for _, _, status in wechat.receiver.deliveries] == [401, 401]


async def test_a_notification_changed_or_replayed_later_raises_bad_signature(wechat: WeChat):
    # given: a genuine notification, as received
    await wechat.paid_order("CO2025000024")
    headers, body, _ = wechat.receiver.deliveries[0]
    changed = json.dumps({**json.loads(body), "event_type": "REFUND.SUCCESS"}, ensure_ascii=False).encode()

    # when / then: a changed envelope
    with pytest.raises(BadSignature):
        wechat.client.parse_notification(headers, changed)
    # when / then: the genuine one, replayed five minutes later
    assert wechat.client.parse_notification(headers, body).event_type == "TRANSACTION.SUCCESS"
    await wechat.advance(300)
    with pytest.raises(BadSignature):
        wechat.client.parse_notification(headers, body)


async def test_a_failed_delivery_is_retried_on_the_scaled_schedule_and_applied_once(wechat: WeChat):
    # given: our side fails twice
    wechat.receiver.fail_next = 2
    await wechat.order("CO2025000025")

    # when
    await wechat.pay("CO2025000025")
    notification = await wechat.receiver.next()
    await wechat.fake.idle()

    # then
    assert [(a.attempt, a.waited_s, a.status) for a in wechat.fake.notify_attempts] == [
        (1, 0, 503), (2, 15, 503), (3, 15, 204)]
    assert {a.event_id for a in wechat.fake.notify_attempts} == {notification.id}
    assert list(wechat.receiver.accepted) == [notification.id]


async def test_delivery_gives_up_after_the_whole_schedule(wechat: WeChat):
    # given: our side never answers well, and the ~24 h schedule is scaled to about 0.1 s
    wechat.receiver.fail_next = 100
    wechat.fake.notify_scale = 1e-6
    await wechat.order("CO2025000026")

    # when
    await wechat.pay("CO2025000026")
    await wechat.fake.idle()

    # then
    assert [a.waited_s for a in wechat.fake.notify_attempts] == [0, *RETRY_SCHEDULE_S]
    assert {a.status for a in wechat.fake.notify_attempts} == {503}
    assert len((await wechat.control.get("/__fake__/wechat/notifications")).json()) == 16


async def test_a_duplicate_delivery_and_a_signature_probe_are_handled(wechat: WeChat):
    # given
    wechat.fake.notify_duplicates, wechat.fake.notify_probe_first = 2, True
    await wechat.order("CO2025000027")

    # when
    await wechat.pay("CO2025000027")
    await wechat.fake.idle()

    # then: the probe was refused, both copies acknowledged, the payment applied once
    answers = sorted((a.tamper or "", a.status) for a in wechat.fake.notify_attempts)
    assert answers == [("", 204), ("", 204), ("probe", 401)]
    assert len(wechat.receiver.accepted) == 1


def test_the_answer_to_wechat_is_204_or_a_fail_body():
    # when
    ok, failed = notification_answer(), notification_answer("验签失败", status=401)

    # then
    assert (ok.status, ok.body) == (204, b"")
    assert failed.status == 401 and json.loads(failed.body) == {"code": "FAIL", "message": "验签失败"}
    with pytest.raises(ValueError):
        notification_answer("x", status=200)


# ------------------------------------------------------------------------------------------- idempotency


async def test_the_same_out_trade_no_with_the_same_parameters_is_the_same_order(wechat: WeChat):
    # given
    first = await wechat.order("CO2025000028")

    # when
    again = await wechat.order("CO2025000028")
    changed = await refused(wechat.order("CO2025000028", total_fen=2000))
    await wechat.advance(2 * 3600)
    reissued = await wechat.order("CO2025000028")

    # then: one order; a prepay_id lives 2 h
    assert again == first
    assert changed.provider_code == "INVALID_REQUEST" and "不一致" in changed.message
    assert reissued != first
    assert list(wechat.fake.orders) == ["CO2025000028"]


async def test_the_same_out_refund_no_is_one_refund(wechat: WeChat):
    # given
    await wechat.paid_order("CO2025000029")
    first = await wechat.client.refund("CO2025000029", "RF2025000029", 300, 1000)

    # when
    again = await wechat.client.refund("CO2025000029", "RF2025000029", 300, 1000)
    other_amount = await wechat.client.refund("CO2025000029", "RF2025000029", 500, 1000)

    # then
    assert again == first and other_amount == first
    assert len(wechat.fake.refunds) == 1
    assert (await wechat.client.refund("CO2025000029", "RF2025000029-2", 700, 1000)).refund_fen == 700


async def test_the_same_out_order_no_is_one_split(wechat: WeChat):
    # given
    tx = await wechat.splittable("CO2025000030")
    first = await wechat.split(tx, "PS2025000030", 200)

    # when
    again = await wechat.split(tx, "PS2025000030", 200)
    other = await refused(wechat.split(tx, "PS2025000030", 250))

    # then
    assert again == first
    assert "分账接收方与原请求不一致" in other.message
    assert await wechat.client.unsplit_amount(tx) == 800


async def test_adding_a_receiver_again_succeeds_and_does_not_overwrite(wechat: WeChat):
    # given
    await wechat.client.add_receiver("PERSONAL_OPENID", OPENID, "USER")

    # when
    again = await wechat.client.add_receiver("PERSONAL_OPENID", OPENID, "STAFF")

    # then
    assert again.relation_type == "USER"
    assert list(wechat.fake.receivers) == [("PERSONAL_OPENID", OPENID)]


# ------------------------------------------------------------------------------ cross-check: wechatpayv3


def authorization_fields(header: str) -> dict[str, str]:
    scheme, _, rest = header.partition(" ")
    assert scheme == "WECHATPAY2-SHA256-RSA2048"
    return {key: value.strip('"') for key, value in (item.split("=", 1) for item in rest.split(","))}


async def test_our_authorization_header_verifies_with_wechatpayv3(wechat: WeChat, monkeypatch):
    # given: a POST with a body (Chinese text included) and a GET with a query, as the fake received them
    await wechat.client.jsapi_order("CO2025000031", "充电预付 10 元", 1000, OPENID, wechat.notify_url)
    await wechat.client.query_order("CO2025000031")
    assert [r.url for r in wechat.fake.requests] == [
        "/v3/pay/transactions/jsapi", "/v3/pay/transactions/out-trade-no/CO2025000031?mchid=1900000109"]

    for sent in wechat.fake.requests:
        fields, body = authorization_fields(sent.headers["authorization"]), sent.body.decode()

        # when: wechatpayv3 checks our signature (its 3-line verifier, fed METHOD and URL as the first lines)
        rest = f"{fields['timestamp']}\n{fields['nonce_str']}\n{body}"
        verified = wxv3.rsa_verify(sent.method, sent.url, rest, fields["signature"],
                                   wechat.fake.merchant_public_key)
        # and builds its own header for the same request, nonce and second
        with monkeypatch.context() as patch:
            patch.setattr(wxv3.time, "time", lambda stamp=int(fields["timestamp"]): stamp)
            theirs = wxv3.build_authorization(sent.url, sent.method, wechat.config.mchid,
                                              wechat.config.merchant_serial_no, merchant_key(),
                                              data=body or None, nonce_str=fields["nonce_str"])

        # then
        assert verified
        assert authorization_fields(theirs) == fields
        assert sent.headers["wechatpay-serial"] == wechat.fake.public_key_id
        assert sent.headers["accept"] == "application/json"


async def test_pay_sign_and_the_encrypted_receiver_name_match_wechatpayv3(wechat: WeChat):
    # given
    params = wechat.client.payment_params("wx201410272009395522657a690389285100")

    # when
    await wechat.client.add_receiver("MERCHANT_ID", PARTNER, "PARTNER", name=PARTNER_NAME)
    sent_name = json.loads(wechat.fake.requests[-1].body)["name"]

    # then: PKCS#1 v1.5 is deterministic, so the same string gives the same paySign
    signed = f"{wechat.config.appid}\n{params['timeStamp']}\n{params['nonceStr']}\n{params['package']}\n"
    assert params["paySign"] == wxv3.rsa_sign(merchant_key(), signed)
    assert wxv3.rsa_decrypt(sent_name, wechat.fake.platform_key) == PARTNER_NAME


async def test_the_fakes_notification_verifies_and_decrypts_with_wechatpayv3(wechat: WeChat):
    # given: a payment notification, as our notify_url received it
    tx = await wechat.paid_order("CO2025000032")
    headers, body, _ = wechat.receiver.deliveries[0]
    resource = json.loads(body)["resource"]

    # when
    verified = wxv3.rsa_verify(headers["wechatpay-timestamp"], headers["wechatpay-nonce"], body.decode(),
                               headers["wechatpay-signature"], wechat.fake.platform_key.public_key())
    plaintext = wxv3.aes_decrypt(resource["nonce"], resource["ciphertext"], resource["associated_data"],
                                 wechat.config.apiv3_key)

    # then
    assert verified
    decrypted = json.loads(plaintext)
    assert (decrypted["transaction_id"], decrypted["amount"]["total"], decrypted["payer"]["openid"]) == (
        tx, 1000, OPENID)
    assert resource["associated_data"] == "transaction" and len(resource["nonce"]) == 12
