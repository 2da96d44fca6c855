"""Why an order failed, as a code the apps branch on: the pile refusing or going away at the start, no session
in time, a payment never made, each through GraphQL (the order and its live updates), with the English detail
kept next to it."""

from __future__ import annotations

from dataclasses import replace

from tests.orders.test_lifecycle import START, begin, place, until
from tests.support.gql_client import data, subscribe

ORDER = """query($id: ID!) { order(id: $id) { status dueFen failure failureCode } }"""
UPDATES = """subscription($id: ID!) { orderUpdates(orderId: $id) { status failure failureCode } }"""


async def _order(server, token: str, order_id: str) -> dict:
    return (await data(server.base_url, ORDER, {"id": order_id}, token=token))["order"]


async def test_a_pile_refusing_the_start_is_pile_refused_in_the_order_and_its_updates(server):
    p = await place(server)
    try:
        order_id = (await data(server.base_url, START, {"cp": p.pile_id, "cap": 300}, token=p.driver))["r"]["order"]["id"]
        async with subscribe(server.ws_url, UPDATES, {"id": order_id}, token=p.driver) as live:
            frame = await p.pile.expect_call("RemoteStartTransaction", timeout=10)
            await p.pile.answer(frame, {"status": "Rejected"})
            seen = []
            while not seen or seen[-1]["status"] != "SETTLED":
                seen.append((await live.next(timeout=15))["data"]["orderUpdates"])
        assert {"status": "FINISHED", "failure": "the pile did not start: rejected Rejected",
                "failureCode": "PILE_REFUSED"} in seen
        assert seen[0]["failureCode"] is None  # nothing had failed when the subscription began
        got = await _order(server, p.driver, order_id)
        assert (got["failureCode"], got["dueFen"]) == ("PILE_REFUSED", 0)
    finally:
        await p.pile.close()


async def test_a_pile_gone_before_answering_the_start_is_pile_offline(server):
    p = await place(server)
    order_id = (await data(server.base_url, START, {"cp": p.pile_id, "cap": 300}, token=p.driver))["r"]["order"]["id"]
    await p.pile.expect_call("RemoteStartTransaction", timeout=10)
    await p.pile.close()  # the connection drops before the pile answers

    order = await until(server, p.driver, order_id, lambda o: o["status"] == "SETTLED")
    got = await _order(server, p.driver, order_id)
    assert got["failureCode"] == "PILE_OFFLINE", got
    assert order["dueFen"] == 0


async def test_an_accepted_start_without_a_session_in_time_is_no_session_in_time(server):
    p = await place(server)
    try:
        order_id = (await data(server.base_url, START, {"cp": p.pile_id, "cap": 300}, token=p.driver))["r"]["order"]["id"]
        frame = await p.pile.expect_call("RemoteStartTransaction", timeout=10)
        await p.pile.answer(frame, {"status": "Accepted"})  # ...and no StartTransaction follows

        await until(server, p.driver, order_id, lambda o: o["status"] == "SETTLED", timeout_s=30)
        got = await _order(server, p.driver, order_id)
        assert (got["failureCode"], got["dueFen"]) == ("NO_SESSION_IN_TIME", 0)
        assert got["failure"].startswith("no charging began in time")
    finally:
        await p.pile.close()


async def test_an_order_never_paid_is_cancelled_as_not_paid_in_time(server):
    p = await place(server)
    orders = server.services.orders
    before = orders.timing
    orders.timing = replace(before, payment_window_s=1)  # the test node's window, shortened for this test
    try:
        started = (await data(server.base_url, START, {"cp": p.pile_id, "cap": 300, "m": "SANDBOX"},
                              token=p.driver))["r"]["order"]
        order = await until(server, p.driver, started["id"], lambda o: o["status"] == "CANCELLED", timeout_s=30)
        got = await _order(server, p.driver, started["id"])
        assert (got["failureCode"], got["failure"]) == ("NOT_PAID_IN_TIME", "not paid in time")
        assert order["dueFen"] is None
    finally:
        orders.timing = before
        await p.pile.close()


async def test_an_order_that_charged_has_no_failure_code(server):
    p = await place(server)
    try:
        order_id, tx = await begin(server, p, cap_fen=300, minutes_ago=5)
        await until(server, p.driver, order_id, lambda o: o["status"] == "CHARGING")
        await p.pile.stop(tx, 100, reason="Local")
        await until(server, p.driver, order_id, lambda o: o["status"] == "SETTLED")
        got = await _order(server, p.driver, order_id)
        assert (got["failureCode"], got["failure"]) == (None, "")
    finally:
        await p.pile.close()
