"""The OCPP-J endpoint ``/ocpp/{chargePointId}`` on the same port as the API.

Handshake (OCPP-J 1.6 §3, 2.0.1 part 4 §3): the identity must be a registered charge point (or
auto-registration is on); otherwise the upgrade is refused (HTTP 403) and nothing is created. It must then
show what its security profile asks for (``security.py``: Basic auth, TLS, a client certificate), else HTTP
401 or 403; every refusal is logged, counted by reason, and kept as a ``SecurityEvent`` of a registered pile.
Past the limits on refusals per address and per pile (``security.HandshakeLimits``) a handshake is answered
429 before any password check or database write, and a pile's refusals of one window past its limit, with
those 429s, become one summary ``SecurityEvent`` (reason ``handshakes_throttled``) when the window ends.
The pile must offer a subprotocol we speak (``ocpp1.6``, ``ocpp2.0.1``); of several, the first it lists wins (its order is
its preference). If it offers none we know, we complete the handshake without one and close at once, as
OCPP-J §3.1.2 prescribes. A second connection with the same identity replaces the first: the old socket is
closed (4000), a command waiting on it ends at once (``OFFLINE``), later commands go to the new socket, and
the old socket's end never marks the pile offline (``Registry.turn``).
"""

from __future__ import annotations

import asyncio
import logging
import re

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from api.access.passwords import verify_password
from api.charge_point.errors import (
    ChargePointError,
    ChargePointRejected,
    HandshakeRefused,
    PileNotAuthenticated,
    RefusalReason,
    UnknownChargePoint,
)
from api.container import Services
from api.core import metrics
from api.models.enums import RegistrationStatus
from api.ocpp import security
from api.ocpp.connection import OcppConnection, PileFlooding
from api.ocpp.registry import Registry
from api.ocpp.v16.handlers import ChargePointV16
from api.ocpp.v201.handlers import ChargePointV201

log = logging.getLogger(__name__)

DIALECTS: dict[str, type[OcppConnection]] = {"ocpp1.6": ChargePointV16, "ocpp2.0.1": ChargePointV201}

# OCPP 1.6 chargeBoxIdentity is a CiString48; we also refuse characters that make no sense in an id.
IDENTITY = re.compile(r"^[A-Za-z0-9._:\-*+@#|]{1,48}$")

CLOSE_PROTOCOL_ERROR = 1002
CLOSE_POLICY_VIOLATION = 1008
CLOSE_TOO_BIG = 1009
CLOSE_REPLACED = 4000
"""Private close code: another connection with this identity took over."""
REPLACED_CLOSE_WAIT_S = 2
"""How long a new socket waits for its predecessor's close frame to go out (a dead peer may never read it)."""


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
            try:
                await self.websocket.send_text(message)
            except RuntimeError as error:  # closed meanwhile (replaced, or shutting down): the pile is gone
                raise WebSocketDisconnect(1006, str(error)) from error

    async def close(self, code: int, reason: str) -> None:
        if self.websocket.application_state == WebSocketState.CONNECTED:
            try:
                await self.websocket.close(code=code, reason=reason)
            except (RuntimeError, WebSocketDisconnect):
                pass  # the peer closed first


THROTTLED = "handshakes_throttled"
"""Reason of the summary SecurityEvent of a window of refused handshakes past the limits."""


class OcppServer:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.registry: Registry[OcppConnection] = Registry()
        settings = services.settings
        self.limits = security.HandshakeLimits(
            settings.ocpp_handshake_failures_per_address, settings.ocpp_handshake_failures_per_pile,
            settings.ocpp_handshake_window_s,
        )
        self._summaries: dict[asyncio.Task[None], security.PileWindow] = {}
        for reason in RefusalReason:  # every reason shows in /metrics from the start, at 0
            metrics.ocpp_handshake_refusals.labels(reason.value)
        for limit in ("address", "pile"):
            metrics.ocpp_handshakes_throttled.labels(limit)
        if settings.ocpp_default_security_profile == 0:
            log.warning(
                "CHARGEOPS_OCPP_DEFAULT_SECURITY_PROFILE=0: piles without a security profile of their own connect "
                "without a password. A development setting: DESIGN §4 wants every pile to authenticate"
            )

    async def endpoint(self, websocket: WebSocket) -> None:
        charge_point_id: str = websocket.path_params["charge_point_id"]
        trust_proxy = self.services.settings.trust_proxy_headers
        address = security.client_address(websocket.scope, trust_proxy=trust_proxy)
        throttle = self.limits.check(address, charge_point_id)
        if throttle is not None:  # before anything costly: no password check, no database
            metrics.ocpp_handshakes_throttled.labels(throttle.limit).inc()
            if throttle.window is not None:
                self._summarise(throttle.window, address)
            log.debug("throttled handshake of %.60r from %s (%s limit)", charge_point_id, address, throttle.limit)
            await security.refuse(websocket, 429, throttle.retry_after_s)
            return
        if not IDENTITY.fullmatch(charge_point_id):
            log.warning("refused handshake: invalid charge point identity %.60r", charge_point_id)
            metrics.ocpp_handshake_refusals.labels(RefusalReason.INVALID_IDENTITY.value).inc()
            self.limits.refused(address, None)
            await security.refuse(websocket, 403)
            return
        proof = security.proof_of(websocket.scope, charge_point_id, trust_proxy=trust_proxy)
        try:
            admission = await self.services.charge_points.admit(charge_point_id, proof, verify_password)
        except ChargePointError as error:
            await self._refuse(websocket, charge_point_id, error, proof.secure, address)
            return
        self.limits.connected(address, charge_point_id)
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
            try:
                await asyncio.wait_for(previous.close(CLOSE_REPLACED, "replaced by a newer connection"),
                                       REPLACED_CLOSE_WAIT_S)
            except TimeoutError:
                log.warning("%s: the previous socket did not take its close frame; left to its keepalive", charge_point_id)
        try:
            async with self.registry.turn(charge_point_id):
                if self.registry.is_live(charge_point_id, connection):  # not replaced again meanwhile
                    await self.services.charge_points.connected(charge_point_id, dialect)
            await connection.run()
        except WebSocketDisconnect:
            pass
        except FrameTooBig as error:
            log.warning("%s: %s", charge_point_id, error)
            await transport.close(CLOSE_TOO_BIG, "frame too big")
        except PileFlooding as error:
            log.warning("%s", error)
            await transport.close(CLOSE_POLICY_VIOLATION, "rate limit exceeded")
        finally:
            connection.closed.set()
            if self.registry.release(charge_point_id, connection):
                async with self.registry.turn(charge_point_id):
                    if charge_point_id not in self.registry:  # no successor marked it online meanwhile
                        await self.services.charge_points.disconnected(charge_point_id)

    async def _refuse(
        self, websocket: WebSocket, charge_point_id: str, error: ChargePointError, secure: bool, address: str
    ) -> None:
        """Refuse the upgrade: log, count, keep a SecurityEvent (registered piles; past the pile's limit, in the
        window's summary), answer 401 or 403."""
        if isinstance(error, HandshakeRefused):
            reason = error.reason
        elif isinstance(error, UnknownChargePoint):
            reason = RefusalReason.UNREGISTERED
        else:
            reason = RefusalReason.REJECTED
        log.warning("refused handshake of %s from %s: %s (%s)", charge_point_id, address, reason.value, error.message)
        metrics.ocpp_handshake_refusals.labels(reason.value).inc()
        registered = isinstance(error, HandshakeRefused | ChargePointRejected)  # the pile exists: it keeps the event
        window = self.limits.refused(address, charge_point_id if registered else None)
        if window is not None:
            window.summed[reason.value] += 1
            metrics.ocpp_handshake_refusals_summed.inc()
            self._summarise(window, address)
        elif registered:
            try:
                await self.services.charge_points.record_security_event(
                    charge_point_id, reason.value, {"message": error.message, "remote": address, "tls": secure},
                )
            except Exception:  # a refusal is answered even when the database is not
                log.exception("%s: could not record the refused handshake", charge_point_id)
        await security.refuse(websocket, 401 if isinstance(error, PileNotAuthenticated) else 403)

    def _summarise(self, window: security.PileWindow, address: str) -> None:
        """Have the window's summary SecurityEvent written when it ends (once per pile and window)."""
        window.note_remote(address)
        if window.summary_due:
            return
        window.summary_due = True
        task = asyncio.create_task(self._write_summary(window), name=f"handshake summary of {window.charge_point_id}")
        self._summaries[task] = window
        task.add_done_callback(self._summaries.pop)

    async def _write_summary(self, window: security.PileWindow, *, now: bool = False) -> None:
        if not now:
            await asyncio.sleep(max(0.0, window.ends - self.limits.clock()))
        details = {
            "message": f"{window.refusals} handshakes refused and {window.throttled} more answered 429 at once "
                       f"within {self.limits.window_s:g} s",
            "window_s": self.limits.window_s, "refused": window.refusals, "throttled": window.throttled,
            "not_recorded_one_by_one": dict(window.summed), "remotes": sorted(window.remotes),
        }
        try:
            await self.services.charge_points.record_security_event(window.charge_point_id, THROTTLED, details)
        except Exception:
            log.exception("%s: could not record the summary of refused handshakes", window.charge_point_id)

    async def close_all(self) -> None:
        pending = list(self._summaries.items())
        for task, _ in pending:
            task.cancel()
        for _, window in pending:  # windows still open: their summaries so far
            await self._write_summary(window, now=True)
        for connection in self.registry.connections():
            await connection.close(1001, "server shutting down")
