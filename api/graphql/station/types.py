"""Station, charge point and connector types, resolved through per-operation dataloaders."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON

from api.access.dto import Permission
from api.core.errors import InvalidInput
from api.graphql.context import Info
from api.graphql.enums import Availability, ConnectorStatus, ConnectorType, RegistrationStatus, StationKind
from api.graphql.errors import maps_domain_errors
from api.models import ChargePoint as ChargePointModel
from api.models import Connector as ConnectorModel
from api.models import Station as StationModel
from api.station.rules import ConnectorCounts as Counts

if TYPE_CHECKING:
    from api.graphql.charging.types import ChargingSession


@strawberry.type(description="Connectors of a station by state: what a map marker shows.")
class ConnectorCounts:
    total: int
    available: int
    charging: int = strawberry.field(description="Occupied: preparing, charging, suspended or finishing.")
    faulted: int
    unavailable: int = strawberry.field(description="Unavailable, reserved, or of unknown state (pile offline).")

    @classmethod
    def from_counts(cls, counts: Counts) -> ConnectorCounts:
        return cls(
            total=counts.total,
            available=counts.available,
            charging=counts.charging,
            faulted=counts.faulted,
            unavailable=counts.unavailable,
        )


@strawberry.type
class Station:
    model: strawberry.Private[StationModel]
    distance_m: float | None = strawberry.field(
        default=None, description="Metres from the point of a stationsNear query."
    )

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.model.id))

    @strawberry.field
    def name(self) -> str:
        return self.model.name

    @strawberry.field
    def kind(self) -> StationKind:
        return self.model.kind

    @strawberry.field(description="GCJ-02 latitude.")
    def latitude(self) -> float:
        return self.model.latitude

    @strawberry.field(description="GCJ-02 longitude.")
    def longitude(self) -> float:
        return self.model.longitude

    @strawberry.field
    def address(self) -> str:
        return self.model.address

    @strawberry.field
    def city(self) -> str:
        return self.model.city

    @strawberry.field(description="Local opening hours, HH:MM-HH:MM (Asia/Shanghai).")
    def opening_hours(self) -> str:
        return self.model.opening_hours

    @strawberry.field
    async def connector_counts(self, info: Info) -> ConnectorCounts:
        return ConnectorCounts.from_counts(await info.context.loaders.connector_counts.load(self.model.id))

    @strawberry.field
    async def charge_points(self, info: Info) -> list[ChargePoint]:
        return [ChargePoint(model=cp) for cp in await info.context.loaders.charge_points_of_station.load(self.model.id)]


@strawberry.type
class DesiredConfigurationValue:
    key: str
    value: str
    last_status: str = strawberry.field(description="The pile's last answer (Accepted, RebootRequired...), or empty.")
    applied_at: datetime | None


@strawberry.type
class ReportedConfigurationValue:
    key: str
    value: str | None
    readonly: bool


async def _require_details(info: Info, model: ChargePointModel) -> None:
    await info.context.services.access.require_charge_point(
        await info.context.viewer(), Permission.READ_PILE_DETAILS, model.id
    )


@strawberry.type(description="One report of a pile outside a session.")
class ChargePointEvent:
    kind: str
    payload: JSON
    received_at: datetime


@strawberry.type(description="A pile: one OCPP endpoint.")
class ChargePoint:
    model: strawberry.Private[ChargePointModel]

    @strawberry.field(description="The OCPP charge point identity.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.model.id)

    @strawberry.field
    def registration_status(self) -> RegistrationStatus:
        return self.model.registration_status

    @strawberry.field(description="Subprotocol of the current or last connection, e.g. ocpp1.6.")
    def protocol(self) -> str:
        return self.model.protocol

    @strawberry.field(description="OCPP security profile the pile must meet at its handshake: 0 none, 1 Basic "
                      "auth, 2 TLS and Basic auth, 3 TLS client certificate. Its own, or the deployment's default "
                      "when an operator set none.")
    def security_profile(self, info: Info) -> int:
        return info.context.services.charge_points.effective_profile(self.model)

    @strawberry.field(description="Whether the pile has a Basic auth password (never shown).")
    def has_password(self) -> bool:
        return self.model.password_hash is not None

    @strawberry.field
    def vendor(self) -> str:
        return self.model.vendor

    @strawberry.field
    def model_name(self) -> str:
        return self.model.model

    @strawberry.field
    def serial_number(self) -> str:
        return self.model.serial_number

    @strawberry.field
    def firmware_version(self) -> str:
        return self.model.firmware_version

    @strawberry.field
    def online(self) -> bool:
        return self.model.online

    @strawberry.field
    def last_seen_at(self) -> datetime | None:
        return self.model.last_seen_at

    @strawberry.field(description="Status of the pile as a whole (OCPP connector 0).")
    def status(self) -> ConnectorStatus:
        return self.model.status

    @strawberry.field
    def error_code(self) -> str:
        return self.model.error_code

    @strawberry.field(description="What operators want for the whole pile (locked = INOPERATIVE).")
    def desired_availability(self) -> Availability:
        return self.model.desired_availability  # type: ignore[return-value]

    @strawberry.field(description="False while a lock or unlock waits for the pile to agree (e.g. it is offline).")
    def availability_applied(self) -> bool:
        return self.model.availability_applied

    @strawberry.field(description="Configuration operators set (re-applied after every boot), with the pile's answer.")
    @maps_domain_errors
    async def desired_configuration(self, info: Info) -> list[DesiredConfigurationValue]:
        await _require_details(info, self.model)
        rows = await info.context.services.charge_points.desired_configuration_for([self.model.id])
        return [
            DesiredConfigurationValue(key=r.key, value=r.value, last_status=r.last_status, applied_at=r.applied_at)
            for r in rows
        ]

    @strawberry.field(description="The pile's whole configuration as last read (readConfiguration without keys).")
    @maps_domain_errors
    async def reported_configuration(self, info: Info) -> list[ReportedConfigurationValue] | None:
        await _require_details(info, self.model)
        if self.model.reported_configuration is None:
            return None
        return [
            ReportedConfigurationValue(key=e["key"], value=e.get("value"), readonly=bool(e.get("readonly")))
            for e in self.model.reported_configuration
        ]

    @strawberry.field(description="What the pile reported outside sessions, newest first: DataTransfer, firmware and "
                      "diagnostics status, AccessRefused (a card the station's access policy refused, with the reason).")
    @maps_domain_errors
    async def events(
        self, info: Info, first: Annotated[int, strawberry.argument(description="1 to 200.")] = 20
    ) -> list[ChargePointEvent]:
        await _require_details(info, self.model)
        if not 1 <= first <= 200:
            raise InvalidInput("first must be between 1 and 200")
        rows = await info.context.services.charge_points.events(self.model.id, first)
        return [ChargePointEvent(kind=r.kind, payload=r.payload, received_at=r.received_at) for r in rows]

    @strawberry.field
    async def station(self, info: Info) -> Station | None:
        if self.model.station_id is None:
            return None
        found = await info.context.loaders.station.load(self.model.station_id)
        return Station(model=found) if found else None

    @strawberry.field
    async def connectors(self, info: Info) -> list[Connector]:
        return [Connector(model=c) for c in await info.context.loaders.connectors_of_charge_point.load(self.model.id)]


@strawberry.type(description="One plug of a pile.")
class Connector:
    model: strawberry.Private[ConnectorModel]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.model.id))

    @strawberry.field(description="The OCPP connectorId on its pile (1-based).")
    def connector_no(self) -> int:
        return self.model.connector_no

    @strawberry.field
    def charge_point_id(self) -> strawberry.ID:
        return strawberry.ID(self.model.charge_point_id)

    @strawberry.field
    def kind(self) -> ConnectorType:
        return self.model.kind

    @strawberry.field
    def max_power_w(self) -> int:
        return self.model.max_power_w

    @strawberry.field
    def status(self) -> ConnectorStatus:
        return self.model.status

    @strawberry.field
    def error_code(self) -> str:
        return self.model.error_code

    @strawberry.field
    def vendor_error_code(self) -> str:
        return self.model.vendor_error_code

    @strawberry.field(description="When the current status began, as the pile reported it.")
    def status_at(self) -> datetime | None:
        return self.model.status_at

    @strawberry.field
    async def charge_point(self, info: Info) -> ChargePoint:
        found = await info.context.loaders.charge_point.load(self.model.charge_point_id)
        assert found is not None  # a connector cannot outlive its pile (ON DELETE CASCADE)
        return ChargePoint(model=found)

    @strawberry.field(
        description="The session charging here now, if the viewer may see it (their own, or their station's)."
    )
    @maps_domain_errors
    async def active_session(
        self, info: Info
    ) -> Annotated[ChargingSession, strawberry.lazy("api.graphql.charging.types")] | None:
        from api.graphql.charging.types import ChargingSession

        found = await info.context.loaders.active_session_of_connector.load(self.model.id)
        if found is None or not (await info.context.session_visibility()).allows(
            found.station_id, found.id_tag, found.vin
        ):
            return None
        return ChargingSession(model=found)

    @strawberry.field(description="What operators want (locked = INOPERATIVE); kept across reboots.")
    def desired_availability(self) -> Availability:
        return self.model.desired_availability  # type: ignore[return-value]

    @strawberry.field(description="False while a lock or unlock waits for the pile to agree (e.g. it is offline).")
    def availability_applied(self) -> bool:
        return self.model.availability_applied
