"""The business's worked examples, end to end: a driver starts charging over GraphQL, pays through the local
fake of WeChat Pay or Alipay (or from the wallet), a strict OCPP 1.6J pile charges, and the order settles:
the unused part refunded by the original route, then the partners' part shared (through the provider up to
its maximum ratio, the rest by allocation transfer to the partner's sub-account), then the rest released.

Prices: 1.0000 yuan per kWh all day, so 3 kWh cost 3.00 yuan.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from api.models import PaymentInbox
from api.models.enums import LedgerAccountKind, Role, TariffTier
from api.payments.alipay import AlipayProvider
from api.payments.providers.alipay import AlipayClient
from api.payments.providers.wechatpay import WeChatPayClient
from api.payments.wechat import WeChatPayProvider
from api.tariff.rules import time_of_use
from tests.fakes.alipay import running_alipay_fake
from tests.fakes.serve import serve
from tests.fakes.wechatpay import WeChatPayFake, tls_context
from tests.support.cp_client import StrictChargePoint
from tests.support.gql_client import data, gql, subscribe

ONE_YUAN_PER_KWH = time_of_use([("00:00-24:00", TariffTier.FLAT)], {TariffTier.FLAT: (10_000, 0)})
WX_PARTNER = ("MERCHANT_ID", "1900000110", "杭州某物业服务有限公司")
ALI_PARTNER = ("userId", "2088000000000777", "杭州某物业服务有限公司")
START = """mutation($cp: ID!, $m: PayMethod!, $cap: Int!) { r: startCharging(chargePointId: $cp, connectorNo: 1,
  method: $m, capFen: $cap) { order { id outTradeNo status } paymentParams } }"""
ORDER = """query($id: ID!) { order(id: $id) { status capFen paidFen costFen dueFen refundFen sharedFen allocatedFen
  failure steps { kind amountFen status lastError } costDetail } }"""


@dataclass
class Fakes:
    wechat: WeChatPayFake
    wechat_control: httpx.AsyncClient
    alipay: Any
    alipay_control: httpx.AsyncClient


@pytest.fixture(scope="module")
async def fakes(server):
    """WeChat Pay and Alipay fakes on 127.0.0.1, and the server's providers pointed at them."""
    wechat, config = WeChatPayFake.create()
    async with serve(wechat.app) as wechat_url, running_alipay_fake() as (alipay, alipay_config):
        alipay_url = alipay_config.gateway_url.rsplit("/", 1)[0]
        async with (
            WeChatPayClient(replace(config, base_url=wechat_url), wechat.clock,
                            httpx.AsyncHTTPTransport(verify=tls_context())) as wechat_client,
            AlipayClient(alipay_config, alipay.clock) as alipay_client,
            httpx.AsyncClient(base_url=wechat_url, trust_env=False) as wechat_control,
            httpx.AsyncClient(base_url=alipay_url, trust_env=False) as alipay_control,
        ):
            server.services.orders.use(WeChatPayProvider(wechat_client))
            server.services.orders.use(AlipayProvider(alipay_client))
            try:
                yield Fakes(wechat, wechat_control, alipay, alipay_control)
            finally:  # other modules see the platform as configured: sandbox only
                for name in ("wechatpay", "alipay"):
                    server.services.orders.providers.pop(name, None)
                await wechat.aclose()


@dataclass
class World:
    station_id: int
    operator_id: int
    pile: StrictChargePoint
    pile_id: str
    partner_id: int
    driver_id: int
    token: str


async def world(server, share_bp: int) -> World:
    b, services = server.builders, server.services
    admin = await services.access.viewer_from_token(server.admin_token)
    station = await b.station()
    cp = await b.charge_point(station)
    # in force since yesterday: the pile reports a session that began 40 minutes ago
    await services.tariffs.publish(admin, station.id, ONE_YUAN_PER_KWH, datetime.now(UTC) - timedelta(days=1),
                                   backdate=True)
    partner = await services.orders.create_partner(admin, station.operator_id, "杭州某物业",
                                                   wechat=WX_PARTNER, alipay=ALI_PARTNER)
    await services.orders.add_share(admin, station.id, partner.id, share_bp, None)
    driver_id, token = await b.person(Role.DRIVER)
    await services.access.link_payer(driver_id, "wechatpay", f"o{uuid.uuid4().hex[:27]}")
    await services.access.link_payer(driver_id, "alipay", f"074a{uuid.uuid4().hex}")
    pile = await StrictChargePoint.connect(server.ocpp_url(cp.id))
    await pile.boot()
    await pile.status(1, "Available")
    return World(station.id, station.operator_id, pile, cp.id, partner.id, driver_id, token)


def _at(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


async def charge(w: World, energy_wh: int) -> None:
    """The pile: accept the remote start, charge ``energy_wh`` over 40 minutes, stop."""
    frame = await w.pile.expect_call("RemoteStartTransaction", timeout=10)
    await w.pile.answer(frame, {"status": "Accepted"})
    tag, now = frame[3]["idTag"], datetime.now(UTC)
    started = await w.pile.call("StartTransaction", {
        "connectorId": 1, "idTag": tag, "meterStart": 10_000, "timestamp": _at(now - timedelta(minutes=40))})
    tx = started["transactionId"]
    await w.pile.meter(1, tx, energy_wh=10_000 + energy_wh // 2, power_w=4_500,
                       timestamp=_at(now - timedelta(minutes=20)))
    await w.pile.stop(tx, 10_000 + energy_wh, reason="EVDisconnected")


async def order_of(server, w: World, order_id: str) -> dict[str, Any]:
    return (await data(server.base_url, ORDER, {"id": order_id}, token=w.token))["order"]


async def settle_wechat(server, fakes: Fakes, w: World, order_id: str, out_trade_no: str) -> dict[str, Any]:
    """Play WeChat Pay's side until the order settles: refunds and profit sharing finish when WeChat says so."""
    for _ in range(300):
        order = await order_of(server, w, order_id)
        if order["status"] in ("SETTLED", "SETTLEMENT_FAILED"):
            return order
        for step in order["steps"]:
            if step["status"] != "pending":
                continue
            if step["kind"] == "refund" and fakes.wechat.refunds.get(f"{out_trade_no}R1"):
                await fakes.wechat_control.post(f"/__fake__/wechat/refund/{out_trade_no}R1/settle",
                                                params={"result": "SUCCESS"})
            if step["kind"] in ("share", "finish"):
                suffix = "S1" if step["kind"] == "share" else "F1"
                await fakes.wechat_control.post(f"/__fake__/wechat/profitsharing/{out_trade_no}{suffix}/finish",
                                                params={"result": "SUCCESS"})
        await asyncio.sleep(0.1)
    raise AssertionError(f"order {order_id} did not settle: {order}")


async def wait_settled(server, w: World, order_id: str) -> dict[str, Any]:
    for _ in range(300):
        order = await order_of(server, w, order_id)
        if order["status"] in ("SETTLED", "SETTLEMENT_FAILED"):
            return order
        await asyncio.sleep(0.1)
    raise AssertionError(f"order {order_id} did not settle: {order}")


async def pay_with_wechat(server, fakes: Fakes, w: World, cap_fen: int) -> tuple[str, str]:
    started = (await data(server.base_url, START, {"cp": w.pile_id, "m": "WECHATPAY", "cap": cap_fen},
                          token=w.token))["r"]
    params = started["paymentParams"]
    assert set(params) == {"timeStamp", "nonceStr", "package", "signType", "paySign"}  # wx.requestPayment's
    assert started["order"]["status"] == "CREATED"
    number = started["order"]["outTradeNo"]
    paid = await fakes.wechat_control.post(f"/__fake__/wechat/pay/{number}")  # the driver pays in WeChat
    assert paid.status_code == 200, paid.text
    await fakes.wechat_control.post("/__fake__/wechat/clock/advance", params={"seconds": 61})  # a minute later
    return started["order"]["id"], number


async def ledger_of(server, w: World) -> tuple[list[tuple[str, int]], int]:
    ledger = server.services.ledger
    partner = [(str(line.entry_kind), line.amount_fen)
               for line in reversed(await ledger.statement(LedgerAccountKind.PARTNER, w.partner_id))]
    return partner, await ledger.balance(LedgerAccountKind.REVENUE, w.operator_id)


async def test_wechat_cap_of_4_yuan_with_3_used_refunds_1_by_the_original_route_then_shares_3(server, fakes):
    # given: a station whose property company takes 30 %
    w = await world(server, share_bp=3000)

    # when: the driver prepays a 4.00 cap with WeChat Pay and charges 3 kWh (3.00)
    order_id, number = await pay_with_wechat(server, fakes, w, 400)
    await charge(w, 3000)
    order = await settle_wechat(server, fakes, w, order_id, number)

    # then: 1.00 went back by the original route before 0.90 (30 % of 3.00) was shared; 2.10 is the operator's
    assert {k: order[k] for k in ("status", "paidFen", "costFen", "dueFen", "refundFen", "sharedFen", "allocatedFen")} == {
        "status": "SETTLED", "paidFen": 400, "costFen": 300, "dueFen": 300, "refundFen": 100, "sharedFen": 90,
        "allocatedFen": 0}
    assert [s["kind"] for s in order["steps"]] == ["refund", "share", "finish", "book"]
    refund = fakes.wechat.refunds[f"{number}R1"]
    assert (refund.refund_fen, refund.status, refund.source) == (100, "SUCCESS", "frozen")  # from the frozen funds
    split = fakes.wechat.sharings[f"{number}S1"]
    assert [(r["account"], r["amount"], r["result"]) for r in split.receivers] == [(WX_PARTNER[1], 90, "SUCCESS")]
    assert order["costDetail"]["total_fen"] == 300 and order["costDetail"]["energy_wh"] == 3000
    partner, revenue = await ledger_of(server, w)
    assert partner == [("profit_sharing", 90), ("profit_sharing", -90)]  # shared, and paid out by WeChat
    assert revenue == 210
    assert await server.services.ledger.check_invariants() == []

    # when: the operator later refunds 0.50 of it (a complaint), by the original route
    _, operator = await server.builders.person(Role.OPERATOR_ADMIN, operator_id=w.operator_id)
    refunding = (await data(server.base_url, """mutation($id: ID!) { r: refundOrder(orderId: $id, amountFen: 50,
        reason: "充电桩故障，部分退款") { status } }""", {"id": order_id}, token=operator))["r"]
    assert refunding["status"] == "SETTLING"
    for _ in range(100):
        if fakes.wechat.refunds.get(f"{number}R2"):
            break
        await asyncio.sleep(0.1)
    await fakes.wechat_control.post(f"/__fake__/wechat/refund/{number}R2/settle", params={"result": "SUCCESS"})
    order = await settle_wechat(server, fakes, w, order_id, number)

    # then: 1.50 refunded in all, out of the operator's revenue; the partner keeps its share
    assert (order["status"], order["refundFen"]) == ("SETTLED", 150)
    assert fakes.wechat.refunds[f"{number}R2"].refund_fen == 50
    partner, revenue = await ledger_of(server, w)
    assert (len(partner), revenue) == (2, 160)
    assert await server.services.ledger.check_invariants() == []
    await w.pile.close()


async def test_wechat_cap_of_4_yuan_fully_used_is_shared_whole_with_no_refund(server, fakes):
    w = await world(server, share_bp=3000)
    order_id, number = await pay_with_wechat(server, fakes, w, 400)
    await charge(w, 4000)
    order = await settle_wechat(server, fakes, w, order_id, number)

    assert (order["status"], order["dueFen"], order["refundFen"], order["sharedFen"]) == ("SETTLED", 400, 0, 120)
    assert [s["kind"] for s in order["steps"]] == ["share", "finish", "book"]
    assert f"{number}R1" not in fakes.wechat.refunds
    assert await server.services.ledger.check_invariants() == []
    await w.pile.close()


async def test_a_share_above_the_providers_maximum_goes_partly_by_allocation_transfer(server, fakes):
    # given: a 50 % partner, above WeChat's 30 % maximum
    w = await world(server, share_bp=5000)

    # when: 3.00 of a 4.00 cap is used
    order_id, number = await pay_with_wechat(server, fakes, w, 400)
    await charge(w, 3000)
    order = await settle_wechat(server, fakes, w, order_id, number)

    # then: the partner's 1.50 is 1.20 through profit sharing (30 % of the 4.00 paid) and 0.30 by allocation
    assert (order["status"], order["sharedFen"], order["allocatedFen"]) == ("SETTLED", 120, 30)
    partner_lines = (await data(server.base_url, """query($p: ID!) { s: partnerStatement(partnerId: $p) {
        kind amountFen balanceAfterFen } }""", {"p": w.partner_id}, token=server.admin_token))["s"]
    assert sorted((line["kind"], line["amountFen"]) for line in partner_lines) == [
        ("profit_sharing", -120), ("profit_sharing", 120), ("revenue_release", 30)]
    assert partner_lines[0]["balanceAfterFen"] == 30  # what the platform owes the partner
    period = """query($p: ID!, $since: DateTime, $until: DateTime, $before: ID) { s: partnerStatement(partnerId: $p,
        since: $since, until: $until, first: 2, before: $before) { lineId amountFen } }"""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    this_month = (await data(server.base_url, period, {"p": w.partner_id, "since": (today - timedelta(days=1)).isoformat(),
                                                       "until": (today + timedelta(days=2)).isoformat()},
                             token=server.admin_token))["s"]
    assert len(this_month) == 2  # a page of two, newest first
    rest = (await data(server.base_url, period, {"p": w.partner_id, "before": this_month[-1]["lineId"]},
                       token=server.admin_token))["s"]
    assert len(rest) == 1
    later = (await data(server.base_url, period, {"p": w.partner_id, "since": (today + timedelta(days=2)).isoformat()},
                        token=server.admin_token))["s"]
    assert later == []
    _, revenue = await ledger_of(server, w)
    assert revenue == 150

    # when: finance pays the 0.30 out by bank; then: the sub-account is empty, and it cannot be paid twice
    payout = """mutation($p: ID!, $a: Int!, $r: String!) { r: recordPartnerPayout(partnerId: $p, amountFen: $a,
        channel: "bank", reference: $r) }"""
    assert (await data(server.base_url, payout, {"p": w.partner_id, "a": 30, "r": "BANK-20261130-1"},
                       token=server.admin_token))["r"] == 0
    again = await gql(server.base_url, payout, {"p": w.partner_id, "a": 30, "r": "BANK-20261130-2"},
                      token=server.admin_token)
    assert again["errors"][0]["extensions"]["code"] == "INSUFFICIENT_FUNDS"
    batch = """mutation($p: ID!) { r: recordPartnerPayouts(payouts: [
        {partnerId: $p, amountFen: 30, channel: "bank", reference: "BANK-20261130-1"},
        {partnerId: $p, amountFen: 1, channel: "bank", reference: "BANK-20261130-3"}]) }"""
    refused = await gql(server.base_url, batch, {"p": w.partner_id}, token=server.admin_token)
    assert refused["errors"][0]["extensions"]["code"] == "INSUFFICIENT_FUNDS"  # the first was booked already
    assert "payout 2 of 2 (BANK-20261130-3)" in refused["errors"][0]["message"]
    await w.pile.close()


async def test_alipay_cap_with_part_used_refunds_then_settles_the_royalty(server, fakes):
    w = await world(server, share_bp=3000)
    started = (await data(server.base_url, START, {"cp": w.pile_id, "m": "ALIPAY", "cap": 400}, token=w.token))["r"]
    assert set(started["paymentParams"]) == {"tradeNO"}  # what my.tradePay needs
    trade_no = started["paymentParams"]["tradeNO"]
    paid = await fakes.alipay_control.post(f"/__fake__/alipay/pay/{trade_no}")
    assert paid.status_code == 200, paid.text

    await charge(w, 3000)
    order = await wait_settled(server, w, started["order"]["id"])

    assert {k: order[k] for k in ("status", "dueFen", "refundFen", "sharedFen", "allocatedFen")} == {
        "status": "SETTLED", "dueFen": 300, "refundFen": 100, "sharedFen": 90, "allocatedFen": 0}
    trade = (await fakes.alipay_control.get(f"/__fake__/alipay/trades/{started['order']['outTradeNo']}")).json()
    assert trade, trade
    assert await server.services.ledger.check_invariants() == []
    await w.pile.close()


async def test_wallet_payment_of_4_yuan_with_a_5_5_rule_allocates_2_yuan_to_the_partner(server):
    w = await world(server, share_bp=5000)

    # given: the driver tops up 10.00 (sandbox provider: play money, the same notification path)
    top_up = (await data(server.base_url, """mutation { t: topUpWallet(method: SANDBOX, amountFen: 1000) {
        outTradeNo paymentParams } }""", token=w.token))["t"]
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        assert (await http.post(top_up["paymentParams"]["payUrl"])).status_code == 200
    for _ in range(100):
        wallet = (await data(server.base_url, "{ wallet { balanceFen heldFen } }", token=w.token))["wallet"]
        if wallet["balanceFen"] == 1000:
            break
        await asyncio.sleep(0.1)
    assert wallet == {"balanceFen": 1000, "heldFen": 0}

    # when: a 4.00 cap is held from the wallet and fully used
    started = (await data(server.base_url, START, {"cp": w.pile_id, "m": "WALLET", "cap": 400}, token=w.token))["r"]
    assert started["paymentParams"] is None
    await charge(w, 4000)
    order = await wait_settled(server, w, started["order"]["id"])

    # then: 2.00 moved to the partner's sub-account by an allocation transfer, 2.00 is the operator's
    assert (order["status"], order["dueFen"], order["allocatedFen"], order["refundFen"]) == ("SETTLED", 400, 200, 0)
    wallet = (await data(server.base_url, "{ wallet { balanceFen heldFen statement { kind amountFen } } }",
                         token=w.token))["wallet"]
    assert (wallet["balanceFen"], wallet["heldFen"]) == (600, 0)
    partner, revenue = await ledger_of(server, w)
    assert partner == [("capture", 200)] and revenue == 200
    assert await server.services.ledger.check_invariants() == []
    await w.pile.close()


async def test_a_pile_that_refuses_to_start_refunds_the_whole_cap(server, fakes):
    w = await world(server, share_bp=3000)
    started = (await data(server.base_url, START, {"cp": w.pile_id, "m": "WECHATPAY", "cap": 500}, token=w.token))["r"]
    number = started["order"]["outTradeNo"]
    await fakes.wechat_control.post(f"/__fake__/wechat/pay/{number}")

    frame = await w.pile.expect_call("RemoteStartTransaction", timeout=10)
    await w.pile.answer(frame, {"status": "Rejected"})
    order = await settle_wechat(server, fakes, w, started["order"]["id"], number)

    assert (order["status"], order["dueFen"], order["refundFen"], order["sharedFen"]) == ("SETTLED", 0, 500, 0)
    assert "did not start" in order["failure"]
    await w.pile.close()


async def test_a_forged_notification_changes_nothing_and_a_repeated_one_counts_once(server, fakes, caplog):
    w = await world(server, share_bp=3000)
    started = (await data(server.base_url, START, {"cp": w.pile_id, "m": "WECHATPAY", "cap": 300}, token=w.token))["r"]
    number = started["order"]["outTradeNo"]

    # when: someone posts a payment notification that WeChat Pay did not sign
    forged = b'{"id":"EV-forged","event_type":"TRANSACTION.SUCCESS","resource":{}}'
    caplog.set_level(logging.WARNING, logger="api.orders.service")
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        answer = await http.post("/pay/notify/wechatpay", content=forged, headers={
            "Wechatpay-Timestamp": str(int(datetime.now(UTC).timestamp())), "Wechatpay-Nonce": "n0nce",
            "Wechatpay-Serial": fakes.wechat.public_key_id,
            "Wechatpay-Signature": "Zm9yZ2Vk", "Content-Type": "application/json"})

    # then: refused and logged, nothing stored, the order still waits for its money
    assert answer.status_code >= 400
    assert "refused a wechatpay notification" in caplog.text
    assert not await PaymentInbox.filter(external_id="EV-forged").exists()
    await asyncio.sleep(1.2)
    order = await order_of(server, w, started["order"]["id"])
    assert (order["status"], order["paidFen"]) == ("CREATED", 0)

    # when: WeChat delivers the real notification three times
    knobs = await fakes.wechat_control.post("/__fake__/wechat/knobs", json={"notify_duplicates": 2})
    assert knobs.status_code == 200, knobs.text
    await fakes.wechat_control.post(f"/__fake__/wechat/pay/{number}")
    frame = await w.pile.expect_call("RemoteStartTransaction", timeout=10)
    await w.pile.answer(frame, {"status": "Accepted"})
    await fakes.wechat_control.post("/__fake__/wechat/knobs", json={"notify_duplicates": 1})

    # then: it is stored and applied once: one payment in the ledger, one remote start
    for _ in range(50):
        rows = await PaymentInbox.filter(out_trade_no=number)
        if rows and rows[0].handled_at is not None:
            break
        await asyncio.sleep(0.1)
    assert [row.outcome for row in rows] == ["paid"]
    entries = await server.services.ledger.entries_for(f"order:{started['order']['id']}")
    assert [(str(e.kind), sum(l.amount_fen for l in e.lines if l.amount_fen > 0)) for e in entries] == [("payment", 300)]
    await asyncio.sleep(0.5)
    assert w.pile.server_calls.empty()
    await w.pile.close()


async def test_the_sandbox_takes_a_whole_order_through_as_serve_demo_does(server):
    # given: the embedded default provider (play money), a 30 % partner
    w = await world(server, share_bp=3000)

    # when: the driver prepays 4.00 in the sandbox, taps its pay button, and charges 3 kWh
    started = (await data(server.base_url, START, {"cp": w.pile_id, "m": "SANDBOX", "cap": 400}, token=w.token))["r"]
    assert started["paymentParams"]["sandbox"] == "1"
    updates = """subscription($id: ID!) { orderUpdates(orderId: $id) { status costFen refundFen } }"""
    async with subscribe(server.ws_url, updates, {"id": started["order"]["id"]}, token=w.token) as live:
        assert (await live.next())["data"]["orderUpdates"]["status"] == "CREATED"
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            assert (await http.post(started["paymentParams"]["payUrl"])).status_code == 200
        await charge(w, 3000)
        seen = []
        while not seen or seen[-1]["status"] != "SETTLED":
            seen.append((await live.next(timeout=15))["data"]["orderUpdates"])
        await live.expect_complete()
    order = await wait_settled(server, w, started["order"]["id"])

    # then: the driver watched it live, and it settled as with a real provider
    statuses = [u["status"] for u in seen]
    assert statuses.index("PAID") < statuses.index("CHARGING") < statuses.index("SETTLING") < statuses.index("SETTLED")
    assert seen[-1] == {"status": "SETTLED", "costFen": 300, "refundFen": 100}

    assert {k: order[k] for k in ("status", "dueFen", "refundFen", "sharedFen", "allocatedFen")} == {
        "status": "SETTLED", "dueFen": 300, "refundFen": 100, "sharedFen": 90, "allocatedFen": 0}
    assert [s["kind"] for s in order["steps"]] == ["refund", "share", "finish", "book"]
    assert await server.services.ledger.check_invariants() == []
    await w.pile.close()
