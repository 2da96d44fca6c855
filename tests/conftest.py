"""The real server for tests: uvicorn on 127.0.0.1 (a free port) in the test loop, with a fresh database.

``CHARGEOPS_TEST_DATABASE_URL`` picks the engine: unset means a SQLite file in a temporary folder;
``mysql://root:@127.0.0.1:3306/test`` means MariaDB/MySQL, where a database of its own is created for
this run (``<name>_<random>``) and dropped afterwards, so parallel runs never collide.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import uvicorn

from api.app import create_app
from api.container import Services, build_services
from api.ocpp.security import TlsWebSocketProtocol
from api.orders.service import OrderTiming
from api.settings import Settings
from tests.support.builders import Builders

# The development setting of DESIGN §4 for the whole suite, nodes of their own (`chargeops serve` processes)
# included: its piles connect bare unless a test gives them a profile; tests/ocpp/test_default_profile.py
# runs nodes under the production default.
os.environ.setdefault("CHARGEOPS_OCPP_DEFAULT_SECURITY_PROFILE", "0")


@dataclass
class RunningServer:
    base_url: str
    ws_url: str
    services: Services
    builders: Builders
    admin_token: str
    """A platform admin's token, for tests about something other than access."""
    app: Any = None
    """The node's ASGI app (a test may serve it on a second listener of its own, e.g. one with TLS)."""

    def ocpp_url(self, charge_point_id: str) -> str:
        return f"{self.ws_url}/ocpp/{charge_point_id}"


async def _mysql_database(url: str) -> tuple[str, str]:
    import asyncmy

    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/') or 'test'}_{secrets.token_hex(4)}"
    conn = await asyncmy.connect(
        host=parts.hostname, port=parts.port or 3306, user=parts.username or "root", password=parts.password or ""
    )
    async with conn.cursor() as cursor:
        await cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    conn.close()
    return urlunsplit(parts._replace(path=f"/{name}")), name


async def _drop_mysql_database(url: str, name: str) -> None:
    import asyncmy

    parts = urlsplit(url)
    conn = await asyncmy.connect(
        host=parts.hostname, port=parts.port or 3306, user=parts.username or "root", password=parts.password or ""
    )
    async with conn.cursor() as cursor:
        await cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
    conn.close()


@asynccontextmanager
async def running_server(settings: Settings, **build: Any) -> AsyncIterator[RunningServer]:
    """A whole node (uvicorn on a free port of 127.0.0.1) for ``settings``; the public URL follows the port.
    ``build`` goes to ``build_services`` (e.g. payment providers talking to local fakes)."""
    # with the protocol named, asyncio turns on TCP_NODELAY for accepted connections (else ~40 ms per request)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    settings = replace(settings, public_url=f"http://127.0.0.1:{port}")
    services = build_services(settings, **build)
    app = create_app(settings, services=services)
    # the WebSocket protocol `chargeops serve` runs (websockets-sansio, plus the ASGI TLS extension)
    config = uvicorn.Config(app, ws=TlsWebSocketProtocol, lifespan="on", log_level="warning")
    uv = uvicorn.Server(config)
    task = asyncio.create_task(uv.serve(sockets=[sock]))
    while not uv.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    builders = Builders(services)
    try:
        yield RunningServer(
            base_url=f"http://127.0.0.1:{port}",
            ws_url=f"ws://127.0.0.1:{port}",
            services=services,
            builders=builders,
            admin_token=await builders.admin_token(),
            app=app,
        )
    finally:
        uv.should_exit = True
        await task
        sock.close()


@pytest.fixture(scope="session")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningServer]:
    wanted = os.environ.get("CHARGEOPS_TEST_DATABASE_URL", "")
    mysql_name = None
    if wanted.startswith("mysql://"):
        database_url, mysql_name = await _mysql_database(wanted)
    else:
        database_url = f"sqlite://{tmp_path_factory.mktemp('db') / 'chargeops.sqlite3'}"
    settings = Settings(
        database_url=database_url, ocpp_response_timeout_s=5, ocpp_default_security_profile=0,
        # every test pile connects from 127.0.0.1: refusals of one test must not throttle the next ones
        # (the per-pile limit stays; tests/ocpp/test_handshake_limits.py runs nodes with both)
        ocpp_handshake_failures_per_address=0,
        files_dir=str(tmp_path_factory.mktemp("files")), secret_key="test-secret-" + "x" * 32,
        # CHARGEOPS_TEST_REDIS_BUS: the whole suite's events cross a real Redis, as between nodes
        redis_url=os.environ.get("CHARGEOPS_TEST_REDIS_BUS", ""), redis_prefix=f"test-{uuid.uuid4().hex[:12]}:",
    )
    try:
        # orders: quick queries, start timeouts and retries; no minute's wait before sharing (the fakes'
        # clocks are moved instead)
        timing = OrderTiming(query_after_s=2, start_timeout_s=8, retry_s=1, share_delay_s=0)
        async with running_server(settings, order_timing=timing) as running:
            yield running
    finally:
        if mysql_name is not None:
            await _drop_mysql_database(wanted, mysql_name)
