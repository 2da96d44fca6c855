"""What operations see of a node: liveness, readiness, Prometheus metrics, and logs that name the pile and request."""

from __future__ import annotations

import logging

import httpx

from api.core.logs import ContextFilter
from tests.support.cp_client import StrictChargePoint
from tests.support.gql_client import data


async def test_liveness_and_readiness(server):
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        alive = (await client.get("/healthz")).json()
        ready = await client.get("/readyz")
    assert alive["status"] == "ok" and alive["node"] == server.services.charge_points.node
    assert (ready.status_code, ready.json()["status"]) == (200, "ready")


async def test_metrics_count_piles_and_commands(server):
    pile, away = await server.builders.charge_point(), await server.builders.charge_point()
    client = await StrictChargePoint.connect(server.ocpp_url(pile.id))
    try:
        await client.boot()
        reset = await data(server.base_url, 'mutation($cp: ID!) { resetChargePoint(chargePointId: $cp, hard: false) '
                           '{ outcome } }', {"cp": away.id}, token=server.admin_token)
        assert reset["resetChargePoint"]["outcome"] == "OFFLINE"
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            response = await http.get("/metrics")
    finally:
        await client.close()
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    lines = response.text.splitlines()
    connected = next(line for line in lines if line.startswith("chargeops_piles_connected "))
    assert float(connected.split()[1]) >= 1
    assert any(line.startswith('chargeops_commands_total{command="Reset",outcome="offline"}') for line in lines)
    assert any(line.startswith('chargeops_ocpp_messages_total{action="BootNotification",result="ok"}')
               for line in lines)
    acks = next(line for line in lines if line.startswith("chargeops_ocpp_ack_seconds_count "))
    assert float(acks.split()[1]) >= 1
    for name in ("chargeops_ocpp_messages_total", "chargeops_ocpp_ack_seconds", "chargeops_database_errors_total",
                 "chargeops_bus_lag_seconds", "chargeops_subscriptions_active"):
        assert f"# TYPE {name.removesuffix('_total')}" in response.text, name


async def test_a_request_id_comes_back_and_a_bad_one_is_replaced(server):
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        kept = await client.get("/healthz", headers={"X-Request-Id": "lb-7f3a.42"})
        replaced = await client.get("/healthz", headers={"X-Request-Id": "bad id\twith spaces"})
    assert kept.headers["x-request-id"] == "lb-7f3a.42"
    assert replaced.headers["x-request-id"] not in ("", "bad id\twith spaces")


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.addFilter(ContextFilter())
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def test_log_lines_name_the_pile_and_the_request(server):
    capture = _Capture()
    logger = logging.getLogger("api.ocpp")
    logger.addHandler(capture)
    pile = await server.builders.charge_point()
    client = await StrictChargePoint.connect(server.ocpp_url(pile.id))
    try:
        await client.send_raw("this is not OCPP")  # logged as an unreadable frame
        await client.next_frame()
    finally:
        await client.close()
        logger.removeHandler(capture)
    unreadable = [r for r in capture.records if "unreadable frame" in r.getMessage()]
    assert unreadable, [r.getMessage() for r in capture.records]
    assert unreadable[0].pile == pile.id  # type: ignore[attr-defined]
    assert unreadable[0].request_id not in ("", "-")  # type: ignore[attr-defined]
