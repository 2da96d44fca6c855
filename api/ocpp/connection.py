"""One pile's OCPP-J session on top of the ``ocpp`` library's ChargePoint.

We keep the library's ``@on`` routing, its payload dataclasses and its ``call()`` for commands, and replace
its ``route_message``: every frame is pre-parsed (``frames.parse``), requests are validated against
validators compiled at start-up, errors are answered in the pile's own protocol version, and a handler
that fails (a storage error, say) produces a CALLERROR, so the pile keeps its data and retries.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from ocpp.charge_point import ChargePoint, camel_to_snake_case, remove_nones, snake_to_camel_case
from ocpp.messages import CallError as LibCallError
from ocpp.exceptions import OCPPError
from ocpp.messages import CallResult as LibCallResult
from starlette.websockets import WebSocketDisconnect

from api.commands.dto import Command, CommandResult, Outcome
from api.container import Services
from api.core import metrics
from api.core.db import is_database_error
from api.ocpp import frames
from api.ocpp.frames import Fault, FrameError
from api.ocpp.schemas import SchemaSet

log = logging.getLogger(__name__)
traffic_log = logging.getLogger("api.ocpp.traffic")
"""The ``ocpp`` library logs every frame at INFO here; ``chargeops serve`` shows it only with --log-level debug."""


class Transport(Protocol):
    async def recv(self) -> str | bytes: ...

    async def send(self, message: str) -> None: ...


class OcppConnection(ChargePoint):  # type: ignore[misc]
    dialect: str = ""
    schemas: SchemaSet
    pile_actions: frozenset[str] = frozenset()
    """Actions a pile may send to us in this version; other known actions are NotSupported."""

    def __init__(self, charge_point_id: str, transport: Transport, services: Services, response_timeout: int) -> None:
        super().__init__(charge_point_id, transport, response_timeout=response_timeout, logger=traffic_log)
        self.services = services
        self.accepted = False
        self.follow_up: Callable[[], Awaitable[Any]] | None = None
        """Set by a handler: run after its answer has been sent (a handler must never call its own pile)."""
        """Registration accepted: until then only BootNotification and Heartbeat are answered."""

    async def route_message(self, raw_msg: str | bytes) -> None:
        try:
            frame = frames.parse(raw_msg)
        except FrameError as error:
            log.warning("%s: unreadable frame (%s): %.200r", self.id, error.description, raw_msg)
            if error.respond:
                await self._send(error.to_json(self.dialect))
            return
        if isinstance(frame, frames.Call):
            await self._answer(frame)
        elif isinstance(frame, frames.CallResult):
            self._response_queue.put_nowait(LibCallResult(frame.unique_id, frame.payload))
        else:
            self._response_queue.put_nowait(
                LibCallError(frame.unique_id, frame.error_code, frame.description, frame.details)
            )

    async def _answer(self, call: frames.Call) -> None:
        started = time.perf_counter()
        action = call.action if self.schemas.knows(call.action) else "unknown"  # labels stay a closed set
        try:
            payload = await self._dispatch(call)
        except FrameError as error:
            await self._send(error.to_json(self.dialect))
            self._measure(action, error.fault.value, started)
            return
        except Exception as failure:
            log.exception("%s: %s %s failed", self.id, call.action, call.unique_id)
            if is_database_error(failure):
                metrics.database_errors.inc()
            error = FrameError(Fault.INTERNAL, f"{call.action} could not be processed; retry later", call.unique_id)
            await self._send(error.to_json(self.dialect))
            self._measure(action, error.fault.value, started)
            return
        await self._send(frames.encode([frames.CALLRESULT, call.unique_id, payload]))
        self._measure(action, "ok", started)
        if self.follow_up is not None:
            follow_up, self.follow_up = self.follow_up, None
            spawn(follow_up(), f"{self.id}: after {call.action}")

    @staticmethod
    def _measure(action: str, result: str, started: float) -> None:
        metrics.ocpp_messages.labels(action, result).inc()
        metrics.ocpp_ack_seconds.observe(time.perf_counter() - started)

    async def _dispatch(self, call: frames.Call) -> dict[str, Any]:
        if not self.schemas.knows(call.action):
            raise FrameError(Fault.NOT_IMPLEMENTED, f"{call.action} is not an OCPP {self.dialect} action", call.unique_id)
        handler = self.route_map.get(call.action, {}).get("_on_action")
        if call.action not in self.pile_actions or handler is None:
            raise FrameError(Fault.NOT_SUPPORTED, f"{call.action} is not accepted from a charge point", call.unique_id)
        if not self.accepted and call.action not in self.before_acceptance:
            raise FrameError(
                Fault.SECURITY, "registration is not accepted yet; send BootNotification", call.unique_id
            )
        self.schemas.check_request(call.action, call.unique_id, call.payload)
        kwargs = camel_to_snake_case(call.payload)
        if "call_unique_id" in inspect.signature(handler).parameters:
            kwargs["call_unique_id"] = call.unique_id
        result = handler(**kwargs)
        if inspect.isawaitable(result):
            result = await result
        payload: dict[str, Any] = snake_to_camel_case(remove_nones(dataclasses.asdict(result)))
        # Our own answer must satisfy the schema too: a bug here must not reach the pile as valid data.
        self.schemas.check_response(call.action, call.unique_id, payload)
        return payload

    before_acceptance: frozenset[str] = frozenset({"BootNotification", "Heartbeat"})

    def command_call(self, command: Command) -> Any:
        """The call of this dialect for ``command``. It may be awaitable (a dialect that must look something up
        first), and it may be a ``CommandResult`` instead: the dialect has nothing to send (say, a session
        this pile never reported), and that is the answer."""
        raise NotImplementedError

    def command_result(self, action: str, answer: Any) -> CommandResult:
        """What the pile's answer to ``action`` means."""
        raise NotImplementedError

    def command_outcome(self, command: Command, action: str, answer: Any) -> CommandResult:
        """What the pile's answer to ``command`` means, for dialects that need the command to read it."""
        return self.command_result(action, answer)

    async def execute(self, command: Command) -> CommandResult:
        """Send ``command`` as a call and wait (up to the response timeout) for the pile's answer."""
        payload = self.command_call(command)
        if inspect.isawaitable(payload):
            payload = await payload
        if isinstance(payload, CommandResult):
            return payload
        action = type(payload).__name__
        try:
            answer = await self.call(payload, suppress=False)
        except TimeoutError:
            return CommandResult(Outcome.TIMED_OUT, message=f"no answer to {action} within {self._response_timeout} s")
        except OCPPError as error:  # a CALLERROR, or an answer that breaks the schema
            return CommandResult(Outcome.ERROR, status=error.code, message=str(error.description))
        except (WebSocketDisconnect, RuntimeError, OSError) as error:
            return CommandResult(Outcome.OFFLINE, message=f"the connection closed while sending {action}: {error}")
        return self.command_outcome(command, action, answer)

    async def run(self) -> None:
        """Receive until the socket closes; frames are handled in order, as OCPP-J requires."""
        await self.start()


def spawn(coro: Any, name: str) -> asyncio.Task[Any]:
    """Fire a follow-up (a call to the pile after an answer) whose failure must be logged, not lost."""
    task = asyncio.create_task(coro, name=name)

    def report(done: asyncio.Task[Any]) -> None:
        if not done.cancelled() and done.exception() is not None:
            log.error("%s failed", name, exc_info=done.exception())

    task.add_done_callback(report)
    return task
