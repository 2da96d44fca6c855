"""Kill the server (SIGKILL) between settlement steps and start it again: the order still settles exactly once.

The node runs in its own process (``chargeops serve --demo``) with WeChat Pay pointed at the local fake; the
test is the driver (GraphQL), the pile (strict OCPP 1.6J) and WeChat Pay's back office (the fake's controls).
It kills the node while the refund is pending, while the profit sharing is pending, and while the release of
the frozen rest is pending, restarting it each time, then checks that WeChat saw exactly one refund, one split
and one release, and that the ledger moved each amount once.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.demo import DEMO_PASSWORD, demo_pile_id
from tests.fakes.serve import serve
from tests.fakes.wechatpay import WeChatPayFake
from tests.support.cp_client import StrictChargePoint
from tests.support.gql_client import data
from tests.support.serve_process import ServeProcess, free_port

ORDER = """query($id: ID!) { order(id: $id) { status paidFen costFen dueFen refundFen sharedFen
  steps { kind status } } }"""


@pytest.fixture
async def node_and_fake(tmp_path: Path) -> AsyncIterator[tuple[ServeProcess, WeChatPayFake, httpx.AsyncClient]]:
    fake, config = WeChatPayFake.create()
    async with serve(fake.app) as fake_url, httpx.AsyncClient(base_url=fake_url, trust_env=False) as control:
        config = replace(config, base_url=fake_url)
        (tmp_path / "merchant.pem").write_text(config.merchant_private_key_pem)
        (tmp_path / "wechatpay.pem").write_text(config.platform_public_key_pem)
        port = free_port()
        env = {
            **os.environ,
            "CHARGEOPS_DATABASE_URL": f"sqlite://{tmp_path / 'db.sqlite3'}",
            "CHARGEOPS_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "CHARGEOPS_SECRET_KEY": "crash-node-" + "z" * 32,
            "CHARGEOPS_FILES_DIR": str(tmp_path / "files"),
            "CHARGEOPS_PAY_PROVIDERS": "wechatpay,sandbox",
            "CHARGEOPS_WECHAT_MCHID": config.mchid,
            "CHARGEOPS_WECHAT_APPID": config.appid,
            "CHARGEOPS_WECHAT_SERIAL_NO": config.merchant_serial_no,
            "CHARGEOPS_WECHAT_PRIVATE_KEY_FILE": str(tmp_path / "merchant.pem"),
            "CHARGEOPS_WECHAT_PUBLIC_KEY_FILE": str(tmp_path / "wechatpay.pem"),
            "CHARGEOPS_WECHAT_PUBLIC_KEY_ID": config.platform_public_key_id,
            "CHARGEOPS_WECHAT_APIV3_KEY": config.apiv3_key,
            "CHARGEOPS_WECHAT_BASE_URL": fake_url,
            "CHARGEOPS_ORDER_SHARE_DELAY_S": "0",
            "CHARGEOPS_ORDER_RETRY_S": "1",
            "CHARGEOPS_OCPP_RESPONSE_TIMEOUT_S": "5",
        }
        node = ServeProcess(env, port)
        await node.start()
        try:
            yield node, fake, control
        finally:
            await node.stop()
            await fake.aclose()


def _at(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


async def _until(node: ServeProcess, token: str, order_id: str, ready: Any, timeout_s: float = 30) -> dict[str, Any]:
    for _ in range(int(timeout_s * 10)):
        order = (await data(node.url, ORDER, {"id": order_id}, token=token))["order"]
        if ready(order):
            return order
        await asyncio.sleep(0.1)
    raise AssertionError(f"order {order_id} never got there: {order}")


def _step(order: dict[str, Any], kind: str) -> str | None:
    return next((s["status"] for s in order["steps"] if s["kind"] == kind), None)


async def test_an_order_killed_between_every_settlement_step_settles_exactly_once(node_and_fake):
    node, fake, control = node_and_fake
    login = """mutation($l: String!, $p: String!) { login(login: $l, password: $p) { token } }"""
    driver = (await data(node.url, login, {"l": "driver", "p": DEMO_PASSWORD}))["login"]["token"]
    admin = (await data(node.url, login, {"l": "admin", "p": DEMO_PASSWORD}))["login"]["token"]

    # given: the demo's first pile (its station shares 30 % with a property company) is online and free
    pile_id = demo_pile_id(1)
    pile = await StrictChargePoint.connect(f"ws://127.0.0.1:{node.port}/ocpp/{pile_id}")
    await pile.boot()
    await pile.status(1, "Available")

    # when: the driver prepays 4.00 with WeChat Pay, and the pile charges 1 kWh
    started = (await data(node.url, """mutation($cp: ID!) { r: startCharging(chargePointId: $cp, connectorNo: 1,
        method: WECHATPAY, capFen: 400) { order { id outTradeNo } } }""", {"cp": pile_id}, token=driver))["r"]["order"]
    order_id, number = started["id"], started["outTradeNo"]
    assert (await control.post(f"/__fake__/wechat/pay/{number}")).status_code == 200
    await control.post("/__fake__/wechat/clock/advance", params={"seconds": 61})
    frame = await pile.expect_call("RemoteStartTransaction", timeout=15)
    await pile.answer(frame, {"status": "Accepted"})
    now = datetime.now(UTC)
    tx = (await pile.call("StartTransaction", {"connectorId": 1, "idTag": frame[3]["idTag"], "meterStart": 0,
                                               "timestamp": _at(now - timedelta(minutes=30))}))["transactionId"]
    await pile.stop(tx, 1000, reason="EVDisconnected")
    await pile.close()
    # 1 kWh costs 0.75 to 2.00 under the demo's time-of-use prices: always less than the cap
    cost = (await _until(node, driver, order_id, lambda o: o["dueFen"] is not None))["costFen"]
    assert 75 <= cost <= 200

    # then: the refund is asked for; kill the node while WeChat is still processing it
    await _until(node, driver, order_id, lambda o: _step(o, "refund") == "pending")
    await node.kill()
    assert (await control.post(f"/__fake__/wechat/refund/{number}R1/settle", params={"result": "SUCCESS"})).status_code == 200
    await node.start()

    # the split is asked for once the refund is confirmed; kill again while it is processing
    await _until(node, driver, order_id, lambda o: _step(o, "share") == "pending")
    await node.kill()
    await control.post(f"/__fake__/wechat/profitsharing/{number}S1/finish", params={"result": "SUCCESS"})
    await node.start()

    # the release of the frozen rest; kill once more
    await _until(node, driver, order_id, lambda o: _step(o, "finish") in ("pending", "succeeded"))
    await node.kill()
    await control.post(f"/__fake__/wechat/profitsharing/{number}F1/finish", params={"result": "SUCCESS"})
    await node.start()
    order = await _until(node, driver, order_id, lambda o: o["status"] in ("SETTLED", "SETTLEMENT_FAILED"))

    # then: settled once: WeChat saw one refund of the unused part and one split of 30 % of what was due
    due = min(cost, 400)
    partner_part = due * 3000 // 10_000
    assert {k: order[k] for k in ("status", "paidFen", "dueFen", "refundFen", "sharedFen")} == {
        "status": "SETTLED", "paidFen": 400, "dueFen": due, "refundFen": 400 - due, "sharedFen": partner_part}
    refunds = [r for r in fake.refunds.values() if r.order.out_trade_no == number]
    assert [(r.refund_fen, r.status) for r in refunds] == [(400 - due, "SUCCESS")]
    splits = [s for s in fake.sharings.values() if s.order.out_trade_no == number and s.kind == "split"]
    assert [[r["amount"] for r in s.receivers] for s in splits] == [[partner_part]]
    statement = (await data(node.url, """query { partners: partnerStatement(partnerId: 1) { amountFen } }""",
                                token=admin))["partners"]
    assert sorted(line["amountFen"] for line in statement) == [-partner_part, partner_part]
