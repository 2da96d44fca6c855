"""Our Alipay client against the local Alipay fake over real HTTP on 127.0.0.1 (PAYMENTS.md B, D2, F2)."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from api.core.clock import SHANGHAI
from api.payments.providers.alipay import (
    NOTIFY_ACK,
    AlipayClient,
    AlipayConfig,
    RoyaltyReceiver,
    RoyaltySplit,
    fen_to_yuan,
    yuan_to_fen,
)
from api.payments.providers.errors import BadSignature, ProviderError
from tests.fakes.alipay import NOTIFY_RETRY_INTERVALS_S, AlipayFake, private_pem, sign, sign_form
from tests.fakes.serve import serve

BUYER = "074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5"
RECEIVER = RoyaltyReceiver(type="userId", account="2088000000000777", name="城南充电合伙人")
PAYEE = "2088000000000777"


class _Slot:
    """One server per module; each test puts a fresh app behind it."""

    app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


@dataclass
class Receiver:
    """Our notify_url stand-in: queues each form, answers the scripted bodies, then ``success``."""

    answers: list[str] = field(default_factory=list)
    forms: asyncio.Queue[dict[str, str]] = field(default_factory=asyncio.Queue)

    async def notify(self, request: Request) -> Response:
        await self.forms.put({key: str(value) for key, value in (await request.form()).items()})
        return PlainTextResponse(self.answers.pop(0) if self.answers else NOTIFY_ACK)

    async def next_form(self) -> dict[str, str]:
        return await asyncio.wait_for(self.forms.get(), timeout=5)


@dataclass
class Hosts:
    fake_slot: _Slot
    fake_url: str
    receiver_slot: _Slot
    receiver_url: str
    control: httpx.AsyncClient
    tls: ssl.SSLContext


@dataclass
class World:
    fake: AlipayFake
    config: AlipayConfig
    client: AlipayClient
    control: httpx.AsyncClient
    receiver: Receiver
    hosts: Hosts


@pytest.fixture(scope="module")
async def hosts() -> AsyncIterator[Hosts]:
    fake_slot, receiver_slot = _Slot(), _Slot()
    async with (
        serve(fake_slot) as fake_url, serve(receiver_slot) as receiver_url,
        httpx.AsyncClient(base_url=f"{fake_url}/__fake__/alipay", trust_env=False) as control,
    ):
        yield Hosts(fake_slot, fake_url, receiver_slot, receiver_url, control, httpx.create_ssl_context())


@pytest.fixture
async def world(hosts: Hosts) -> AsyncIterator[World]:
    fake, receiver = AlipayFake.create(), Receiver()
    hosts.fake_slot.app = fake.app
    hosts.receiver_slot.app = Starlette(routes=[Route("/notify", receiver.notify, methods=["POST"])])
    config = fake.client_config(hosts.fake_url, notify_url=f"{hosts.receiver_url}/notify")
    transport = httpx.AsyncHTTPTransport(verify=hosts.tls)
    async with AlipayClient(config, fake.clock, transport=transport) as client:
        yield World(fake, config, client, hosts.control, receiver, hosts)
    await fake.aclose()


def create(world: World, out_trade_no: str, total_fen: int, royalty_freeze: bool = False) -> Any:
    return world.client.trade_create(out_trade_no, "充电订单", total_fen, BUYER, royalty_freeze)


def split(amount_fen: int) -> list[RoyaltySplit]:
    return [RoyaltySplit("userId", RECEIVER.account, amount_fen, "合伙人分成")]


async def paid_trade(world: World, out_trade_no: str, total_fen: int, royalty_freeze: bool = True) -> str:
    """A trade the buyer has paid, its payment notification taken."""
    trade_no = await create(world, out_trade_no, total_fen, royalty_freeze)
    assert (await world.control.post(f"/pay/{trade_no}")).status_code == 200
    await world.receiver.next_form()
    return trade_no


def local(world: World) -> httpx.AsyncHTTPTransport:
    """A transport of our own: no proxy from the environment between us and 127.0.0.1."""
    return httpx.AsyncHTTPTransport(verify=world.hosts.tls)


async def knobs(world: World, **values: Any) -> None:
    response = await world.control.post("/knobs", json=values)
    assert response.status_code == 200, response.text


async def refused(call: Any) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        await call
    return caught.value


# --- the whole path -----------------------------------------------------------------------------------------

async def test_pay_refund_split_and_unfreeze(world: World) -> None:
    # given a frozen mini-program trade of 100.00 yuan
    trade_no = await world.client.trade_create("order_1", "充电订单 A-01", 10_000, BUYER, royalty_freeze=True)
    assert world.client.payment_params(trade_no) == {"tradeNO": trade_no}
    sent = world.fake.trades["order_1"].request
    assert sent["product_code"] == "JSAPI_PAY" and sent["op_app_id"] == world.fake.app_id
    assert sent["total_amount"] == "100.00" and sent["extend_params"] == {"royalty_freeze": "true"}

    # when the buyer pays
    assert (await world.control.post(f"/pay/{trade_no}")).status_code == 200

    # then our notify_url gets a notification that verifies, and the query agrees
    paid = world.client.parse_notification(await world.receiver.next_form())
    assert (paid.trade_no, paid.out_trade_no, paid.trade_status) == (trade_no, "order_1", "TRADE_SUCCESS")
    assert (paid.total_fen, paid.receipt_fen, paid.buyer_open_id) == (10_000, 10_000, BUYER)
    trade = await world.client.trade_query("order_1")
    assert (trade.trade_status, trade.total_fen, trade.buyer_pay_fen) == ("TRADE_SUCCESS", 10_000, 10_000)
    assert trade.paid_at is not None and paid.paid_at == trade.paid_at

    # when 12.34 yuan are refunded under our refund number
    refund = await world.client.trade_refund("order_1", "refund_1", 1_234, "未用完的预付款")

    # then money moved once, the query and a refund notification say so
    assert (refund.fund_change, refund.refunded_total_fen) == (True, 1_234)
    status = await world.client.refund_query("order_1", "refund_1")
    assert (status.refund_fen, status.total_fen, status.refund_status) == (1_234, 10_000, "REFUND_SUCCESS")
    refunded = world.client.parse_notification(await world.receiver.next_form())
    assert (refunded.out_biz_no, refunded.refunded_total_fen) == ("refund_1", 1_234)
    assert refunded.trade_status == "TRADE_SUCCESS"

    # when the partner is bound and gets 30 % of the total, finishing the royalty
    assert await world.client.royalty_relation_bind([RECEIVER], "bind_1") == "SUCCESS"
    settlement = await world.client.order_settle(trade_no, "settle_1", split(3_000), royalty_finish=True)

    # then the split is recorded, nothing stays frozen, and the merchant keeps the rest
    record = await world.client.settle_query(trade_no, "settle_1")
    assert [(d.state, d.amount_fen, d.trans_in) for d in record.details] == [("SUCCESS", 3_000, PAYEE)]
    assert settlement.trade_no == trade_no and settlement.settle_no
    assert await world.client.onsettle_query(trade_no) == 0
    state = (await world.control.get("/state")).json()
    assert state["receiver_balances_fen"] == {PAYEE: 3_000}
    assert state["seller_available_fen"] == 10_000 - 1_234 - 3_000
    await world.fake.drain()
    attempts = (await world.control.get("/notifications")).json()
    assert [(a["attempt"], a["delivered"], a["form"]["trade_status"]) for a in attempts] == [
        (1, True, "TRADE_SUCCESS"), (1, True, "TRADE_SUCCESS")]


# --- refusals -----------------------------------------------------------------------------------------------

async def test_refund_above_refundable_is_refused(world: World) -> None:
    # given a paid trade of 50.00 with 20.00 refunded
    await paid_trade(world, "order_r", 5_000)
    await world.client.trade_refund("order_r", "r1", 2_000)

    # when 30.01 more are asked back
    error = await refused(world.client.trade_refund("order_r", "r2", 3_001))

    # then Alipay refuses, for good, and nothing more was refunded
    assert (error.provider_code, error.retryable) == ("ACQ.REASON_TRADE_REFUND_FEE_ERR", False)
    assert (await world.control.get("/trades/order_r")).json()["refunded_fen"] == 2_000


async def test_repeated_refund_request_moves_no_money(world: World) -> None:
    # given a refund already done under r1
    await paid_trade(world, "order_d", 5_000)
    await world.client.trade_refund("order_d", "r1", 1_000)

    # when the same request is sent again (a retry after a timeout)
    again = await world.client.trade_refund("order_d", "r1", 1_000)

    # then fund_change is N and the cumulative refund is unchanged
    assert (again.fund_change, again.refunded_total_fen) == (False, 1_000)
    assert (await world.control.get("/trades/order_d")).json()["refunded_fen"] == 1_000


async def test_full_refund_closes_the_trade_and_its_retry_still_answers(world: World) -> None:
    # given a paid trade refunded in full
    await paid_trade(world, "order_f", 2_500, royalty_freeze=False)
    await world.client.trade_refund("order_f", "all", 2_500)

    # when it is queried and the refund retried
    trade = await world.client.trade_query("order_f")
    again = await world.client.trade_refund("order_f", "all", 2_500)

    # then the trade is closed and the retry moved nothing
    assert trade.trade_status == "TRADE_CLOSED"
    assert (again.fund_change, again.refunded_total_fen) == (False, 2_500)
    closed = await refused(world.client.trade_refund("order_f", "more", 1))
    assert closed.provider_code == "ACQ.TRADE_HAS_CLOSE"


async def test_refund_beyond_the_frozen_rest_needs_the_seller_balance(world: World) -> None:
    # given a frozen trade of 100.00 of which 30.00 went to a partner
    trade_no = await paid_trade(world, "order_z", 10_000)
    await world.client.royalty_relation_bind([RECEIVER], "bind_z")
    await world.client.order_settle(trade_no, "s_z", split(3_000), royalty_finish=False)

    # when 80.00 are refunded with an empty merchant balance
    error = await refused(world.client.trade_refund("order_z", "r1", 8_000))

    # then it is refused, and succeeds once the merchant has the difference
    assert error.provider_code == "ACQ.SELLER_BALANCE_NOT_ENOUGH"
    await knobs(world, seller_balance_fen=8_000)
    assert (await world.client.trade_refund("order_z", "r1", 8_000)).refunded_total_fen == 8_000
    assert (await world.control.get("/state")).json()["seller_available_fen"] == 0


async def test_settle_above_the_cap_is_refused(world: World) -> None:
    # given a paid frozen trade of 100.00 and a bound partner
    trade_no = await paid_trade(world, "order_c", 10_000)
    await world.client.royalty_relation_bind([RECEIVER], "bind_c")

    # when 30.01 (above 30 %) are split, then 20.00 + 10.00, then 0.01 more
    above = await refused(world.client.order_settle(trade_no, "s1", split(3_001), False))
    await world.client.order_settle(trade_no, "s2", split(2_000), False)
    await world.client.order_settle(trade_no, "s3", split(1_000), False)
    over = await refused(world.client.order_settle(trade_no, "s4", split(1), False))

    # then both excesses are refused and exactly 30 % left
    assert above.provider_code == over.provider_code == "ACQ.ALLOC_AMOUNT_VALIDATE_ERROR"
    assert await world.client.onsettle_query(trade_no) == 7_000


async def test_settle_cap_is_a_knob(world: World) -> None:
    # given a merchant whose cap is 50 %
    await knobs(world, royalty_cap_bp=5_000)
    trade_no = await paid_trade(world, "order_k", 10_000)
    await world.client.royalty_relation_bind([RECEIVER], "bind_k")

    # when half is split
    await world.client.order_settle(trade_no, "s1", split(5_000), royalty_finish=False)

    # then half stays frozen
    assert await world.client.onsettle_query(trade_no) == 5_000


async def test_settle_to_an_unbound_receiver_is_refused(world: World) -> None:
    # given a paid trade and no relation
    trade_no = await paid_trade(world, "order_u", 10_000)

    # when a split names a stranger
    error = await refused(world.client.order_settle(
        trade_no, "s1", [RoyaltySplit("userId", "2088000000000999", 100, "分成")], False,
    ))

    # then it is refused and nothing left the frozen funds
    assert error.provider_code == "ACQ.ROYALTY_RECEIVER_INVALID"
    assert await world.client.onsettle_query(trade_no) == 10_000


async def test_settle_after_finish_is_refused(world: World) -> None:
    # given a royalty finished without any split
    trade_no = await paid_trade(world, "order_x", 10_000)
    await world.client.royalty_relation_bind([RECEIVER], "bind_x")
    await world.client.order_settle(trade_no, "finish", [], royalty_finish=True)

    # when a split follows
    error = await refused(world.client.order_settle(trade_no, "late", split(100), False))

    # then it is refused and all the money went to the merchant
    assert error.provider_code == "ACQ.ILLEGAL_SETTLE_STATE"
    assert (await world.control.get("/state")).json()["seller_available_fen"] == 10_000


async def test_repeated_settle_request_splits_once(world: World) -> None:
    # given a split done under s1
    trade_no = await paid_trade(world, "order_s", 10_000)
    await world.client.royalty_relation_bind([RECEIVER], "bind_s")
    first = await world.client.order_settle(trade_no, "s1", split(1_000), False)

    # when it is sent again
    again = await world.client.order_settle(trade_no, "s1", split(1_000), False)

    # then the same settle_no comes back and the partner got paid once
    assert again == first
    assert (await world.control.get("/state")).json()["receiver_balances_fen"] == {PAYEE: 1_000}


async def test_frozen_funds_unfreeze_after_30_days(world: World) -> None:
    # given a paid frozen trade
    trade_no = await paid_trade(world, "order_t", 10_000)
    await world.client.royalty_relation_bind([RECEIVER], "bind_t")

    # when 30 days pass (the client shares the fake's clock)
    await world.control.post("/clock", json={"advance_s": timedelta(days=30, seconds=1).total_seconds()})

    # then nothing is frozen any more and splitting is over
    assert await world.client.onsettle_query(trade_no) == 0
    late = await refused(world.client.order_settle(trade_no, "late", split(100), False))
    assert late.provider_code == "ACQ.ILLEGAL_SETTLE_STATE"


@pytest.mark.parametrize("method", ["trade_query", "trade_close", "trade_refund"])
async def test_unknown_trade(world: World, method: str) -> None:
    # given no trade "ghost"
    args: tuple[Any, ...] = ("ghost", "r1", 100) if method == "trade_refund" else ("ghost",)

    # when it is used
    error = await refused(getattr(world.client, method)(*args))

    # then Alipay says it does not exist
    assert (error.provider, error.provider_code, error.retryable) == ("alipay", "ACQ.TRADE_NOT_EXIST", False)


async def test_create_is_idempotent_until_paid_or_closed(world: World) -> None:
    # given a created trade
    first = await create(world, "order_i", 1_000)

    # when it is created again with the same parameters, then with another amount
    again = await create(world, "order_i", 1_000)
    changed = await refused(create(world, "order_i", 1_001))

    # then the same trade answers, the changed one is refused
    assert again == first
    assert changed.provider_code == "ACQ.DISCORDANT_REPEAT_REQUEST"

    # when it is closed unpaid, it cannot be created or closed again
    await world.client.trade_close("order_i")
    assert (await world.client.trade_query("order_i")).trade_status == "TRADE_CLOSED"
    recreate = await refused(create(world, "order_i", 1_000))
    assert recreate.provider_code == "ACQ.TRADE_HAS_CLOSE"
    assert (await refused(world.client.trade_close("order_i"))).provider_code == "ACQ.TRADE_STATUS_ERROR"
    assert (await world.control.post(f"/pay/{first}")).status_code == 409


async def test_paid_trade_cannot_be_created_again_or_closed(world: World) -> None:
    # given a paid trade
    await paid_trade(world, "order_p", 1_000)

    # when it is created again or closed
    recreate = await refused(create(world, "order_p", 1_000, royalty_freeze=True))
    close = await refused(world.client.trade_close("order_p"))

    # then both are refused
    assert recreate.provider_code == "ACQ.TRADE_HAS_SUCCESS"
    assert close.provider_code == "ACQ.TRADE_STATUS_ERROR"


async def test_unpaid_trade_expires_at_time_expire(world: World) -> None:
    # given a trade that expires in 10 minutes
    now = world.fake.clock.now()
    trade_no = await world.client.trade_create(
        "order_e", "充电订单", 1_000, BUYER, royalty_freeze=False, time_expire=now + timedelta(minutes=10),
    )

    # when 11 minutes pass
    await world.control.post("/clock", json={"advance_s": 660})

    # then it is closed and can no longer be paid
    assert (await world.client.trade_query("order_e")).trade_status == "TRADE_CLOSED"
    assert (await world.control.post(f"/pay/{trade_no}")).status_code == 409


async def test_oauth_code_is_single_use(world: World) -> None:
    # given a code handed out by my.getAuthCode
    await world.control.post("/oauth-codes", json={"code": "auth_1", "open_id": BUYER})

    # when it is exchanged twice
    token = await world.client.oauth_token("auth_1")
    error = await refused(world.client.oauth_token("auth_1"))

    # then the first gives the user's open_id, the second is refused
    assert (token.open_id, token.user_id, token.expires_in_s) == (BUYER, None, 1_296_000)
    assert token.access_token.startswith("authusr") and token.auth_start is not None
    assert error.provider_code == "isv.code-invalid"
    assert error.message == "alipay: isv.code-invalid: 授权码code无效"


async def test_transfer_is_idempotent_and_checks_the_balance(world: World) -> None:
    # given 10.00 yuan in the merchant's balance
    await knobs(world, seller_balance_fen=1_000)

    # when 6.00 are paid out, the call retried, then 6.00 more asked
    first = await world.client.fund_transfer("payout_1", 600, PAYEE, "ALIPAY_USER_ID", None, "分成")
    again = await world.client.fund_transfer("payout_1", 600, PAYEE, "ALIPAY_USER_ID", None, "分成")
    error = await refused(world.client.fund_transfer("payout_2", 600, PAYEE, "ALIPAY_USER_ID", None, "分成"))

    # then one payout happened, the retry answered the same order, and the second did not fit
    assert (first.status, again.order_id) == ("SUCCESS", first.order_id)
    assert error.provider_code == "PAYER_BALANCE_NOT_ENOUGH"
    state = (await world.control.get("/state")).json()
    assert (state["seller_available_fen"], state["receiver_balances_fen"]) == (400, {PAYEE: 600})


# --- the gateway checks our requests ------------------------------------------------------------------------

async def test_gateway_refuses_a_request_signed_with_another_key(world: World) -> None:
    # given a client holding the wrong private key
    config = replace(world.config, app_private_key_pem=private_pem("forger"))
    async with AlipayClient(config, world.fake.clock, transport=local(world)) as client:
        # when it calls
        error = await refused(client.trade_query("order_1"))

    # then the gateway says the signature is invalid, and nothing was executed
    assert (error.provider_code, error.retryable) == ("isv.invalid-signature", False)
    assert world.fake.calls == []


async def test_gateway_refuses_an_unknown_app(world: World) -> None:
    # given a client of an app the gateway does not know
    config = replace(world.config, app_id="2021009999999999")

    # when it calls
    async with AlipayClient(config, world.fake.clock, transport=local(world)) as client:
        error = await refused(client.trade_query("order_1"))

    # then the app id is refused before anything runs
    assert error.provider_code == "isv.invalid-app-id"
    assert world.fake.calls == []


async def test_gateway_refuses_a_stale_timestamp(world: World) -> None:
    # given a client whose clock is an hour behind the gateway's
    class LateClock:
        def now(self) -> Any:
            return world.fake.clock.now() - timedelta(hours=1)

    # when it calls
    async with AlipayClient(world.config, LateClock(), transport=local(world)) as client:
        error = await refused(client.trade_query("order_1"))

    # then the timestamp is refused
    assert error.provider_code == "isv.invalid-timestamp"


@pytest.mark.parametrize(("change", "sub_code"), [
    ({"sign": None}, "isv.missing-signature"),
    ({"sign_type": "RSA"}, "isv.invalid-signature-type"),
    ({"charset": "gbk"}, "isv.invalid-charset"),
    ({"biz_content": '{"out_trade_no":"order_2"}'}, "isv.invalid-signature"),
])
async def test_gateway_checks_every_request(world: World, change: dict[str, Any], sub_code: str) -> None:
    # given a correctly signed request, changed after signing
    params = {
        "app_id": world.fake.app_id, "method": "alipay.trade.query", "format": "JSON", "charset": "utf-8",
        "sign_type": "RSA2", "timestamp": f"{world.fake.clock.now().astimezone(SHANGHAI):%Y-%m-%d %H:%M:%S}",
        "version": "1.0", "biz_content": '{"out_trade_no":"order_1"}',
    }
    params["sign"] = sign("&".join(f"{k}={params[k]}" for k in sorted(params)), key="app")
    sent = {k: v for k, v in {**params, **change}.items() if v is not None}

    # when it is posted
    async with httpx.AsyncClient(trust_env=False) as http:
        response = await http.post(f"{world.hosts.fake_url}/gateway.do", data=sent)

    # then the gateway answers a signed error_response
    node = json.loads(response.text)["error_response"]
    assert (node["code"], node["sub_code"]) == ("40001" if "missing" in sub_code else "40002", sub_code)
    assert world.fake.calls == []


# --- we check the gateway's answers -------------------------------------------------------------------------

@pytest.mark.parametrize("tamper", ["node", "sign", "unsigned", "forger"])
async def test_tampered_or_forged_response_raises_bad_signature(world: World, tamper: str) -> None:
    # given an unpaid trade and a man in the middle on the next answer
    await create(world, "order_m", 1_000)
    await knobs(world, tamper_next_response=tamper)

    # when the trade is queried, then nothing of the answer is believed
    with pytest.raises(BadSignature):
        await world.client.trade_query("order_m")


async def test_response_is_verified_over_the_text_as_sent(world: World) -> None:
    # given a gateway that writes its JSON with spaces and \\u escapes
    await knobs(world, response_style="spaced")
    await world.control.post("/oauth-codes", json={"code": "auth_s", "open_id": BUYER})

    # when answers with Chinese text come back
    token = await world.client.oauth_token("auth_s")
    error = await refused(world.client.oauth_token("auth_s"))

    # then they verify and read as sent, though a re-serialisation would differ from the text that was signed
    assert token.open_id == BUYER
    assert error.message == "alipay: isv.code-invalid: 授权码code无效"
    async with httpx.AsyncClient(trust_env=False) as http:
        raw = (await http.post(f"{world.hosts.fake_url}/gateway.do", data={"method": "alipay.trade.query"})).text
    assert '"code": "40001"' in raw and "\\u" in raw


async def test_signed_answer_about_another_trade_is_not_taken() -> None:
    # given a genuinely signed answer about another trade (a replay)
    node = json.dumps({"code": "10000", "msg": "Success", "out_trade_no": "other", "trade_no": "1",
                       "trade_status": "TRADE_SUCCESS", "total_amount": "1.00"}, separators=(",", ":"))
    body = f'{{"alipay_trade_query_response":{node},"sign":"{sign(node)}"}}'
    fake = AlipayFake.create()
    transport = httpx.MockTransport(lambda request: httpx.Response(200, text=body))

    # when it answers our query for "mine"
    config = fake.client_config("http://gateway.invalid")
    async with AlipayClient(config, fake.clock, transport=transport) as client:
        with pytest.raises(BadSignature):
            await client.trade_query("mine")


@pytest.mark.parametrize(("failure", "code"), [
    ({"code": "20000", "sub_code": "isp.unknow-error", "sub_msg": "服务暂不可用"}, "isp.unknow-error"),
    ({"code": "40004", "sub_code": "ACQ.SYSTEM_ERROR", "sub_msg": "系统错误"}, "ACQ.SYSTEM_ERROR"),
    ({"http_status": 502}, "HTTP_502"),
])
async def test_transient_failures_are_retryable(world: World, failure: dict[str, Any], code: str) -> None:
    # given a gateway that fails the next call
    await knobs(world, fail_next=failure)

    # when we call
    error = await refused(world.client.trade_query("order_1"))

    # then the failure says the same call may be sent again
    assert (error.provider_code, error.retryable) == (code, True)


async def test_unreachable_gateway_is_retryable(world: World) -> None:
    # given a port nobody listens on
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = replace(world.config, gateway_url=f"http://127.0.0.1:{port}/gateway.do")

    # when we call there
    async with AlipayClient(config, world.fake.clock, transport=local(world), timeout_s=2) as client:
        error = await refused(client.trade_query("order_1"))

    # then the outcome is unknown and the same call may be sent again
    assert (error.provider_code, error.retryable) == ("NETWORK", True)


# --- notifications ------------------------------------------------------------------------------------------

async def received_notification(world: World) -> dict[str, str]:
    trade_no = await create(world, "order_n", 4_200, royalty_freeze=True)
    await world.control.post(f"/pay/{trade_no}")
    return await world.receiver.next_form()


@pytest.mark.parametrize("change", [
    {"total_amount": "0.01"},
    {"trade_status": "TRADE_SUCCESS", "out_trade_no": "order_other"},
    {"sign": None},
    {"sign_type": "RSA"},
    {"passback_params": "added"},
])
async def test_tampered_notification_raises_bad_signature(world: World, change: dict[str, Any]) -> None:
    # given a genuine notification changed on the way
    form = await received_notification(world)
    tampered = {k: v for k, v in {**form, **change}.items() if v is not None}

    # when it is parsed, then it is not believed
    with pytest.raises(BadSignature):
        world.client.parse_notification(tampered)


async def test_notification_tampered_at_the_source_is_refused(world: World) -> None:
    # given a fake that changes the amount after signing
    await knobs(world, notify_tamper={"total_amount": "0.01"})

    # when the notification arrives, then it does not verify
    with pytest.raises(BadSignature):
        world.client.parse_notification(await received_notification(world))


@pytest.mark.parametrize(("change", "key"), [
    ({}, "forger"),
    ({"app_id": "2021009999999999"}, "alipay"),
    ({"seller_id": "2088009999999999"}, "alipay"),
])
async def test_forged_notification_is_refused(world: World, change: dict[str, str], key: str) -> None:
    # given a notification signed by someone else, or by Alipay for another app or merchant
    form = await received_notification(world)
    unsigned = {k: v for k, v in form.items() if k != "sign"}
    forged = sign_form({**unsigned, **change}, key=key)

    # when it is parsed, then it is not believed (while Alipay's own signature of the original is)
    with pytest.raises(BadSignature):
        world.client.parse_notification(forged)
    assert world.client.parse_notification(sign_form(unsigned)).total_fen == 4_200


async def test_notification_is_resent_until_answered_success(world: World) -> None:
    # given our endpoint answers "fail", then garbage, then " success\n"
    world.receiver.answers = ["fail", "SUCCESS", " success\n"]

    # when a trade is paid
    trade_no = await create(world, "order_a", 100)
    await world.control.post(f"/pay/{trade_no}")
    await world.fake.drain()

    # then it was delivered three times, the same signed form each time, and stopped
    attempts = world.fake.notify_attempts
    assert [(a.attempt, a.body, a.delivered) for a in attempts] == [
        (1, "fail", False), (2, "SUCCESS", False), (3, " success\n", True)]
    assert len({json.dumps(a.form, sort_keys=True) for a in attempts}) == 1
    assert world.client.parse_notification(attempts[0].form).out_trade_no == "order_a"


async def test_notification_gives_up_after_eight_deliveries(world: World) -> None:
    # given our endpoint never answers success
    world.receiver.answers = ["busy"] * 20
    await knobs(world, notify_scale=2e-6)

    # when a trade is paid
    trade_no = await create(world, "order_g", 100)
    await world.control.post(f"/pay/{trade_no}")
    await world.fake.drain()

    # then Alipay's schedule was used up: 1 + 7 retries
    assert len(NOTIFY_RETRY_INTERVALS_S) + 1 == 8
    assert [a.attempt for a in world.fake.notify_attempts] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert not any(a.delivered for a in world.fake.notify_attempts)


async def test_duplicate_delivery_carries_the_same_notify_id(world: World) -> None:
    # given a fake that delivers twice
    await knobs(world, notify_duplicate=True)

    # when a trade is paid
    first = world.client.parse_notification(await received_notification(world))
    second = world.client.parse_notification(await world.receiver.next_form())

    # then both verify and name the same notification (our inbox applies it once)
    assert first == second


# --- yuan at the edge ---------------------------------------------------------------------------------------

@given(st.integers(min_value=1, max_value=10**10))
def test_fen_round_trips_through_yuan(amount_fen: int) -> None:
    text = fen_to_yuan(amount_fen)
    assert yuan_to_fen(text) == amount_fen
    assert text.split(".")[1].isdigit() and len(text.split(".")[1]) == 2


@pytest.mark.parametrize(("amount_fen", "text"), [
    (0, "0.00"), (1, "0.01"), (10, "0.10"), (99, "0.99"), (100, "1.00"), (12_345, "123.45"),
    (10_000_000_000, "100000000.00"),
])
def test_fen_to_yuan(amount_fen: int, text: str) -> None:
    assert fen_to_yuan(amount_fen) == text


@pytest.mark.parametrize(("text", "amount_fen"), [("12", 1_200), ("12.3", 1_230), ("0.01", 1), ("0", 0)])
def test_yuan_to_fen_reads_short_forms(text: str, amount_fen: int) -> None:
    assert yuan_to_fen(text) == amount_fen


@pytest.mark.parametrize("text", [
    "12.345", "-1.00", "+1.00", "1e3", "１２", " 1.00", "01.00", "", ".5", "1.", "NaN", "1,00", "0.1.1",
    "1.00\n", 12,
])
def test_yuan_to_fen_refuses_what_is_no_amount(text: str) -> None:
    with pytest.raises(ValueError):
        yuan_to_fen(text)


@pytest.mark.parametrize("amount", [-1, True, 1.5, "100", None])
def test_fen_to_yuan_refuses_what_is_no_fen(amount: Any) -> None:
    with pytest.raises(ValueError):
        fen_to_yuan(amount)

