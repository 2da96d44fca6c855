"""One simulated pile: an OCPP 1.6J charge point with independent connectors running charging sessions."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ocpp.exceptions import OCPPError
from ocpp.routing import after, on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import (
    Action,
    AuthorizationStatus,
    AvailabilityStatus,
    ChargePointErrorCode,
    ChargePointStatus,
    ConfigurationStatus,
    Measurand,
    MessageTrigger,
    Phase,
    Reason,
    ReadingContext,
    RegistrationStatus,
    RemoteStartStopStatus,
    ResetStatus,
    TriggerMessageStatus,
    UnitOfMeasure,
    UnlockStatus,
)
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from api.simulator.curves import ChargePlan, ChargeState, random_plan, random_vehicle, step

log = logging.getLogger(__name__)

VENDOR_ID = "ChargeOps.Sim"


@dataclass(frozen=True)
class PileSpec:
    id: str
    number: int
    dc: bool
    max_power_w: int
    connectors: int = 2
    password: str | None = None
    """Sent as HTTP Basic auth at every connection (security profiles 1 and 2); None: no credentials."""
    ocpp: str = "1.6"
    """The protocol it speaks: ``1.6`` (``SimulatedPile``) or ``2.0.1`` (``pile_v201.SimulatedPileV201``)."""


@dataclass(frozen=True)
class Timing:
    time_scale: float
    """Simulated seconds per real second."""
    sample_interval_s: float
    """Simulated seconds between MeterValues of a charging connector."""
    idle_s: tuple[float, float]
    """Real seconds a connector stays free between sessions (uniform range)."""
    min_real_sleep_s: float = 0.01

    def real(self, simulated_s: float) -> float:
        return max(simulated_s / self.time_scale, self.min_real_sleep_s)


@dataclass
class Counters:
    """What the simulator did; shared by all piles of a run (asyncio: one thread, no locks needed)."""

    piles_booted: int = 0
    connections: int = 0
    connection_errors: int = 0
    sessions_started: int = 0
    sessions_completed: int = 0
    sessions_refused: int = 0
    sessions_interrupted: int = 0
    meter_values_sent: int = 0
    samples_sent: int = 0
    """Sampled instants (one MeterValues message carries one here)."""
    values_sent: int = 0
    call_errors: int = 0
    meter_latencies_s: list[float] = field(default_factory=list)

    def latency(self, seconds: float) -> None:
        if len(self.meter_latencies_s) < 200_000:
            self.meter_latencies_s.append(seconds)


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Transaction:
    id: int
    id_tag: str
    meter_start_wh: int
    stop_requested: asyncio.Event = field(default_factory=asyncio.Event)
    stop_reason: Reason = Reason.local


class ConnectorState:
    def __init__(self, number: int, register_wh: int) -> None:
        self.number = number
        self.register_wh = register_wh
        """The connector's energy meter: it only ever grows."""
        self.transaction: Transaction | None = None
        self.remote_start: asyncio.Queue[str] = asyncio.Queue()
        self.last_timestamp: datetime | None = None
        self.available = True

    def timestamp(self) -> datetime:
        """Now, but strictly after this connector's previous sample (the server keys samples by instant)."""
        now = utc_now()
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        if self.last_timestamp is not None and now <= self.last_timestamp:
            now = self.last_timestamp + timedelta(milliseconds=1)
        self.last_timestamp = now
        return now


class SimulatedChargePoint(ChargePoint):  # type: ignore[misc]
    """The ``ocpp`` library's charge point with the handlers a real pile has for server-initiated calls."""

    def __init__(self, pile: SimulatedPile, connection: ClientConnection) -> None:
        super().__init__(pile.spec.id, connection, response_timeout=30)
        self.pile = pile

    @on(Action.remote_start_transaction)
    def on_remote_start(self, id_tag: str, connector_id: int | None = None, **_: Any) -> Any:
        connector = self.pile.free_connector(connector_id)
        if connector is None:
            return call_result.RemoteStartTransaction(status=RemoteStartStopStatus.rejected)
        connector.remote_start.put_nowait(id_tag)
        return call_result.RemoteStartTransaction(status=RemoteStartStopStatus.accepted)

    @on(Action.remote_stop_transaction)
    def on_remote_stop(self, transaction_id: int, **_: Any) -> Any:
        for connector in self.pile.connectors:
            tx = connector.transaction
            if tx is not None and tx.id == transaction_id:
                tx.stop_reason = Reason.remote
                tx.stop_requested.set()
                return call_result.RemoteStopTransaction(status=RemoteStartStopStatus.accepted)
        return call_result.RemoteStopTransaction(status=RemoteStartStopStatus.rejected)

    @on(Action.change_availability)
    def on_change_availability(self, connector_id: int, type: str, **_: Any) -> Any:
        targets = self.pile.connectors if connector_id == 0 else self.pile.connectors[connector_id - 1 : connector_id]
        if not targets:
            return call_result.ChangeAvailability(status=AvailabilityStatus.rejected)
        busy = False
        for connector in targets:
            connector.available = type == "Operative"
            busy = busy or connector.transaction is not None
        status = AvailabilityStatus.scheduled if busy and type != "Operative" else AvailabilityStatus.accepted
        return call_result.ChangeAvailability(status=status)

    @on(Action.reset)
    def on_reset(self, type: str, **_: Any) -> Any:
        self.pile.request_reset()
        return call_result.Reset(status=ResetStatus.accepted)

    @on(Action.unlock_connector)
    def on_unlock(self, connector_id: int, **_: Any) -> Any:
        if not 1 <= connector_id <= len(self.pile.connectors):
            return call_result.UnlockConnector(status=UnlockStatus.not_supported)
        return call_result.UnlockConnector(status=UnlockStatus.unlocked)

    @on(Action.get_configuration)
    def on_get_configuration(self, key: list[str] | None = None, **_: Any) -> Any:
        config = self.pile.configuration
        wanted = key or list(config)
        known = [{"key": k, "readonly": False, "value": config[k]} for k in wanted if k in config]
        unknown = [k for k in wanted if k not in config]
        return call_result.GetConfiguration(configuration_key=known, unknown_key=unknown or None)

    @on(Action.change_configuration)
    def on_change_configuration(self, key: str, value: str, **_: Any) -> Any:
        if key not in self.pile.configuration:
            return call_result.ChangeConfiguration(status=ConfigurationStatus.not_supported)
        self.pile.configuration[key] = value
        return call_result.ChangeConfiguration(status=ConfigurationStatus.accepted)

    @on(Action.clear_cache)
    def on_clear_cache(self, **_: Any) -> Any:
        return call_result.ClearCache(status="Accepted")

    @on(Action.trigger_message)
    def on_trigger_message(self, requested_message: str, **_: Any) -> Any:
        supported = {MessageTrigger.heartbeat, MessageTrigger.status_notification, MessageTrigger.boot_notification}
        status = TriggerMessageStatus.accepted if requested_message in supported else TriggerMessageStatus.not_implemented
        return call_result.TriggerMessage(status=status)

    @after(Action.trigger_message)
    async def after_trigger_message(self, requested_message: str, connector_id: int | None = None, **_: Any) -> None:
        if requested_message == MessageTrigger.heartbeat:
            await self.pile.send(call.Heartbeat())
        elif requested_message == MessageTrigger.boot_notification:
            await self.pile.boot()
        elif requested_message == MessageTrigger.status_notification:
            for connector in self.pile.connectors:
                if connector_id in (None, connector.number):
                    await self.pile.status(connector.number, self.pile.status_of(connector))


class SimulatedPile:
    """Connects, boots, heartbeats and runs a session loop per connector; reconnects when the socket drops.
    This one speaks OCPP 1.6J; ``pile_v201.SimulatedPileV201`` runs the same life in OCPP 2.0.1."""

    subprotocol = "ocpp1.6"

    def __init__(
        self,
        spec: PileSpec,
        url: str,
        timing: Timing,
        counters: Counters,
        *,
        id_tags: tuple[str, ...],
        vins: tuple[str, ...],
        seed: int,
        sessions_per_connector: int = 0,
        stop: asyncio.Event,
    ) -> None:
        self.spec = spec
        self.url = url.rstrip("/")
        self.timing = timing
        self.counters = counters
        self.id_tags = id_tags
        self.vins = vins
        self.rng = random.Random(seed)
        self.sessions_per_connector = sessions_per_connector
        self.stop = stop
        self.connectors = [ConnectorState(n, self.rng.randrange(1_000_000, 50_000_000)) for n in range(1, spec.connectors + 1)]
        self.sessions_done = [0] * spec.connectors
        self.configuration = {
            "HeartbeatInterval": "300",
            "MeterValueSampleInterval": str(int(timing.sample_interval_s)),
            "MeterValuesSampledData": "Energy.Active.Import.Register,Power.Active.Import,Current.Import,Voltage,SoC,Temperature",
            "NumberOfConnectors": str(spec.connectors),
            "AuthorizeRemoteTxRequests": "false",
        }
        self.cp: Any = None
        """The library charge point of the live connection (SimulatedChargePoint here), None while offline."""
        self._reset = asyncio.Event()
        self._heartbeat_s = 300.0

    # --- calls ---------------------------------------------------------------------------------------------

    async def send(self, payload: Any) -> Any:
        """One call; a CALLERROR or timeout is counted and returns None."""
        if self.cp is None:
            return None
        try:
            return await self.cp.call(payload, suppress=False)
        except OCPPError as error:
            self.counters.call_errors += 1
            log.warning("%s: %s answered with CALLERROR %s", self.spec.id, type(payload).__name__, error)
        except TimeoutError:
            self.counters.call_errors += 1
            log.warning("%s: %s timed out", self.spec.id, type(payload).__name__)
        return None

    async def boot(self) -> bool:
        answer = await self.send(
            call.BootNotification(
                charge_point_vendor="ChargeOps Sim",
                charge_point_model=f"SIM-{'DC' if self.spec.dc else 'AC'}{self.spec.max_power_w // 1000}",
                charge_point_serial_number=f"SN{self.spec.number:08d}",
                firmware_version="1.4.2",
                meter_type="DLT645-2007",
            )
        )
        if answer is None:
            return False
        self._heartbeat_s = float(answer.interval or 300)
        return bool(answer.status == RegistrationStatus.accepted)

    async def status(self, connector: int, status: ChargePointStatus) -> None:
        await self.send(
            call.StatusNotification(
                connector_id=connector,
                error_code=ChargePointErrorCode.no_error,
                status=status,
                timestamp=iso(utc_now()),
            )
        )

    def status_of(self, connector: ConnectorState) -> ChargePointStatus:
        if connector.transaction is not None:
            return ChargePointStatus.charging
        return ChargePointStatus.available if connector.available else ChargePointStatus.unavailable

    async def bms(self, connector: ConnectorState, message: str, **data: Any) -> None:
        """A GB/T 27930 BMS message relayed by DataTransfer (the server's convention, see the README)."""
        body = {"connectorId": connector.number, "timestamp": iso(utc_now()), **data}
        if connector.transaction is not None:
            body["transactionId"] = connector.transaction.id
        await self.send(call.DataTransfer(vendor_id=VENDOR_ID, message_id=message, data=json.dumps(body)))

    def free_connector(self, number: int | None) -> ConnectorState | None:
        candidates = self.connectors if number is None else self.connectors[number - 1 : number] if number > 0 else []
        for connector in candidates:
            if connector.transaction is None and connector.available:
                return connector
        return None

    def request_reset(self) -> None:
        self._reset.set()

    # --- life ----------------------------------------------------------------------------------------------

    async def run(self) -> None:
        backoff = 1.0
        while not self.stop.is_set() and not self.finished():
            try:
                async with connect(
                    f"{self.url}/{self.spec.id}", subprotocols=[self.subprotocol], open_timeout=30,  # type: ignore[list-item]
                    ping_interval=None, max_size=1 << 20, additional_headers=self._credentials(),
                ) as ws:
                    self.counters.connections += 1
                    backoff = 1.0
                    await self._connected(ws)
            except (OSError, WebSocketException, TimeoutError) as error:
                self.counters.connection_errors += 1
                log.info("%s: connection failed (%s); retrying in %.0f s", self.spec.id, error, backoff)
            if self.stop.is_set() or self.finished():
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), backoff + self.rng.random())
            backoff = min(backoff * 2, 30.0)

    def _credentials(self) -> dict[str, str] | None:
        if self.spec.password is None:
            return None
        token = base64.b64encode(f"{self.spec.id}:{self.spec.password}".encode()).decode("ascii")
        return {"Authorization": f"Basic {token}"}

    def finished(self) -> bool:
        return bool(self.sessions_per_connector) and all(n >= self.sessions_per_connector for n in self.sessions_done)

    def charge_point(self, ws: ClientConnection) -> Any:
        """The ``ocpp`` library's charge point of this pile's protocol, answering the server's calls."""
        return SimulatedChargePoint(self, ws)

    async def heartbeat(self) -> None:
        await self.send(call.Heartbeat())

    async def _connected(self, ws: ClientConnection) -> None:
        self.cp = self.charge_point(ws)
        reader = asyncio.create_task(self.cp.start(), name=f"{self.spec.id}-reader")
        tasks: list[asyncio.Task[None]] = []
        try:
            while not await self.boot():
                if reader.done() or self.stop.is_set():
                    return
                await asyncio.sleep(min(self._heartbeat_s, 10))  # Pending/Rejected: try again later
            self.counters.piles_booted += 1
            await self.status(0, ChargePointStatus.available)
            for connector in self.connectors:
                await self._recover(connector)
                await self.status(connector.number, self.status_of(connector))
            sessions = [asyncio.create_task(self._sessions(c)) for c in self.connectors]
            tasks = [asyncio.create_task(self._heartbeats()), *sessions]
            stopping = asyncio.create_task(self.stop.wait())
            resetting = asyncio.create_task(self._reset.wait())
            tasks += [stopping, resetting]
            watched: set[asyncio.Future[Any]] = {reader, stopping, resetting, *sessions}
            while not (reader.done() or stopping.done() or resetting.done() or all(s.done() for s in sessions)):
                await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
            self._reset.clear()  # a Reset is a deliberate reconnect: run() connects again
        finally:
            for task in tasks:
                task.cancel()
            for outcome in await asyncio.gather(*tasks, return_exceptions=True):
                if isinstance(outcome, Exception) and not isinstance(outcome, WebSocketException):
                    log.warning("%s: %r", self.spec.id, outcome)
            # stop any session the shutdown interrupted, while the socket is still open
            if not reader.done():
                for connector in self.connectors:
                    if connector.transaction is not None:
                        await self._finish(connector, Reason.other if self.stop.is_set() else Reason.soft_reset)
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
            self.cp = None

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(self._heartbeat_s)
            await self.heartbeat()

    async def _recover(self, connector: ConnectorState) -> None:
        """A transaction cut off by a dropped connection is stopped after the reboot, as real piles do."""
        if connector.transaction is not None:
            self.counters.sessions_interrupted += 1
            await self._finish(connector, Reason.power_loss)

    async def _sessions(self, connector: ConnectorState) -> None:
        index = connector.number - 1
        while not self.sessions_per_connector or self.sessions_done[index] < self.sessions_per_connector:
            id_tag = None
            with contextlib.suppress(TimeoutError):
                id_tag = await asyncio.wait_for(connector.remote_start.get(), self.rng.uniform(*self.timing.idle_s))
            if not connector.available:
                continue
            await self._session(connector, id_tag)
            self.sessions_done[index] += 1

    # --- one session ---------------------------------------------------------------------------------------

    async def _session(self, connector: ConnectorState, remote_id_tag: str | None) -> None:
        vin = self.rng.choice(self.vins)
        plan = random_plan(self.rng, random_vehicle(self.rng, vin))
        id_tag = remote_id_tag or (vin if self.spec.dc and self.rng.random() < 0.5 else self.rng.choice(self.id_tags))
        dc = self.spec.dc

        await self.status(connector.number, ChargePointStatus.preparing)  # plugged in
        if remote_id_tag is None:
            answer = await self.send(call.Authorize(id_tag=id_tag))
            if answer is None or answer.id_tag_info["status"] != AuthorizationStatus.accepted:
                self.counters.sessions_refused += 1
                await self.status(connector.number, ChargePointStatus.available)
                return
        started = await self.send(
            call.StartTransaction(
                connector_id=connector.number, id_tag=id_tag, meter_start=connector.register_wh,
                timestamp=iso(connector.timestamp()),
            )
        )
        if started is None:
            self.counters.sessions_refused += 1
            await self.status(connector.number, ChargePointStatus.available)
            return
        connector.transaction = Transaction(started.transaction_id, id_tag, connector.register_wh)
        if started.id_tag_info["status"] != AuthorizationStatus.accepted:
            # the pile must end a transaction the server did not accept (OCPP 1.6 §4.8)
            self.counters.sessions_refused += 1
            await self._finish(connector, Reason.de_authorized)
            return
        self.counters.sessions_started += 1
        state = ChargeState(soc=plan.soc_start, temperature_c=self.rng.uniform(18, 30))
        if dc:
            await self._bms_handshake(connector, vin)
        await self.status(connector.number, ChargePointStatus.charging)
        if dc:
            await self.bms(connector, "BCS")
        reason, state = await self._charge(connector, plan, state, dc=dc)
        if dc:
            await self.bms(connector, "BST")
        await self.status(connector.number, ChargePointStatus.finishing)
        await self._sleep(10)
        await self._finish(connector, reason, state=state)
        await self.status(connector.number, ChargePointStatus.available)
        self.counters.sessions_completed += 1

    async def _bms_handshake(self, connector: ConnectorState, vin: str | None) -> None:
        """GB/T 27930's opening dialogue before DC power flows (handshake, identification with the VIN,
        parameters, ready), told by DataTransfer in either OCPP version."""
        await self._sleep(2)
        await self.bms(connector, "BHM")
        await self._sleep(1)
        await self.bms(connector, "BRM", vin=vin)
        await self._sleep(3)
        await self.bms(connector, "BCP")
        await self._sleep(2)
        await self.bms(connector, "BRO")
        await self._sleep(5)

    async def _charge(
        self, connector: ConnectorState, plan: ChargePlan, state: ChargeState, *, dc: bool
    ) -> tuple[Reason, ChargeState]:
        tx = connector.transaction
        assert tx is not None
        interval = self.timing.sample_interval_s
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(tx.stop_requested.wait(), self.timing.real(interval))
            state = step(plan, state, interval, dc=dc, pile_max_w=self.spec.max_power_w)
            connector.register_wh = tx.meter_start_wh + int(state.energy_wh)
            if tx.stop_requested.is_set():
                return tx.stop_reason, state
            await self._meter_values(connector, state, dc=dc)
            if state.soc >= plan.soc_target or state.power_w <= 0:
                # the driver unplugs at the target, or the BMS ends the charge when full
                return (Reason.ev_disconnected if state.soc < 1.0 else Reason.local), state

    def _sampled(self, connector: ConnectorState, state: ChargeState, *, dc: bool, context: str) -> list[dict[str, Any]]:
        values: list[dict[str, Any]] = [
            {"value": str(connector.register_wh), "context": context,
             "measurand": Measurand.energy_active_import_register, "unit": UnitOfMeasure.wh},
            {"value": str(int(state.power_w)), "context": context,
             "measurand": Measurand.power_active_import, "unit": UnitOfMeasure.w},
        ]
        if dc:
            values += [
                {"value": f"{state.current_a:.1f}", "context": context,
                 "measurand": Measurand.current_import, "unit": UnitOfMeasure.a},
                {"value": f"{state.voltage_v:.1f}", "context": context,
                 "measurand": Measurand.voltage, "unit": UnitOfMeasure.v},
                {"value": str(int(state.soc * 100)), "context": context,
                 "measurand": Measurand.soc, "unit": UnitOfMeasure.percent, "location": "EV"},
            ]
        else:  # single-phase AC: per-phase current and voltage; the car's SoC is not known to an AC pile
            values += [
                {"value": f"{state.current_a:.1f}", "context": context, "phase": Phase.l1,
                 "measurand": Measurand.current_import, "unit": UnitOfMeasure.a},
                {"value": f"{state.voltage_v + self.rng.uniform(-3, 3):.1f}", "context": context,
                 "phase": Phase.l1_n, "measurand": Measurand.voltage, "unit": UnitOfMeasure.v},
            ]
        values.append({"value": f"{state.temperature_c:.1f}", "context": context, "location": "Body",
                       "measurand": Measurand.temperature, "unit": UnitOfMeasure.celsius})
        return values

    async def _meter_values(self, connector: ConnectorState, state: ChargeState, *, dc: bool) -> None:
        tx = connector.transaction
        assert tx is not None
        sampled = self._sampled(connector, state, dc=dc, context=ReadingContext.sample_periodic)
        loop = asyncio.get_running_loop()
        began = loop.time()
        answer = await self.send(
            call.MeterValues(
                connector_id=connector.number,
                transaction_id=tx.id,
                meter_value=[{"timestamp": iso(connector.timestamp()), "sampled_value": sampled}],
            )
        )
        if answer is not None:
            self.counters.latency(loop.time() - began)
            self.counters.meter_values_sent += 1
            self.counters.samples_sent += 1
            self.counters.values_sent += len(sampled)

    async def _finish(self, connector: ConnectorState, reason: Reason, state: ChargeState | None = None) -> None:
        tx = connector.transaction
        if tx is None:
            return
        data = None
        if state is not None:
            data = [{"timestamp": iso(connector.timestamp()),
                     "sampled_value": self._sampled(connector, state, dc=self.spec.dc,
                                                    context=ReadingContext.transaction_end)}]
        await self.send(
            call.StopTransaction(
                meter_stop=connector.register_wh, timestamp=iso(connector.timestamp()), transaction_id=tx.id,
                reason=reason, id_tag=tx.id_tag, transaction_data=data,
            )
        )
        connector.transaction = None

    async def _sleep(self, simulated_s: float) -> None:
        await asyncio.sleep(self.timing.real(simulated_s))

