"""Charging session types: the session, its phases, samples, trend series and live updates."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from api.graphql.context import Info
from api.graphql.enums import ChargingPhase, Measurand, SessionStatus
from api.graphql.errors import maps_domain_errors
from api.graphql.station.types import ChargePoint, Connector, Station
from api.metering import rules as metering_rules
from api.metering.service import SessionTrend
from api.models import ChargingSession as SessionModel
from api.models import MeterSample as SampleModel
from api.models import SessionPhaseChange
from api.models import Vehicle as VehicleModel


@strawberry.type
class Vehicle:
    model: strawberry.Private[VehicleModel]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.model.id))

    @strawberry.field
    def vin(self) -> str | None:
        return self.model.vin

    @strawberry.field
    def plate(self) -> str | None:
        return self.model.plate


@strawberry.type
class PhaseChange:
    phase: ChargingPhase
    at: datetime
    source: str = strawberry.field(description="What told us: status, data_transfer, meter or transaction.")

    @classmethod
    def from_model(cls, change: SessionPhaseChange) -> PhaseChange:
        return cls(phase=change.phase, at=change.at, source=change.source)


@strawberry.type(description="One sampled instant of a connector, in integer named units.")
class MeterSample:
    at: datetime
    context: str
    energy_wh: int | None = strawberry.field(description="Lifetime import register, Wh.")
    power_w: int | None
    current_ma: int | None
    voltage_mv: int | None
    soc_pct: int | None
    temperature_decic: int | None = strawberry.field(description="Tenths of a degree Celsius.")

    @classmethod
    def from_model(cls, row: SampleModel) -> MeterSample:
        return cls(
            at=row.ts,
            context=row.context,
            energy_wh=row.energy_wh,
            power_w=row.power_w,
            current_ma=row.current_ma,
            voltage_mv=row.voltage_mv,
            soc_pct=row.soc_pct,
            temperature_decic=row.temperature_decic,
        )


@strawberry.type(description="One time bucket of one measurand.")
class TrendPoint:
    offset_s: int = strawberry.field(description="Seconds from the session start to the bucket start.")
    at: datetime
    min: int
    max: int
    avg: float
    last: int
    count: int


@strawberry.type
class TrendSeries:
    measurand: Measurand
    points: list[TrendPoint]


@strawberry.type(description="A session's meter data downsampled into equal buckets from its start.")
class Trend:
    bucket_seconds: int
    sample_count: int = strawberry.field(description="Stored samples the buckets were built from.")
    origin: datetime
    series: list[TrendSeries]

    @classmethod
    def from_trend(cls, trend: SessionTrend) -> Trend:
        return cls(
            bucket_seconds=trend.width_s,
            sample_count=trend.sample_count,
            origin=trend.origin,
            series=[series_of(trend.buckets, name) for name in trend.measurands],
        )


def series_of(buckets: list[metering_rules.Bucket], measurand: str) -> TrendSeries:
    return TrendSeries(
        measurand=Measurand(measurand),
        points=[
            TrendPoint(
                offset_s=b.offset_s,
                at=b.start,
                min=stat.min,
                max=stat.max,
                avg=round(stat.avg, 3),
                last=stat.last,
                count=b.count,
            )
            for b in buckets
            if (stat := b.values.get(measurand)) is not None
        ],
    )


DEFAULT_MEASURANDS = [Measurand.POWER_W, Measurand.CURRENT_MA, Measurand.VOLTAGE_MV, Measurand.SOC_PCT, Measurand.ENERGY_WH]


@strawberry.type(description="One charging session (one OCPP transaction).")
class ChargingSession:
    model: strawberry.Private[SessionModel]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.model.id))

    @strawberry.field(
        description="Our number of the session: the OCPP 1.6 transactionId its pile uses (a 2.0.1 pile uses its "
        "own, pileTransactionId)."
    )
    def transaction_id(self) -> int:
        return self.model.id

    @strawberry.field(
        description="The transaction id an OCPP 2.0.1 pile chose for this session (null for OCPP 1.6 piles, "
        "which use transactionId)."
    )
    def pile_transaction_id(self) -> str | None:
        return self.model.pile_transaction_id

    @strawberry.field
    def status(self) -> SessionStatus:
        return self.model.status

    @strawberry.field
    def phase(self) -> ChargingPhase | None:
        return self.model.phase

    @strawberry.field
    def id_tag(self) -> str:
        return self.model.id_tag

    @strawberry.field
    def vin(self) -> str | None:
        return self.model.vin

    @strawberry.field
    def started_at(self) -> datetime:
        return self.model.started_at

    @strawberry.field
    def stopped_at(self) -> datetime | None:
        return self.model.stopped_at

    @strawberry.field(description="Seconds from start to stop, or to the latest sample while active.")
    def duration_s(self) -> int:
        end = self.model.stopped_at or self.model.last_sample_at or self.model.started_at
        return max(0, int((end - self.model.started_at).total_seconds()))

    @strawberry.field
    def meter_start_wh(self) -> int:
        return self.model.meter_start_wh

    @strawberry.field
    def meter_stop_wh(self) -> int | None:
        return self.model.meter_stop_wh

    @strawberry.field(description="Energy delivered (so far, while active), Wh.")
    def energy_wh(self) -> int:
        return self.model.energy_wh

    @strawberry.field
    def soc_start_pct(self) -> int | None:
        return self.model.soc_start_pct

    @strawberry.field(description="Latest SoC while active; SoC at the end once completed.")
    def soc_end_pct(self) -> int | None:
        return self.model.soc_end_pct

    @strawberry.field
    def max_power_w(self) -> int:
        return self.model.max_power_w

    @strawberry.field
    def stop_reason(self) -> str | None:
        return self.model.stop_reason

    @strawberry.field(description="A meter anomaly seen in this session; billing reviews it.")
    def anomaly(self) -> str | None:
        return self.model.anomaly

    @strawberry.field
    async def charge_point(self, info: Info) -> ChargePoint:
        found = await info.context.loaders.charge_point.load(self.model.charge_point_id)
        assert found is not None  # sessions restrict deletion of their pile
        return ChargePoint(model=found)

    @strawberry.field
    async def connector(self, info: Info) -> Connector:
        found = await info.context.loaders.connector.load(self.model.connector_id)
        assert found is not None  # sessions restrict deletion of their connector
        return Connector(model=found)

    @strawberry.field
    async def station(self, info: Info) -> Station | None:
        if self.model.station_id is None:
            return None
        found = await info.context.loaders.station.load(self.model.station_id)
        return Station(model=found) if found else None

    @strawberry.field
    async def vehicle(self, info: Info) -> Vehicle | None:
        if self.model.vehicle_id is None:
            return None
        found = await info.context.loaders.vehicle.load(self.model.vehicle_id)
        return Vehicle(model=found) if found else None

    @strawberry.field(description="Timeline of the DC phases (handshake, configuration, charging, ending).")
    async def phases(self, info: Info) -> list[PhaseChange]:
        return [PhaseChange.from_model(c) for c in await info.context.loaders.phases_of_session.load(self.model.id)]

    @strawberry.field
    async def latest_sample(self, info: Info) -> MeterSample | None:
        found = await info.context.loaders.latest_sample_of_session.load(self.model.id)
        return MeterSample.from_model(found) if found else None

    @strawberry.field(description="Meter data in at most maxPoints buckets (min/avg/max/last per bucket).")
    @maps_domain_errors
    async def trend(
        self,
        info: Info,
        measurands: list[Measurand] | None = None,
        max_points: int = 300,
    ) -> Trend:
        names = [m.value for m in (measurands or DEFAULT_MEASURANDS)]
        trend = await info.context.services.metering.trend(self.model, names, max_points)
        return Trend.from_trend(trend)


@strawberry.type
class SessionEdge:
    cursor: str
    node: ChargingSession


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class SessionConnection:
    edges: list[SessionEdge]
    page_info: PageInfo


@strawberry.type
class ComparedSession:
    session: ChargingSession
    series: TrendSeries


@strawberry.type(description="Several sessions on one time axis, each measured from its own start.")
class SessionComparison:
    bucket_seconds: int
    measurand: Measurand
    sessions: list[ComparedSession]


# -- live updates ---------------------------------------------------------------------------------


@strawberry.type(description="A meter sample was stored for the session.")
class SessionSampleRecorded:
    session_id: strawberry.ID
    sample: MeterSample
    session_energy_wh: int | None


@strawberry.type(description="The session entered a new phase.")
class SessionPhaseEntered:
    session_id: strawberry.ID
    phase: ChargingPhase
    at: datetime
    source: str


@strawberry.type(description="The session ended; no further updates follow.")
class SessionClosed:
    session_id: strawberry.ID
    stop_reason: str
    energy_wh: int
    at: datetime


@strawberry.type(description="The running cost of a session paid by an order, against the order's prepaid cap.")
class SessionCostUpdated:
    session_id: strawberry.ID
    order_id: strawberry.ID
    cost_fen: int
    cap_fen: int
    energy_wh: int


SessionUpdate = Annotated[
    SessionSampleRecorded | SessionPhaseEntered | SessionCostUpdated | SessionClosed,
    strawberry.union("SessionUpdate"),
]
