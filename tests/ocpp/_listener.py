"""A second node of the test server in the same process: its own settings and services on the suite's database
and bus, on a port of its own, with ``chargeops serve``'s WebSocket protocol. For tests of settings the suite's
node runs without (the production default profile, handshake limits)."""

from __future__ import annotations

import asyncio
import base64
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

import uvicorn

from api.app import create_app
from api.container import Services, build_services
from api.ocpp.security import TlsWebSocketProtocol


@dataclass
class Listener:
    ws_url: str
    base_url: str
    services: Services

    def ocpp_url(self, charge_point_id: str) -> str:
        return f"{self.ws_url}/ocpp/{charge_point_id}"


@asynccontextmanager
async def second_node(server: Any, **settings: Any) -> AsyncIterator[Listener]:
    """The suite's node's settings with ``settings`` changed, as a node of its own (lifespan off: the database is
    already open and the suite's node runs the background work)."""
    changed = replace(server.services.settings, **settings)
    services = build_services(changed, bus=server.services.bus)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = create_app(changed, services=services)
    uv = uvicorn.Server(uvicorn.Config(app, ws=TlsWebSocketProtocol, lifespan="off", log_level="warning"))
    task = asyncio.create_task(uv.serve(sockets=[sock]))
    while not uv.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield Listener(f"ws://127.0.0.1:{port}", f"http://127.0.0.1:{port}", services)
    finally:
        uv.should_exit = True
        await task
        sock.close()


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}
