"""An order follows a late correction of its session: the pile went silent, the sweep closed the session by a
rule (StaleClosed) and the order settled on what was known; then the pile sends its real StopTransaction. The
corrected session is priced by the same tariff and only the difference moves: less owed goes back by the
original route (a refund of its own) or to the wallet; more owed is never taken beyond the cap, and what cannot
be collected is written off in a balanced ledger entry the operator sees. A repeated late stop changes nothing.

The station bills 6.0000 yuan per hour of charging (10 fen a minute), so moving the session's end moves the
amount due: charging lasts until the energy register reaches its final value. The sweep bills up to the pile's
last sample, 30 minutes in (X fen, read from the order); the pile's late stop may say charging ended earlier
(its transaction data) or later.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from api.ledger.dto import uncollected
from api.orders import repository
from api.models import ChargingSession
from api.models.enums import LedgerAccountKind, Role
from api.tariff.rules import hourly
from tests.orders import test_worked_examples as worked
from tests.orders.test_lifecycle import ONE_YUAN_PER_KWH
from tests.support.cp_client import StrictChargePoint
from tests.support.cp_client_v201 import StrictChargingStation, sampled_values
from tests.support.gql_client import data

fakes = worked.fakes
"""The local WeChat Pay and Alipay fakes, and the server's providers pointed at them (a module fixture)."""
TEN_FEN_A_MINUTE = hourly(60_000)
STALE_S = 12 * 3600
START = """mutation($cp: ID!, $m: PayMethod!, $cap: Int!) { r: startCharging(chargePointId: $cp, connectorNo: 1,
  method: $m, capFen: $cap) { order { id outTradeNo status } } }"""
ORDER = """query($id: ID!) { order(id: $id) { status paidFen costFen dueFen refundFen sharedFen allocatedFen
  uncollectedFen sessionId steps { kind key amountFen status lastError } } }"""


@dataclass
class Charge:
    order_id: str
    number: str
    tx: int
    started: datetime
    pile: StrictChargePoint
    operator_id: int
    partner_id: int
    driver_id: int
    token: str


def _at(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


async def charge_then_go_silent(server, fakes, method: str, cap_fen: int, *, share_bp: int = 3000,
                                wallet_fen: int = 0) -> Charge:
    """A driver pays (the fake provider, or the wallet), the pile charges from two hours ago, samples 30 minutes
    in (3 kWh), says its connector is Available, and never stops the transaction."""
    b, services = server.builders, server.services
    admin = await services.access.viewer_from_token(server.admin_token)
    station = await b.station()
    cp = await b.charge_point(station)
    await services.tariffs.publish(admin, station.id, TEN_FEN_A_MINUTE, datetime.now(UTC) - timedelta(days=1),
                                   backdate=True)
    partner = await services.orders.create_partner(admin, station.operator_id, "杭州某物业",
                                                   wechat=worked.WX_PARTNER, alipay=worked.ALI_PARTNER)
    await services.orders.add_share(admin, station.id, partner.id, share_bp, None)
    driver_id, token = await b.person(Role.DRIVER)
    await services.access.link_payer(driver_id, "wechatpay", f"o{uuid.uuid4().hex[:27]}")
    if wallet_fen:
        await services.ledger.top_up(driver_id, "sandbox", wallet_fen, key=f"test-top-up-{uuid.uuid4().hex}")
    pile = await StrictChargePoint.connect(server.ocpp_url(cp.id))
    await pile.boot()
    await pile.status(1, "Available")
    started = (await data(server.base_url, START, {"cp": cp.id, "m": method, "cap": cap_fen}, token=token))["r"]
    number = started["order"]["outTradeNo"]
    if method == "WECHATPAY":
        paid = await fakes.wechat_control.post(f"/__fake__/wechat/pay/{number}")
        assert paid.status_code == 200, paid.text
        await fakes.wechat_control.post("/__fake__/wechat/clock/advance", params={"seconds": 61})
    frame = await pile.expect_call("RemoteStartTransaction", timeout=10)
    await pile.answer(frame, {"status": "Accepted"})
    begun = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=120)  # a late stop is in the past
    tx = (await pile.call("StartTransaction", {"connectorId": 1, "idTag": frame[3]["idTag"], "meterStart": 10_000,
                                                "timestamp": _at(begun)}))["transactionId"]
    await pile.status(1, "Charging")
    await pile.meter(1, tx, energy_wh=13_000, power_w=7_000, timestamp=_at(begun + timedelta(minutes=30)))
    await pile.status(1, "Available")
    return Charge(started["order"]["id"], number, tx, begun, pile, station.operator_id, partner.id, driver_id, token)


async def order_of(server, c: Charge) -> dict[str, Any]:
    return (await data(server.base_url, ORDER, {"id": c.order_id}, token=c.token))["order"]


async def settled(server, fakes, c: Charge, ready=lambda o: True) -> dict[str, Any]:
    """Play WeChat Pay's side (any pending refund or split succeeds) until the order is settled and ``ready``."""
    for _ in range(300):
        order = await order_of(server, c)
        if order["status"] in ("SETTLED", "SETTLEMENT_FAILED") and ready(order):
            return order
        for step in order["steps"]:
            if step["status"] != "pending":
                continue
            if step["kind"] == "refund" and fakes.wechat.refunds.get(step["key"]):
                await fakes.wechat_control.post(f"/__fake__/wechat/refund/{step['key']}/settle",
                                                params={"result": "SUCCESS"})
            if step["kind"] in ("share", "finish"):
                await fakes.wechat_control.post(f"/__fake__/wechat/profitsharing/{step['key']}/finish",
                                                params={"result": "SUCCESS"})
        await asyncio.sleep(0.1)
    raise AssertionError(f"order {c.order_id} did not settle: {order}")


async def close_by_the_sweep(server, c: Charge) -> None:
    await server.services.charging.close_stale(STALE_S, now=datetime.now(UTC) + timedelta(hours=13))
    assert (await ChargingSession.get(id=c.tx)).stop_reason == "StaleClosed"


async def late_stop(c: Charge, minutes: int, meter_stop_wh: int, full_at_minutes: int | None = None) -> None:
    """The pile's own StopTransaction, sent when it is back: it stopped ``minutes`` after the start; with
    ``full_at_minutes``, its transaction data says the register reached ``meter_stop_wh`` then already (the
    battery was full: the 30-minute sample had only repeated it)."""
    extra: dict[str, Any] = {}
    if full_at_minutes is not None:
        extra["transactionData"] = [{"timestamp": _at(c.started + timedelta(minutes=full_at_minutes)), "sampledValue": [
            {"value": str(meter_stop_wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"}]}]
    await c.pile.stop(c.tx, meter_stop_wh, reason="EVDisconnected",
                      timestamp=_at(c.started + timedelta(minutes=minutes)), **extra)


async def money(server, c: Charge) -> dict[str, int]:
    ledger = server.services.ledger
    written_off = uncollected(c.operator_id)
    return {
        "revenue": await ledger.balance(LedgerAccountKind.REVENUE, c.operator_id),
        "uncollected": await ledger.balance(written_off.kind, written_off.key),
        "partner": await ledger.balance(LedgerAccountKind.PARTNER, c.partner_id),
        "wallet": await ledger.balance(LedgerAccountKind.WALLET, c.driver_id),
    }


async def entries(server, c: Charge) -> list[tuple[str, str]]:
    return [(e.idempotency_key, str(e.kind)) for e in await server.services.ledger.entries_for(f"order:{c.order_id}")]


def share(fen: int) -> int:
    """The 30 % partner's part (the platform keeps the remainder)."""
    return fen * 3000 // 10_000


async def test_a_late_stop_that_shortens_the_session_refunds_the_difference_by_the_original_route(server, fakes):
    # given: a 10.00 WeChat Pay cap; the sweep closed the silent session (30 minutes or more: X fen), settled
    c = await charge_then_go_silent(server, fakes, "WECHATPAY", 1000)
    await close_by_the_sweep(server, c)
    order = await settled(server, fakes, c)
    x = order["costFen"]
    assert x >= 300
    assert {k: order[k] for k in ("dueFen", "refundFen", "sharedFen")} == {
        "dueFen": x, "refundFen": 1000 - x, "sharedFen": share(x)}
    assert (await money(server, c))["revenue"] == x - share(x)
    # a worker starting now (the event of a late stop may have gone out while none listened) would look at it
    billed = await repository.billed_sessions_since(datetime.now(UTC) - timedelta(days=1), ("settled",))
    assert (c.tx, "StaleClosed") in billed

    # the sharing is finished, so a refund now comes from the merchant's available balance (other income)
    knobs = await fakes.wechat_control.post("/__fake__/wechat/knobs", json={"balance_fen": 100_000})
    assert knobs.status_code == 200, knobs.text

    # when: the pile comes back: its stop, with its transaction data, says charging ended 5 minutes in (0.50)
    await late_stop(c, 31, 13_000, full_at_minutes=5)
    order = await settled(server, fakes, c, lambda o: o["costFen"] == 50)

    # then: the difference went back by the original route, with a refund number of its own
    assert {k: order[k] for k in ("costFen", "dueFen", "refundFen", "uncollectedFen")} == {
        "costFen": 50, "dueFen": 50, "refundFen": 950, "uncollectedFen": 0}
    assert [(s["kind"], s["key"], s["status"]) for s in order["steps"]][-2:] == [
        ("correct", f"{c.number}C1", "succeeded"), ("refund", f"{c.number}C1R", "succeeded")]
    refund = fakes.wechat.refunds[f"{c.number}C1R"]
    assert (refund.refund_fen, refund.status, refund.source) == (x - 50, "SUCCESS", "balance")
    # out of the operator's revenue; the partner's share left through WeChat's split and its sub-account is
    # empty, so nothing could be taken back from it: the operator bears it
    assert await money(server, c) == {"revenue": 50 - share(x), "uncollected": 0, "partner": 0, "wallet": 0}
    assert (f"{c.number}C1R", "refund") in await entries(server, c)
    assert await server.services.ledger.check_invariants() == []
    await c.pile.close()


async def test_a_late_stop_that_lengthens_the_session_writes_off_what_the_provider_cannot_collect(server, fakes):
    # given: settled at X of a 10.00 cap (the rest refunded)
    c = await charge_then_go_silent(server, fakes, "WECHATPAY", 1000)
    await close_by_the_sweep(server, c)
    x = (await settled(server, fakes, c))["costFen"]

    # when: the pile really stopped 90 minutes in (9.00)
    await late_stop(c, 90, 19_000)
    order = await settled(server, fakes, c, lambda o: o["costFen"] == 900)

    # then: the refund cannot be undone nor the payment raised: 9.00 - X is written off, visible on the order
    # and in the ledger; no new refund, no second payment
    assert {k: order[k] for k in ("costFen", "dueFen", "refundFen", "sharedFen", "uncollectedFen")} == {
        "costFen": 900, "dueFen": x, "refundFen": 1000 - x, "sharedFen": share(x), "uncollectedFen": 900 - x}
    assert [s["kind"] for s in order["steps"]] == ["refund", "share", "finish", "book", "correct"]
    assert await money(server, c) == {"revenue": 900 - share(x), "uncollected": x - 900, "partner": 0, "wallet": 0}
    assert (f"{c.number}C1", "adjustment") in await entries(server, c)
    written_off = uncollected(c.operator_id)
    statement = await server.services.ledger.statement(written_off.kind, written_off.key)
    assert [(line.amount_fen, line.reference) for line in statement] == [(x - 900, f"order:{c.order_id}")]
    assert await server.services.ledger.check_invariants() == []
    await c.pile.close()


async def test_more_owed_than_the_cap_is_capped_and_a_repeated_late_stop_changes_nothing(server, fakes):
    # given: settled at X of a 5.00 cap
    c = await charge_then_go_silent(server, fakes, "WECHATPAY", 500)
    await close_by_the_sweep(server, c)
    x = (await settled(server, fakes, c))["costFen"]
    assert x < 500

    # when: the pile stopped 90 minutes in (9.00, above the cap)
    await late_stop(c, 90, 19_000)
    order = await settled(server, fakes, c, lambda o: o["costFen"] == 900)

    # then: owed is the cap, 5.00; what of it was refunded already is written off
    assert (order["dueFen"], order["uncollectedFen"], order["refundFen"]) == (x, 500 - x, 500 - x)
    before = (order, await money(server, c), await entries(server, c), set(fakes.wechat.refunds))

    # when: the pile sends its stop again (it never saw our answer), and the orders side is asked to look again
    await late_stop(c, 90, 19_000)
    server.services.orders.note_correction(c.tx)
    await asyncio.sleep(1.5)

    # then: nothing moved a second time
    assert (await order_of(server, c), await money(server, c), await entries(server, c),
            set(fakes.wechat.refunds)) == before
    assert await server.services.ledger.check_invariants() == []
    await c.pile.close()


async def test_a_wallet_order_gets_the_difference_back_to_the_wallet(server, fakes):
    # given: a 10.00 cap held from a 20.00 wallet, settled at X (the 30 % partner's part by allocation)
    c = await charge_then_go_silent(server, fakes, "WALLET", 1000, wallet_fen=2000)
    await close_by_the_sweep(server, c)
    order = await settled(server, fakes, c)
    x = order["costFen"]
    assert (order["dueFen"], order["allocatedFen"]) == (x, share(x))
    assert await money(server, c) == {"revenue": x - share(x), "uncollected": 0, "partner": share(x),
                                      "wallet": 2000 - x}

    # when: the pile's stop says charging ended 10 minutes in (1.00)
    await late_stop(c, 31, 13_000, full_at_minutes=10)
    order = await settled(server, fakes, c, lambda o: o["costFen"] == 100)

    # then: the difference is back in the wallet; the partner's allocation follows (0.30 of 1.00)
    assert {k: order[k] for k in ("dueFen", "refundFen", "allocatedFen", "uncollectedFen")} == {
        "dueFen": 100, "refundFen": x - 100, "allocatedFen": 30, "uncollectedFen": 0}
    assert await money(server, c) == {"revenue": 70, "uncollected": 0, "partner": 30, "wallet": 1900}
    assert await server.services.ledger.check_invariants() == []
    await c.pile.close()


async def test_a_wallet_order_that_owes_more_pays_it_from_the_balance_within_the_cap(server, fakes):
    # given: a 10.00 cap held from a 10.00 wallet, settled at X
    c = await charge_then_go_silent(server, fakes, "WALLET", 1000, wallet_fen=1000)
    await close_by_the_sweep(server, c)
    x = (await settled(server, fakes, c))["costFen"]
    assert (await money(server, c))["wallet"] == 1000 - x

    # when: the pile stopped 90 minutes in (9.00)
    await late_stop(c, 90, 19_000)
    order = await settled(server, fakes, c, lambda o: o["costFen"] == 900)

    # then: the difference is taken from the wallet (within the 10.00 the driver authorised); the partner's
    # allocation follows (30 % of 9.00)
    assert {k: order[k] for k in ("dueFen", "refundFen", "allocatedFen", "uncollectedFen")} == {
        "dueFen": 900, "refundFen": 0, "allocatedFen": 270, "uncollectedFen": 0}
    assert await money(server, c) == {"revenue": 630, "uncollected": 0, "partner": 270, "wallet": 100}
    assert await server.services.ledger.check_invariants() == []
    await c.pile.close()


async def test_a_2_0_1_pile_ending_its_transaction_late_re_settles_its_order(server):
    # given: a 2.0.1 pile charging a wallet order (10.00 cap, 1.00 per kWh) from two hours ago; 3 kWh sampled
    # 30 minutes in, then silence and Available: the sweep closes it and the order settles at 3.00
    admin = await server.services.access.viewer_from_token(server.admin_token)
    station = await server.builders.station()
    cp = await server.builders.charge_point(station)
    await server.services.tariffs.publish(admin, station.id, ONE_YUAN_PER_KWH, datetime.now(UTC) - timedelta(days=1),
                                          backdate=True)
    driver_id, token = await server.builders.person(Role.DRIVER)
    await server.services.ledger.top_up(driver_id, "sandbox", 1000, key=f"test-top-up-{uuid.uuid4().hex}")
    pile = await StrictChargingStation.connect(server.ocpp_url(cp.id))
    try:
        await pile.boot()
        await pile.status(1, "Available")
        order_id = (await data(server.base_url, START, {"cp": cp.id, "m": "WALLET", "cap": 1000},
                               token=token))["r"]["order"]["id"]
        request = await pile.expect_call("RequestStartTransaction", timeout=10)
        await pile.answer(request, {"status": "Accepted"})
        begun = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=120)
        await pile.transaction("Started", "TX-LATE-1", 0, "RemoteStart", charging_state="Charging", evse=1,
                               connector=1, id_token=request[3]["idToken"], remote_start_id=request[3]["remoteStartId"],
                               timestamp=_at(begun),
                               meter=[{"timestamp": _at(begun), "sampledValue": sampled_values(energy_wh=10_000)}])
        await pile.transaction("Updated", "TX-LATE-1", 1, "MeterValuePeriodic", charging_state="Charging",
                               timestamp=_at(begun + timedelta(minutes=30)),
                               meter=[{"timestamp": _at(begun + timedelta(minutes=30)),
                                       "sampledValue": sampled_values(energy_wh=13_000)}])
        await pile.status(1, "Available")
        session = await ChargingSession.get(charge_point_id=cp.id, pile_transaction_id="TX-LATE-1")
        await server.services.charging.close_stale(STALE_S, now=datetime.now(UTC) + timedelta(hours=13))
        c = Charge(order_id, "", session.id, begun, pile, station.operator_id, 0, driver_id, token)
        order = await settled(server, None, c, lambda o: o["costFen"] == 300)
        assert (order["dueFen"], await server.services.ledger.wallet_balance(driver_id)) == (300, 700)

        # when: back online, the pile sends its queued Ended event: it charged until 90 minutes in (9 kWh)
        ended = [{"timestamp": _at(begun + timedelta(minutes=90)), "sampledValue": sampled_values(
            energy_wh=19_000, context="Transaction.End")}]
        await pile.transaction("Ended", "TX-LATE-1", 2, "EVCommunicationLost", charging_state="Idle", offline=True,
                               stopped_reason="EVDisconnected", timestamp=_at(begun + timedelta(minutes=90)),
                               meter=ended)
        order = await settled(server, None, c, lambda o: o["costFen"] == 900)

        # then: 6.00 more from the wallet, within the 10.00 cap; the operator's revenue follows
        assert (order["dueFen"], order["uncollectedFen"]) == (900, 0)
        assert await server.services.ledger.wallet_balance(driver_id) == 100
        assert await server.services.ledger.balance(LedgerAccountKind.REVENUE, station.operator_id) == 900
        assert await server.services.ledger.check_invariants() == []
    finally:
        await pile.close()
