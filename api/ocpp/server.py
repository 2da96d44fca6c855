"""The OCPP-J endpoint ``/ocpp/{chargePointId}`` on the same port as the API.

Handshake (OCPP-J 1.6 §3, 2.0.1 part 4 §3): the identity must be a registered charge point (or
auto-registration is on); otherwise the upgrade is refused (HTTP 403) and nothing is created. The pile must
offer a subprotocol we speak (``ocpp1.6``, ``ocpp2.0.1``); of several, the first it lists wins (its order is
its preference). If it offers none we know, we complete the handshake without one and close at once, as
OCPP-J §3.1.2 prescribes. A second connection with the same identity replaces the first.
"""

from __future__ import annotations

import asyncio
import logging
import re

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from api.charge_point.errors import ChargePointError
from api.container import Services
from api.models.enums import RegistrationStatus
from api.ocpp.connection import OcppConnection
from api.ocpp.registry import Registry
from api.ocpp.v16.handlers import ChargePointV16
from api.ocpp.v201.handlers import ChargePointV201

log = logging.getLogger(__name__)

DIALECTS: dict[str, type[OcppConnection]] = {"ocpp1.6": ChargePointV16, "ocpp2.0.1": ChargePointV201}

# OCPP 1.6 chargeBoxIdentity is a CiString48; we also refuse characters that make no sense in an id.
IDENTITY = re.compile(r"^[A-Za-z0-9._:\-*+@#|]{1,48}$")

CLOSE_PROTOCOL_ERROR = 1002
CLOSE_TOO_BIG = 1009
CLOSE_REPLACED = 4000
"""Private close code: another connection with this identity took over."""


class FrameTooBig(Exception):
    pass


class StarletteTransport:
    """What the ``ocpp`` library calls a connection: ``recv()`` and ``send()`` on one WebSocket."""

    def __init__(self, websocket: WebSocket, max_frame_bytes: int) -> None:
        self.websocket = websocket
        self.max_frame_bytes = max_frame_bytes
        self._send_lock = asyncio.Lock()

    async def recv(self) -> str | bytes:
        message = await self.websocket.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        data: str | bytes | None = message.get("text")
        if data is None:
            data = message.get("bytes") or b""
        if len(data) > self.max_frame_bytes:
            raise FrameTooBig(f"frame of {len(data)} bytes exceeds {self.max_frame_bytes}")
        return data

    async def send(self, message: str) -> None:
        async with self._send_lock:
            await self.websocket.send_text(message)

    async def close(self, code: int, reason: str) -> None:
        if self.websocket.application_state == WebSocketState.CONNECTED:
            try:
                await self.websocket.close(code=code, reason=reason)
            except RuntimeError:
                pass  # the peer closed first


class OcppServer:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.registry: Registry[OcppConnection] = Registry()

    async def endpoint(self, websocket: WebSocket) -> None:
        charge_point_id: str = websocket.path_params["charge_point_id"]
        if not IDENTITY.fullmatch(charge_point_id):
            log.warning("refused handshake: invalid charge point identity %.60r", charge_point_id)
            await websocket.close(code=1008)
            return
        try:
            admission = await self.services.charge_points.admit(charge_point_id)
        except ChargePointError as error:
            log.warning("refused handshake of %s: %s", charge_point_id, error.message)
            await websocket.close(code=1008)
            return
        offered = list(websocket.scope.get("subprotocols") or [])
        dialect = next((p for p in offered if p in DIALECTS), None)
        if dialect is None:
            log.warning("%s offered no supported subprotocol (%s)", charge_point_id, offered)
            await websocket.accept()
            await websocket.close(code=CLOSE_PROTOCOL_ERROR, reason="no supported OCPP subprotocol")
            return
        await websocket.accept(subprotocol=dialect)
        settings = self.services.settings
        transport = StarletteTransport(websocket, settings.ocpp_max_frame_bytes)
        connection = DIALECTS[dialect](
            charge_point_id, transport, self.services, response_timeout=settings.ocpp_response_timeout_s
        )
        connection.accepted = admission.registration_status == RegistrationStatus.ACCEPTED
        previous = self.registry.claim(charge_point_id, connection)
        if previous is not None:
            log.info("%s reconnected; closing its previous socket", charge_point_id)
            await previous._connection.close(CLOSE_REPLACED, "replaced by a newer connection")
        try:
            await self.services.charge_points.connected(charge_point_id, dialect)
            await connection.run()
        except WebSocketDisconnect:
            pass
        except FrameTooBig as error:
            log.warning("%s: %s", charge_point_id, error)
            await transport.close(CLOSE_TOO_BIG, "frame too big")
        finally:
            if self.registry.release(charge_point_id, connection):
                await self.services.charge_points.disconnected(charge_point_id)

    async def close_all(self) -> None:
        for connection in self.registry.connections():
            await connection._connection.close(1001, "server shutting down")
