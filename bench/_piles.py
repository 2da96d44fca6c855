"""Client code shared by the benchmarks: light WebSocket clients, raw OCPP 1.6J piles, GraphQL subscribers.

Thousands of clients live in one asyncio process, so each is a bare ``asyncio.Protocol`` around the sans-I/O
protocol of the ``websockets`` package (no task, no keep-alive pinger per connection). Receipt times are read
with ``time.perf_counter()`` the moment bytes arrive, before anything is parsed, so a latency is the time
between our write and the kernel handing us the answer, plus at most the event loop's delay in calling us.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import random
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

perf = time.perf_counter


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- one WebSocket ---------------------------------------------------------------------------------------


class WsClient(asyncio.Protocol):
    """One client WebSocket. ``on_text(data, received_at)`` gets each text message (bytes) and when it came.

    With ``deferred=True`` arriving bytes are only stamped and kept (a microsecond per read) until ``drain()``
    parses them: many sockets read in one burst then keep the times they arrived at, not the times the
    client got round to parsing them."""

    def __init__(
        self, url: str, subprotocol: str, on_text: Callable[[bytes, float], None], deferred: bool = False
    ) -> None:
        self.protocol = ClientProtocol(
            parse_uri(url), subprotocols=[Subprotocol(subprotocol)], max_size=16 * 1024 * 1024
        )
        self.on_text = on_text
        self.deferred = False
        self.defer_after_open = deferred
        self.pending: list[tuple[float, bytes]] = []
        loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self.transport: asyncio.Transport | None = None
        self.received_messages = 0

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        request = self.protocol.connect()
        self.protocol.send_request(request)
        self._flush()

    def data_received(self, data: bytes) -> None:
        at = perf()
        if self.deferred:
            self.pending.append((at, data))
            return
        self._feed(at, data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.protocol.receive_eof()
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed during the handshake"))
        if not self.closed.done():
            self.closed.set_result(None)

    def _feed(self, at: float, data: bytes) -> None:
        self.protocol.receive_data(data)
        for event in self.protocol.events_received():
            if isinstance(event, Response):
                if self.protocol.state is State.OPEN:
                    self.opened.set_result(None)
                    self.deferred = self.defer_after_open
                elif not self.opened.done():
                    self.opened.set_exception(
                        self.protocol.handshake_exc
                        or ConnectionError(f"handshake refused: {event.status_code}")
                    )
            elif isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                self.received_messages += 1
                self.on_text(bytes(event.data), at)
        self._flush()

    def drain(self) -> None:
        """Parse what arrived while deferred (each message keeps the time its last bytes arrived)."""
        pending, self.pending = self.pending, []
        for at, data in pending:
            self._feed(at, data)

    def _flush(self) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        for chunk in self.protocol.data_to_send():
            if chunk:
                self.transport.write(chunk)
            elif self.transport.can_write_eof():
                self.transport.write_eof()

    # API
    @property
    def open(self) -> bool:
        return self.protocol.state is State.OPEN and not self.closed.done()

    def send_text(self, text: str) -> float:
        """Send one message; returns the time it was handed to the kernel."""
        self.protocol.send_text(text.encode())
        at = perf()
        self._flush()
        return at

    async def close(self, timeout: float = 2) -> None:
        if self.open:
            self.protocol.send_close(1000)
            self._flush()
            try:
                await asyncio.wait_for(asyncio.shield(self.closed), timeout)
            except TimeoutError:
                pass
        if self.transport is not None:
            self.transport.close()


async def ws_connect(
    url: str,
    subprotocol: str,
    on_text: Callable[[bytes, float], None],
    *,
    deferred: bool = False,
    timeout: float = 30,
) -> WsClient:
    parts = urlsplit(url)
    loop = asyncio.get_running_loop()
    _, client = await asyncio.wait_for(
        loop.create_connection(
            lambda: WsClient(url, subprotocol, on_text, deferred), parts.hostname, parts.port or 80
        ),
        timeout,
    )
    try:
        await asyncio.wait_for(asyncio.shield(client.opened), timeout)
    except BaseException:
        if client.transport is not None:
            client.transport.close()
        raise
    return client


# -- figures ---------------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of unsorted values; NaN when there are none."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[rank]


def ms(seconds: float) -> str:
    return "n/a" if math.isnan(seconds) else f"{seconds * 1000:.1f} ms"


def latency_line(latencies: list[float]) -> str:
    if not latencies:
        return "no answers"
    return (
        f"p50 {ms(percentile(latencies, 50))}, p99 {ms(percentile(latencies, 99))}, "
        f"max {ms(max(latencies))} (mean {ms(statistics.fmean(latencies))}, n={len(latencies)})"
    )


@dataclass
class CallStats:
    """What the piles did in one measuring window."""

    scheduled: int = 0
    """Ticks of the piles' sampling clocks (sent + skipped)."""
    sent: int = 0
    skipped: int = 0
    """Ticks that passed while the pile still waited for its previous answer (OCPP-J: one call at a time)."""
    acknowledged: int = 0
    call_errors: dict[str, int] = field(default_factory=dict)
    timeouts: int = 0
    disconnects: int = 0
    latencies: list[float] = field(default_factory=list)
    answered_at: list[float] = field(default_factory=list)
    """perf_counter() of each answer's arrival, beside ``latencies``."""


# -- an OCPP 1.6J pile -----------------------------------------------------------------------------------


class CallErrorReceived(Exception):
    def __init__(self, frame: list[Any]) -> None:
        super().__init__(f"{frame[2]}: {frame[3]}")
        self.code = str(frame[2])


DEFAULT_ANSWERS: dict[str, dict[str, Any]] = {
    "RemoteStartTransaction": {"status": "Accepted"},
    "RemoteStopTransaction": {"status": "Accepted"},
    "ChangeAvailability": {"status": "Accepted"},
    "ChangeConfiguration": {"status": "Accepted"},
    "GetConfiguration": {"configurationKey": []},
    "SendLocalList": {"status": "Accepted"},
    "GetLocalListVersion": {"listVersion": 0},
    "TriggerMessage": {"status": "Accepted"},
    "ClearCache": {"status": "Accepted"},
    "SetChargingProfile": {"status": "Accepted"},
    "UnlockConnector": {"status": "Unlocked"},
    "Reset": {"status": "Accepted"},
}


class Pile:
    """A raw OCPP 1.6J charge point: one call at a time, answers the server's calls at once."""

    def __init__(self, charge_point_id: str) -> None:
        self.id = charge_point_id
        self.ws: WsClient | None = None
        self._ids = itertools.count(1)
        self._waiting: dict[str, asyncio.Future[tuple[list[Any], float]]] = {}
        self.server_calls: dict[str, int] = {}
        self.on_server_call: Callable[[Pile, str, dict[str, Any]], None] | None = None
        self.transaction_id: int | None = None
        self.energy_wh = random.randint(0, 50_000)
        self.soc = random.uniform(10, 40)
        self.last_sample = perf()
        self.last_sent_at = 0.0

    async def connect(self, ocpp_url: str, timeout: float = 30) -> None:
        self.ws = await ws_connect(
            f"{ocpp_url.rstrip('/')}/{self.id}", "ocpp1.6", self._received, timeout=timeout
        )

    @property
    def connected(self) -> bool:
        return self.ws is not None and self.ws.open

    def _received(self, data: bytes, at: float) -> None:
        frame = json.loads(data)
        kind = frame[0]
        if kind == 2:
            action = frame[2]
            self.server_calls[action] = self.server_calls.get(action, 0) + 1
            if self.on_server_call is not None:
                self.on_server_call(self, action, frame[3])
            answer = DEFAULT_ANSWERS.get(action)
            if answer is None:
                self.ws.send_text(json.dumps([4, frame[1], "NotImplemented", f"bench pile: no {action}", {}]))
            else:
                self.ws.send_text(json.dumps([3, frame[1], answer]))
            return
        waiting = self._waiting.pop(frame[1], None)
        if waiting is not None and not waiting.done():
            waiting.set_result((frame, at))

    async def call(
        self, action: str, payload: dict[str, Any], timeout: float = 30
    ) -> tuple[dict[str, Any], float]:
        """Send a CALL; returns (the CALLRESULT payload, seconds from our write to its arrival)."""
        if not self.connected:
            raise ConnectionError(f"{self.id} is not connected")
        unique_id = str(next(self._ids))
        waiting = asyncio.get_running_loop().create_future()
        self._waiting[unique_id] = waiting
        sent_at = self.last_sent_at = self.ws.send_text(
            json.dumps([2, unique_id, action, payload], separators=(",", ":"))
        )
        closed = self.ws.closed
        try:
            done, _ = await asyncio.wait(
                (waiting, closed), timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            self._waiting.pop(unique_id, None)
        if waiting not in done:
            waiting.cancel()
            if closed.done():
                raise ConnectionError(f"{self.id}: socket closed during {action}")
            raise TimeoutError(f"{self.id}: no answer to {action} within {timeout} s")
        frame, received_at = waiting.result()
        if frame[0] == 4:
            raise CallErrorReceived(frame)
        return frame[2], received_at - sent_at

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()

    # -- a session ------------------------------------------------------------------------------------

    async def boot_and_start(self, id_tag: str, timeout: float = 60) -> int:
        """BootNotification, connector 1 Preparing, StartTransaction, Charging; returns the transaction id."""
        boot, _ = await self.call(
            "BootNotification",
            {
                "chargePointVendor": "Bench",
                "chargePointModel": "DC120",
                "firmwareVersion": "1.0",
                "chargePointSerialNumber": self.id,
            },
            timeout,
        )
        if boot["status"] != "Accepted":
            raise RuntimeError(f"{self.id}: boot {boot['status']}")
        await self.status(1, "Preparing", timeout)
        started, _ = await self.call(
            "StartTransaction",
            {"connectorId": 1, "idTag": id_tag, "meterStart": self.energy_wh, "timestamp": now_iso()},
            timeout,
        )
        self.transaction_id = int(started["transactionId"])
        await self.status(1, "Charging", timeout)
        self.last_sample = perf()
        return self.transaction_id

    async def status(self, connector_id: int, status: str, timeout: float = 60) -> None:
        await self.call(
            "StatusNotification",
            {"connectorId": connector_id, "errorCode": "NoError", "status": status, "timestamp": now_iso()},
            timeout,
        )

    def meter_payload(self) -> dict[str, Any]:
        """One sample of a DC charge: energy register, power, current, voltage, SoC; plausible and rising."""
        t = perf()
        power_w = random.randint(55_000, 65_000)
        self.energy_wh += max(1, round(power_w * (t - self.last_sample) / 3600))
        self.last_sample = t
        self.soc = min(100.0, self.soc + 0.01)
        voltage = random.uniform(480, 520)
        return {
            "connectorId": 1,
            "transactionId": self.transaction_id,
            "meterValue": [
                {
                    "timestamp": now_iso(),
                    "sampledValue": [
                        {
                            "value": str(self.energy_wh),
                            "measurand": "Energy.Active.Import.Register",
                            "unit": "Wh",
                            "context": "Sample.Periodic",
                        },
                        {"value": str(power_w), "measurand": "Power.Active.Import", "unit": "W"},
                        {"value": f"{power_w / voltage:.1f}", "measurand": "Current.Import", "unit": "A"},
                        {"value": f"{voltage:.1f}", "measurand": "Voltage", "unit": "V"},
                        {"value": f"{self.soc:.0f}", "measurand": "SoC", "unit": "Percent", "location": "EV"},
                    ],
                }
            ],
        }


# -- a fleet of piles under load -------------------------------------------------------------------------


class Schedule:
    """The sampling clock every pile follows: one MeterValues per pile every ``interval`` seconds.

    Changing it (``set``) re-phases every pile at random within the new interval, so the load stays even."""

    def __init__(self) -> None:
        self.interval = math.inf
        self.epoch = 0
        self.stopped = False
        self.stats = CallStats()
        self.timeout = 30.0
        self.total_acked = 0
        """Every MeterValues acknowledged since the start, warm-ups included."""
        self._changed: asyncio.Future[None] | None = None

    def set(self, interval: float) -> None:
        self.interval = interval
        self.epoch += 1
        self._wake()

    def stop(self) -> None:
        self.stopped = True
        self._wake()

    def _wake(self) -> None:
        changed, self._changed = self._changed, None
        if changed is not None and not changed.done():
            changed.set_result(None)

    async def pause(self, seconds: float) -> None:
        """Sleep up to ``seconds``; a new schedule (or the stop) ends it at once."""
        if self._changed is None:
            self._changed = asyncio.get_running_loop().create_future()
        await asyncio.wait((self._changed,), timeout=seconds)

    def new_window(self) -> CallStats:
        """Start counting afresh; returns the window that ends."""
        ended, self.stats = self.stats, CallStats()
        return ended


async def meter_loop(pile: Pile, schedule: Schedule) -> None:
    """Send MeterValues on the schedule's clock until it stops; never two calls at once (OCPP-J 4.1.1)."""
    epoch = -1
    due = math.inf
    while not schedule.stopped:
        if schedule.epoch != epoch:
            epoch = schedule.epoch
            due = (
                perf() + random.random() * schedule.interval if math.isfinite(schedule.interval) else math.inf
            )
        wait = due - perf()
        if wait > 0:
            await schedule.pause(min(wait, 300.0))
            continue
        if not pile.connected:
            schedule.stats.disconnects += 1
            return
        stats = schedule.stats
        stats.scheduled += 1
        stats.sent += 1
        try:
            _, latency = await pile.call("MeterValues", pile.meter_payload(), schedule.timeout)
        except CallErrorReceived as error:
            stats.call_errors[error.code] = stats.call_errors.get(error.code, 0) + 1
        except TimeoutError:
            stats.timeouts += 1
        except ConnectionError:
            stats.disconnects += 1
            return
        else:
            schedule.total_acked += 1
            if stats is schedule.stats:  # answered in the window it was sent in
                stats.acknowledged += 1
                stats.latencies.append(latency)
                stats.answered_at.append(perf())
        due += schedule.interval
        late = perf() - due
        if late > 0:  # ticks that passed while we waited for the answer are skipped
            missed = math.floor(late / schedule.interval) + 1
            schedule.stats.scheduled += missed
            schedule.stats.skipped += missed
            due += missed * schedule.interval


@dataclass
class Fleet:
    piles: list[Pile]
    failures: dict[str, int]
    seconds: float


async def connect_fleet(
    ocpp_urls: list[str],
    ids: Iterable[str],
    id_tags: list[str],
    *,
    concurrency: int = 50,
    timeout: float = 60,
    progress: Callable[[int, int], None] | None = None,
    start_transactions: bool = True,
) -> Fleet:
    """Connect piles (round robin over ``ocpp_urls``), boot them and start a transaction on each."""
    ids = list(ids)
    gate = asyncio.Semaphore(concurrency)
    piles: list[Pile] = []
    failures: dict[str, int] = {}
    started = perf()

    async def one(index: int, charge_point_id: str) -> None:
        pile = Pile(charge_point_id)
        async with gate:
            try:
                await pile.connect(ocpp_urls[index % len(ocpp_urls)], timeout)
                if start_transactions:
                    await pile.boot_and_start(id_tags[index % len(id_tags)], timeout)
            except Exception as error:  # noqa: BLE001 - counted and reported by kind
                reason = f"{type(error).__name__}: {str(error)[:80]}"
                failures[reason] = failures.get(reason, 0) + 1
                await pile.close()
                return
        piles.append(pile)
        if progress is not None:
            progress(len(piles), len(ids))

    await asyncio.gather(*(one(i, cp) for i, cp in enumerate(ids)))
    return Fleet(piles, failures, perf() - started)


# -- GraphQL ---------------------------------------------------------------------------------------------


class Subscriber:
    """One graphql-transport-ws connection with one subscription; receipt times are kept with each payload."""

    def __init__(self) -> None:
        self.ws: WsClient | None = None
        self.acked: asyncio.Future[None] | None = None
        self.received: list[tuple[float, dict[str, Any]]] = []
        self.errors: list[Any] = []

    async def connect(
        self, graphql_ws_url: str, token: str, query: str, variables: dict[str, Any], timeout: float = 60
    ) -> None:
        self.acked = asyncio.get_running_loop().create_future()
        self.ws = await ws_connect(
            graphql_ws_url, "graphql-transport-ws", self._received, deferred=False, timeout=timeout
        )
        self.ws.send_text(
            json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        )
        await asyncio.wait_for(asyncio.shield(self.acked), timeout)
        self.ws.defer_after_open = True
        self.ws.deferred = True  # from here on: stamp on arrival, parse in drain()
        self.ws.send_text(
            json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables}})
        )

    def _received(self, data: bytes, at: float) -> None:
        message = json.loads(data)
        kind = message.get("type")
        if kind == "connection_ack":
            if self.acked is not None and not self.acked.done():
                self.acked.set_result(None)
        elif kind == "ping":
            self.ws.send_text(json.dumps({"type": "pong"}))
        elif kind == "next":
            self.received.append((at, message["payload"]))
        elif kind in ("error", "complete"):
            self.errors.append(message)
        elif kind == "connection_error" or (self.acked is not None and not self.acked.done()):
            if self.acked is not None and not self.acked.done():
                self.acked.set_exception(RuntimeError(f"refused: {message}"))

    def drain(self) -> None:
        if self.ws is not None:
            self.ws.drain()

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
