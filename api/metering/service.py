"""Metering use cases: store samples durably, fold them into their session, serve trend series."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from api.charging.service import ChargingService, SessionProgress
from api.core.bus import channels
from api.core.clock import Clock, clamp_reported
from api.core.db import UnitOfWork
from api.core.errors import InvalidInput
from api.metering import repository, rules
from api.metering.dto import MEASURANDS, MeterReading
from api.metering.events import MeterSampleRecorded
from api.metering.writer import Batch, MeterWriter
from api.models import ChargingSession, MeterSample

MAX_TREND_POINTS = 2000
MAX_COMPARED = 10


@dataclass(frozen=True)
class SessionTrend:
    session_id: int
    origin: datetime
    width_s: int
    measurands: tuple[str, ...]
    buckets: list[rules.Bucket]
    sample_count: int


class MeteringService:
    def __init__(self, uow: UnitOfWork, clock: Clock, charging: ChargingService, batch_max: int = 500) -> None:
        self.uow = uow
        self.clock = clock
        self.charging = charging
        self.writer = MeterWriter(self.store, batch_max)

    async def record(self, readings: Sequence[MeterReading]) -> int:
        """Store readings and update their sessions in one transaction of their own; returns how many were
        given. For reports that must be stored before what follows them (a StopTransaction's own samples,
        before its session closes).

        Raises on a storage failure, so the adapter answers the pile with an error and the pile retries.
        """
        if not readings:
            return 0
        await self.store([(readings, self.clock.now())])
        return len(readings)

    async def submit(self, readings: Sequence[MeterReading]) -> int:
        """``record`` through the node's meter writer (``api.metering.writer``): stored with the readings of
        every other pile waiting at the same moment, in one transaction; returns once they are committed.
        Raises the batch's error if they could not be stored."""
        if not readings:
            return 0
        await self.writer.submit(readings, self.clock.now())
        return len(readings)

    async def drain(self) -> None:
        """Store what waits in the writer (before shutdown)."""
        await self.writer.drain()

    async def store(self, batch: Batch) -> None:
        """Store a batch of messages' readings in one transaction: their sessions resolved with one query, their
        rows in one multi-row INSERT (a row already stored is skipped), each session touched updated once;
        events go out after the commit, in the order the readings came."""
        now = self.clock.now()
        async with self.uow.begin() as outbox:
            sessions = await self.charging.resolve_sessions(
                (r.charge_point_id, r.connector_no, r.transaction_id) for readings, _ in batch for r in readings
            )
            rows: list[MeterSample] = []
            by_session: dict[int, list[MeterSample]] = defaultdict(list)
            heard: dict[int, datetime] = {}
            for readings, received_at in batch:
                for reading in readings:
                    session = sessions[(reading.charge_point_id, reading.connector_no, reading.transaction_id)]
                    row = MeterSample(
                        charge_point_id=reading.charge_point_id,
                        connector_no=reading.connector_no,
                        session_id=session.id if session else None,
                        ts=clamp_reported(reading.ts, now),
                        context=reading.context,
                        energy_wh=reading.energy_wh,
                        power_w=reading.power_w,
                        current_ma=reading.current_ma,
                        voltage_mv=reading.voltage_mv,
                        soc_pct=reading.soc_pct,
                        temperature_decic=reading.temperature_decic,
                        extra=reading.extra or None,
                    )
                    rows.append(row)
                    if session is not None:
                        by_session[session.id].append(row)
                        heard[session.id] = max(received_at, heard.get(session.id, received_at))
            await repository.insert(rows)
            resolved = {s.id: s for s in sessions.values() if s is not None}
            progress: list[tuple[ChargingSession, SessionProgress]] = []
            for session_id, samples in by_session.items():
                samples.sort(key=lambda r: r.ts)
                socs = [r.soc_pct for r in samples if r.soc_pct is not None]
                registers = [r.energy_wh for r in samples if r.energy_wh is not None]
                powers = [r.power_w for r in samples if r.power_w is not None]
                progress.append((resolved[session_id], SessionProgress(
                    last_at=samples[-1].ts,
                    energy_register_wh=max(registers) if registers else None,
                    soc_first_pct=socs[0] if socs else None,
                    soc_last_pct=socs[-1] if socs else None,
                    max_power_w=max(powers) if powers else None,
                    heard_at=heard[session_id],
                )))
            await self.charging.apply_progress_many(progress)
            for row in rows:
                session = resolved.get(row.session_id) if row.session_id is not None else None
                event = MeterSampleRecorded(
                    session_id=row.session_id,
                    charge_point_id=row.charge_point_id,
                    connector_no=row.connector_no,
                    ts=row.ts,
                    context=row.context,
                    energy_wh=row.energy_wh,
                    power_w=row.power_w,
                    current_ma=row.current_ma,
                    voltage_mv=row.voltage_mv,
                    soc_pct=row.soc_pct,
                    temperature_decic=row.temperature_decic,
                    session_energy_wh=session.energy_wh if session else None,
                )
                if row.session_id is not None:
                    outbox.publish(channels.session(row.session_id), event)
                outbox.publish(channels.charge_point(row.charge_point_id), event)

    async def trend(
        self,
        session: ChargingSession,
        measurands: Sequence[str] = MEASURANDS,
        max_points: int = 300,
    ) -> SessionTrend:
        """A session's series downsampled into at most ``max_points`` buckets from its start."""
        names = self._check(measurands, max_points)
        rows = await repository.series(session.id, names)
        end = session.stopped_at or (rows[-1][0] if rows else session.started_at)
        span = (end - session.started_at).total_seconds()  # type: ignore[operator]
        width = rules.bucket_seconds(max(span, 0.0), max_points)
        series = ((row[0], row[1:]) for row in rows)
        buckets = rules.downsample(series, names, session.started_at, width)  # type: ignore[arg-type]
        return SessionTrend(session.id, session.started_at, width, names, buckets, len(rows))

    async def compare(
        self, sessions: Sequence[ChargingSession], measurand: str, max_points: int = 300
    ) -> tuple[int, list[tuple[ChargingSession, list[rules.Bucket]]]]:
        """Several sessions on one axis (seconds from each start), in buckets of one common width."""
        names = self._check([measurand], max_points)
        if not 1 <= len(sessions) <= MAX_COMPARED:
            raise InvalidInput(f"compare between 1 and {MAX_COMPARED} sessions")
        spans = [
            ((s.stopped_at or s.last_sample_at or s.started_at) - s.started_at).total_seconds() for s in sessions
        ]
        width = rules.bucket_seconds(max(0.0, *spans), max_points)
        compared = []
        for session in sessions:
            rows = await repository.series(session.id, names)
            series = ((row[0], row[1:]) for row in rows)
            compared.append((session, rules.downsample(series, names, session.started_at, width)))  # type: ignore[arg-type]
        return width, compared

    async def energy_readings(self, session_id: int) -> list[tuple[datetime, int]]:
        """The session's energy register readings in stored time order (samples without one are skipped)."""
        rows = await repository.series(session_id, ("energy_wh",))
        return [(ts, energy) for ts, energy in rows if energy is not None]  # type: ignore[misc]

    async def latest_for_sessions(self, session_ids: list[int]) -> list[MeterSample]:
        return await repository.latest_for_sessions(session_ids)

    @staticmethod
    def _check(measurands: Sequence[str], max_points: int) -> tuple[str, ...]:
        unknown = [m for m in measurands if m not in MEASURANDS]
        if unknown:
            raise InvalidInput(f"unknown measurands {unknown}; choose from {list(MEASURANDS)}")
        if not measurands:
            raise InvalidInput("choose at least one measurand")
        if not 1 <= max_points <= MAX_TREND_POINTS:
            raise InvalidInput(f"maxPoints must be between 1 and {MAX_TREND_POINTS}")
        return tuple(dict.fromkeys(measurands))
