"""An order's life over GraphQL with a strict OCPP pile: live cost, stop at the cap, billing quarantine and
an operator's review, privacy, and clear refusals. Paid from the wallet, so no provider is involved."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from api.audit.dto import AuditFilter
from api.models.enums import Role, TariffTier
from api.tariff.rules import time_of_use
from tests.support.cp_client import StrictChargePoint
from tests.support.queries import count_queries
from tests.support.gql_client import data, gql, subscribe

ONE_YUAN_PER_KWH = time_of_use([("00:00-24:00", TariffTier.FLAT)], {TariffTier.FLAT: (6_000, 4_000)})
START = """mutation($cp: ID!, $cap: Int!, $m: PayMethod! = WALLET) { r: startCharging(chargePointId: $cp,
  connectorNo: 1, method: $m, capFen: $cap) { order { id status } } }"""
ORDER = """query($id: ID!) { order(id: $id) { status costFen dueFen refundFen sessionId quarantineReason
  reviewNote } }"""


@dataclass
class Place:
    station_id: int
    operator_id: int
    pile_id: str
    pile: StrictChargePoint
    driver_id: int
    driver: str


async def place(server, *, wallet_fen: int = 2000, tariff: bool = True) -> Place:
    b, services = server.builders, server.services
    admin = await services.access.viewer_from_token(server.admin_token)
    station = await b.station()
    cp = await b.charge_point(station)
    if tariff:
        await services.tariffs.publish(admin, station.id, ONE_YUAN_PER_KWH, datetime.now(UTC) - timedelta(days=1),
                                       backdate=True)
    driver_id, token = await b.person(Role.DRIVER)
    if wallet_fen:
        await services.ledger.top_up(driver_id, "sandbox", wallet_fen, key=f"test-top-up-{uuid.uuid4().hex}")
    pile = await StrictChargePoint.connect(server.ocpp_url(cp.id))
    await pile.boot()
    await pile.status(1, "Available")
    return Place(station.id, station.operator_id, cp.id, pile, driver_id, token)


def _at(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


async def until(server, token: str, order_id: str, ready: Any, timeout_s: float = 15) -> dict[str, Any]:
    for _ in range(int(timeout_s * 10)):
        order = (await data(server.base_url, ORDER, {"id": order_id}, token=token))["order"]
        if ready(order):
            return order
        await asyncio.sleep(0.1)
    raise AssertionError(f"order {order_id}: {order}")


async def begin(server, p: Place, cap_fen: int, minutes_ago: int) -> tuple[str, int]:
    order_id = (await data(server.base_url, START, {"cp": p.pile_id, "cap": cap_fen}, token=p.driver))["r"]["order"]["id"]
    frame = await p.pile.expect_call("RemoteStartTransaction", timeout=10)
    await p.pile.answer(frame, {"status": "Accepted"})
    started = await p.pile.call("StartTransaction", {
        "connectorId": 1, "idTag": frame[3]["idTag"], "meterStart": 0,
        "timestamp": _at(datetime.now(UTC) - timedelta(minutes=minutes_ago))})
    return order_id, started["transactionId"]


async def test_the_cost_is_live_and_the_pile_is_stopped_when_it_reaches_the_cap(server):
    # given: a driver charging against a 1.00 cap at 1.00 per kWh
    p = await place(server)
    order_id, tx = await begin(server, p, cap_fen=100, minutes_ago=10)
    await until(server, p.driver, order_id, lambda o: o["status"] == "CHARGING")

    updates = """subscription($s: ID!) { sessionUpdates(sessionId: $s) { __typename
      ... on SessionCostUpdated { costFen capFen energyWh } } }"""
    async with subscribe(server.ws_url, updates, {"s": str(tx)}, token=p.driver) as session_updates:
        await asyncio.sleep(0.3)
        # when: the pile reports 0.5 kWh, then 1 kWh
        await p.pile.meter(1, tx, energy_wh=500, power_w=6_000, timestamp=_at(datetime.now(UTC) - timedelta(minutes=5)))
        seen = []
        while not any(u.get("costFen") == 50 for u in seen):
            seen.append((await session_updates.next(timeout=10))["data"]["sessionUpdates"])
        await p.pile.meter(1, tx, energy_wh=1_000, power_w=6_000)

        # then: the driver sees the running cost, and the platform stops the pile at the cap
        stop = await p.pile.expect_call("RemoteStopTransaction", timeout=10)
        assert stop[3] == {"transactionId": tx}
        while not any(u.get("costFen") == 100 for u in seen):
            seen.append((await session_updates.next(timeout=10))["data"]["sessionUpdates"])
    assert {"__typename": "SessionCostUpdated", "costFen": 50, "capFen": 100, "energyWh": 500} in seen
    await p.pile.answer(stop, {"status": "Accepted"})
    await p.pile.stop(tx, 1_000, reason="Remote")

    order = await until(server, p.driver, order_id, lambda o: o["status"] == "SETTLED")
    assert (order["costFen"], order["dueFen"], order["refundFen"]) == (100, 100, 0)
    wallet = (await data(server.base_url, "{ wallet { balanceFen heldFen } }", token=p.driver))["wallet"]
    assert wallet == {"balanceFen": 1900, "heldFen": 0}

    # when: the operator refunds 0.30 of it; then: back in the wallet, and no more than was paid can go back
    _, operator = await server.builders.person(Role.OPERATOR_ADMIN, operator_id=p.operator_id)
    refund = """mutation($id: ID!, $a: Int!) { r: refundOrder(orderId: $id, amountFen: $a, reason: "补偿") { status } }"""
    await data(server.base_url, refund, {"id": order_id, "a": 30}, token=operator)
    order = await until(server, p.driver, order_id, lambda o: o["status"] == "SETTLED" and o["refundFen"] == 30)
    wallet = (await data(server.base_url, "{ wallet { balanceFen } }", token=p.driver))["wallet"]
    assert wallet == {"balanceFen": 1930}
    too_much = await gql(server.base_url, refund, {"id": order_id, "a": 71}, token=operator)
    assert too_much["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    by_driver = await gql(server.base_url, refund, {"id": order_id, "a": 10}, token=p.driver)
    assert by_driver["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    await p.pile.close()


async def test_impossible_meter_data_waits_for_an_operators_review(server):
    # given: a session whose pile reports 500 kWh in two minutes (a lifetime register as the session's energy)
    p = await place(server)
    order_id, tx = await begin(server, p, cap_fen=300, minutes_ago=2)
    await until(server, p.driver, order_id, lambda o: o["status"] == "CHARGING")
    await p.pile.stop(tx, 500_000, reason="EVDisconnected")

    # then: nothing is charged; the order waits for review and says why
    order = await until(server, p.driver, order_id, lambda o: o["status"] == "QUARANTINED")
    assert "more than the connector's 120000 W can deliver" in order["quarantineReason"]
    held = (await data(server.base_url, "{ wallet { balanceFen heldFen } }", token=p.driver))["wallet"]
    assert held == {"balanceFen": 1700, "heldFen": 300}

    # when: a station manager of another station tries to decide it, then the operator corrects it to 1.20
    review = """mutation($id: ID!) { r: reviewOrder(orderId: $id, decision: CORRECT, dueFen: 120,
      note: "按实际充电 1.2 kWh 计费") { status dueFen reviewNote } }"""
    other = await server.builders.station()
    _, stranger = await server.builders.person(Role.STATION_MANAGER, station_id=other.id)
    refused = await gql(server.base_url, review, {"id": order_id}, token=stranger)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    _, operator = await server.builders.person(Role.OPERATOR_ADMIN, operator_id=p.operator_id)
    decided = (await data(server.base_url, review, {"id": order_id}, token=operator))["r"]
    assert (decided["status"], decided["dueFen"]) == ("FINISHED", 120)

    # then: it settles on the corrected amount, the rest back in the wallet, and the decision is audited
    order = await until(server, p.driver, order_id, lambda o: o["status"] == "SETTLED")
    assert (order["dueFen"], order["reviewNote"]) == (120, "按实际充电 1.2 kWh 计费")
    wallet = (await data(server.base_url, "{ wallet { balanceFen heldFen } }", token=p.driver))["wallet"]
    assert wallet == {"balanceFen": 1880, "heldFen": 0}
    trail = await server.services.audit.search(
        AuditFilter(station_id=p.station_id, action_prefix="order.review"), everything=True,
        station_ids=frozenset(), operator_ids=frozenset(), before_id=None, limit=10)
    assert [(e.action, e.details["due_fen"]) for e in trail] == [("order.review.correct", 120)]
    await p.pile.close()


async def test_an_order_is_private_to_its_driver_and_the_stations_staff(server):
    p = await place(server)
    order_id, tx = await begin(server, p, cap_fen=200, minutes_ago=5)
    _, someone_else = await server.builders.person(Role.DRIVER)

    body = await gql(server.base_url, ORDER, {"id": order_id}, token=someone_else)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    mine = (await data(server.base_url, "{ orders { id } }", token=p.driver))["orders"]
    assert [o["id"] for o in mine] == [order_id]
    assert (await data(server.base_url, "{ orders { id } }", token=someone_else))["orders"] == []
    _, manager = await server.builders.person(Role.STATION_MANAGER, station_id=p.station_id)
    station_orders = (await data(server.base_url, "query($s: ID!) { orders(stationId: $s) { id } }",
                                 {"s": p.station_id}, token=manager))["orders"]
    assert [o["id"] for o in station_orders] == [order_id]
    await p.pile.stop(tx, 100)
    await p.pile.close()


async def test_starts_that_cannot_work_are_refused_with_a_clear_error(server):
    poor = await place(server, wallet_fen=50)
    no_prices = await place(server, tariff=False)
    cases = [
        (poor, {"cap": 10}, "INVALID_INPUT", "a cap is between"),
        (poor, {"cap": 100}, "PAYMENT_NOT_POSSIBLE", "wallet balance is below the cap"),
        (poor, {"cap": 100, "m": "WECHATPAY"}, "PAYMENT_NOT_POSSIBLE", "wechatpay is not configured"),
        (no_prices, {"cap": 100}, "PAYMENT_NOT_POSSIBLE", "no tariff"),
    ]
    for p, variables, code, words in cases:
        body = await gql(server.base_url, START, {"cp": p.pile_id, **variables}, token=p.driver)
        assert body["errors"][0]["extensions"]["code"] == code, body
        assert words in body["errors"][0]["message"], body
    anonymous = await gql(server.base_url, START, {"cp": poor.pile_id, "cap": 100})
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    for p in (poor, no_prices):
        await p.pile.close()


async def test_pay_methods_are_what_the_platform_configured_then_the_wallet(server):
    # the test node enables the sandbox only (the embedded default); no login is needed to ask
    assert (await data(server.base_url, "{ payMethods }"))["payMethods"] == ["SANDBOX", "WALLET"]
    server.services.orders.providers["wechatpay"] = server.services.orders.providers["sandbox"]
    try:
        assert (await data(server.base_url, "{ payMethods }"))["payMethods"] == ["WECHATPAY", "SANDBOX", "WALLET"]
    finally:
        del server.services.orders.providers["wechatpay"]


async def test_an_order_list_names_its_stations_in_one_query(server):
    p = await place(server)
    try:
        for minutes_ago in (2, 1):  # two starts at one instant with one reading would be one retransmitted start
            order_id, tx = await begin(server, p, cap_fen=500, minutes_ago=minutes_ago)
            await until(server, p.driver, order_id, lambda o: o["status"] == "CHARGING")
            await p.pile.stop(tx, 100, reason="Local")
            await until(server, p.driver, order_id, lambda o: o["status"] == "SETTLED")
        station = (await data(server.base_url, "query($id: ID!) { station(id: $id) { name } }",
                              {"id": str(p.station_id)}, token=server.admin_token))["station"]["name"]
        with count_queries() as queries:
            listed = (await data(server.base_url, "{ orders { stationName } }", token=p.driver))["orders"]
        assert listed == [{"stationName": station}] * 2
        assert sum('FROM "station"' in q or "FROM `station`" in q for q in queries) == 1, queries
    finally:
        await p.pile.close()
