"""One pile's OCPP-J session on top of the ``ocpp`` library's ChargePoint.

We keep the library's ``@on`` routing, its payload dataclasses and its ``call()`` for commands, and replace
its ``route_message``: every frame is pre-parsed (``frames.parse``), requests are validated against
validators compiled at start-up, errors are answered in the pile's own protocol version, and a handler
that fails (a storage error, say) produces a CALLERROR, so the pile keeps its data and retries.

Each pile's calls pass a token bucket (``CHARGEOPS_OCPP_RATE_PER_S``, ``CHARGEOPS_OCPP_RATE_BURST``). OCPP-J
names no error for "too many calls", so a call over the limit gets ``GenericError`` (1.6 §4.2.3 and 2.0.1
part 4 §4.3: "any other error not covered by the more specific error codes") with a "rate limited; retry
later" description and ``retryAfterS`` in its details. Not ``InternalError``, which says we failed (and is
what a storage failure answers), nor ``ProtocolError``/``SecurityError``, which say the message itself is
wrong, so a pile would drop it instead of retrying. A pile that keeps sending after its rejections
(more rejected calls than a whole burst before the bucket refills) is a flood: ``PileFlooding`` is raised
and the server closes its socket with 1008 (policy violation).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import inspect
import json
import logging
import re
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


SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
"""A JSON ``\\uD800``-``\\uDFFF`` escape: fine in a pair (an emoji), not Unicode text alone."""


def refuse_lone_surrogates(raw: str | bytes, frame: frames.Frame) -> None:
    """JSON may escape a lone UTF-16 surrogate (RFC 8259 §8.2: "unpredictable"); such a string is no Unicode
    text, could be neither stored nor echoed in an answer, so the frame is refused as malformed."""
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw  # parse() has read it: it decodes
    if SURROGATE_ESCAPE.search(text) is None:
        return
    try:
        json.dumps(json.loads(text), ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        unique_id = frames.UNKNOWN_ID if _not_text(frame.unique_id) else frame.unique_id
        raise FrameError(
            Fault.FORMAT, "the frame holds a lone UTF-16 surrogate escape, which is no Unicode text",
            unique_id, respond=isinstance(frame, frames.Call),
        ) from None


INT32 = 2**31 - 1
INT64 = 2**63 - 1
REGISTERS = frozenset({"meterStart", "meterStop"})
"""1.6 energy registers (Wh): a busy DC pile's lifetime register outgrows 32 bits; we keep 64."""


def refuse_oversized_integers(payload: Any, unique_id: str, path: str = "") -> None:
    """The schemas say ``integer`` with no bound; OCPP 2.0.1 part 2 §2.1.3 makes it 32-bit, and so do 1.6 piles
    for ids and counters. Beyond that a number cannot be stored, and a pile told ``InternalError`` would resend
    it forever, so it is a TypeConstraintViolation (registers: beyond 64 bits)."""
    if isinstance(payload, dict):
        for key, value in payload.items():
            if type(value) is int:
                limit = INT64 if key in REGISTERS else INT32
                if not -limit - 1 <= value <= limit:
                    where = f"{path}/{key}" if path else key
                    raise FrameError(Fault.TYPE, f"{where}: {value} is beyond a {64 if limit == INT64 else 32}-bit "
                                     "integer"[:255], unique_id, {"path": where})
            elif isinstance(value, dict | list):
                refuse_oversized_integers(value, unique_id, f"{path}/{key}" if path else key)
    elif isinstance(payload, list):
        for index, value in enumerate(payload):
            if type(value) is int and not -INT32 - 1 <= value <= INT32:
                raise FrameError(Fault.TYPE, f"{path}/{index}: {value} is beyond a 32-bit integer"[:255], unique_id,
                                 {"path": f"{path}/{index}"})
            if isinstance(value, dict | list):
                refuse_oversized_integers(value, unique_id, f"{path}/{index}")


KEY_CACHE_SIZE = 4096
"""Keys whose spelling in the other case is remembered: the schemas' few hundred names, with room to spare
(a pile's made-up keys are refused by the schemas, and those that pass only fill the cache up to this)."""


@functools.lru_cache(maxsize=KEY_CACHE_SIZE)
def _snake_key(key: str) -> str:
    return next(iter(camel_to_snake_case({key: None})))


@functools.lru_cache(maxsize=KEY_CACHE_SIZE)
def _camel_key(key: str) -> str:
    return next(iter(snake_to_camel_case({key: None})))


def to_snake(data: Any) -> Any:
    """The ``ocpp`` library's ``camel_to_snake_case``, with each key's conversion (two regular expressions)
    remembered instead of redone for every key of every message; the result is the library's own."""
    if isinstance(data, dict):
        return {_snake_key(key): to_snake(value) for key, value in data.items()}
    if isinstance(data, list):
        return [to_snake(value) for value in data]
    return data


def to_camel(data: Any) -> Any:
    """The library's ``snake_to_camel_case`` for our answers, keys remembered the same way."""
    if isinstance(data, dict):
        return {_camel_key(key): to_camel(value) for key, value in data.items()}
    if isinstance(data, list):
        return [to_camel(value) for value in data]
    return data


_wants_unique_id: dict[Any, bool] = {}


def wants_unique_id(handler: Any) -> bool:
    """Whether a handler takes ``call_unique_id`` (to name the call in the errors it raises); read from its
    signature once per handler function, not on every call."""
    function = getattr(handler, "__func__", handler)
    found = _wants_unique_id.get(function)
    if found is None:
        found = _wants_unique_id[function] = "call_unique_id" in inspect.signature(handler).parameters
    return found


def _not_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class PileFlooding(Exception):
    """The pile ignores its rate-limit errors: its socket is closed (1008)."""


class TokenBucket:
    """``rate`` calls per second, up to ``burst`` at once; ``rate`` 0 means no limit.

    ``debt`` counts rejected calls and drains at the same rate: above ``burst`` the pile is flooding."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.debt = 0.0
        self.clock = clock
        self.at = clock()

    def take(self) -> bool:
        if self.rate <= 0:
            return True
        now = self.clock()
        refill, self.at = (now - self.at) * self.rate, now
        self.tokens = min(float(self.burst), self.tokens + refill)
        self.debt = max(0.0, self.debt - refill)
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        self.debt += 1
        return False

    @property
    def flooding(self) -> bool:
        return self.debt > self.burst

    def wait_s(self) -> float:
        return (1 - self.tokens) / self.rate if self.rate > 0 else 0.0


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
        settings = services.settings
        self.calls = TokenBucket(settings.ocpp_rate_per_s, settings.ocpp_rate_burst)
        self.closed = asyncio.Event()
        """Set when this socket is done (closed by either side, or replaced): commands waiting on it end."""

    async def route_message(self, raw_msg: str | bytes) -> None:
        try:
            frame = frames.parse(raw_msg)
            refuse_lone_surrogates(raw_msg, frame)
        except FrameError as error:
            if error.respond and not await self._admit(error.unique_id):
                return
            log.warning("%s: unreadable frame (%s): %.200r", self.id, error.description, raw_msg)
            if error.respond:
                await self._send_error(error)
            return
        if isinstance(frame, frames.Call):
            if await self._admit(frame.unique_id, frame.action):
                await self._answer(frame)
        elif isinstance(frame, frames.CallResult):
            self._response_queue.put_nowait(LibCallResult(frame.unique_id, frame.payload))
        else:
            self._response_queue.put_nowait(
                LibCallError(frame.unique_id, frame.error_code, frame.description, frame.details)
            )

    async def _send_error(self, error: FrameError) -> None:
        text = error.to_json(self.dialect)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate from the pile's frame (its id, say) must not kill the socket
            error.unique_id = frames.UNKNOWN_ID if _not_text(error.unique_id) else error.unique_id
            text = error.to_json(self.dialect).encode("utf-8", "backslashreplace").decode("utf-8")
        await self._send(text)

    async def _admit(self, unique_id: str, action: str = "unreadable") -> bool:
        """Take a token for a frame we would answer; without one, answer GenericError (see the module's doc)."""
        if self.calls.take():
            return True
        wait_s = round(max(self.calls.wait_s(), 0.05), 2)
        error = FrameError(
            Fault.GENERIC, f"rate limited: more than {self.calls.rate:g} calls/s; retry later", unique_id,
            {"retryAfterS": wait_s},
        )
        await self._send_error(error)
        self._measure(action if self.schemas.knows(action) else "unknown", "rate_limited", time.perf_counter())
        if self.calls.flooding:
            raise PileFlooding(f"{self.id} kept calling over its rate limit ({self.calls.rate:g}/s)")
        return False

    async def _answer(self, call: frames.Call) -> None:
        started = time.perf_counter()
        action = call.action if self.schemas.knows(call.action) else "unknown"  # labels stay a closed set
        try:
            payload = await self._dispatch(call)
        except FrameError as error:
            await self._send_error(error)
            self._measure(action, error.fault.value, started)
            return
        except Exception as failure:
            log.exception("%s: %s %s failed", self.id, call.action, call.unique_id)
            if is_database_error(failure):
                metrics.database_errors.inc()
            error = FrameError(Fault.INTERNAL, f"{call.action} could not be processed; retry later", call.unique_id)
            await self._send_error(error)
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
        refuse_oversized_integers(call.payload, call.unique_id)
        kwargs = to_snake(call.payload)
        if wants_unique_id(handler):
            kwargs["call_unique_id"] = call.unique_id
        result = handler(**kwargs)
        if inspect.isawaitable(result):
            result = await result
        payload: dict[str, Any] = to_camel(remove_nones(dataclasses.asdict(result)))
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
        if self.closed.is_set():
            return CommandResult(Outcome.OFFLINE, message=f"the connection closed before {action} was sent")
        # the socket may close (the pile reconnected elsewhere, or went away) while we wait: answer at once then
        sent = asyncio.ensure_future(self.call(payload, suppress=False))
        gone = asyncio.ensure_future(self.closed.wait())
        try:
            await asyncio.wait((sent, gone), return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
            answered = sent.done()
            if not answered:
                sent.cancel()
                await asyncio.gather(sent, return_exceptions=True)
        if not answered:
            return CommandResult(
                Outcome.OFFLINE,
                message=f"the connection closed before the pile answered {action}; it may have acted on it",
            )
        try:
            answer = sent.result()
        except TimeoutError:
            return CommandResult(Outcome.TIMED_OUT, message=f"no answer to {action} within {self._response_timeout} s")
        except OCPPError as error:  # a CALLERROR, or an answer that breaks the schema
            return CommandResult(Outcome.ERROR, status=error.code, message=str(error.description))
        except (WebSocketDisconnect, RuntimeError, OSError) as error:
            return CommandResult(Outcome.OFFLINE, message=f"the connection closed while sending {action}: {error}")
        return self.command_outcome(command, action, answer)

    async def run(self) -> None:
        """Receive until the socket closes; frames are handled in order, as OCPP-J requires."""
        try:
            await self.start()
        finally:
            self.closed.set()

    async def close(self, code: int, reason: str) -> None:
        """Close this socket (replaced by a newer one, or shutdown); commands waiting on it end at once."""
        self.closed.set()
        close = getattr(self._connection, "close", None)
        if close is not None:
            await close(code, reason)


def spawn(coro: Any, name: str) -> asyncio.Task[Any]:
    """Fire a follow-up (a call to the pile after an answer) whose failure must be logged, not lost."""
    task = asyncio.create_task(coro, name=name)

    def report(done: asyncio.Task[Any]) -> None:
        if not done.cancelled() and done.exception() is not None:
            log.error("%s failed", name, exc_info=done.exception())

    task.add_done_callback(report)
    return task
