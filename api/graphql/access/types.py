"""People, roles, fleets and cards as the API shows them."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api.access.dto import Grant as GrantDto
from api.access.dto import Viewer
from api.graphql.enums import IdTagKind, IdTagStatus, Role
from api.graphql.context import Info
from api.models import DriverVehicle as DriverVehicleModel
from api.models import Fleet as FleetModel
from api.models import IdTag as IdTagModel


def _id(value: int | None) -> strawberry.ID | None:
    return strawberry.ID(str(value)) if value is not None else None


@strawberry.type(description="One role of a person, over the platform, an operator, a station or a fleet.")
class Grant:
    role: Role
    operator_id: strawberry.ID | None
    station_id: strawberry.ID | None
    fleet_id: strawberry.ID | None

    @classmethod
    def of(cls, grant: GrantDto) -> Grant:
        return cls(
            role=grant.role, operator_id=_id(grant.operator_id), station_id=_id(grant.station_id),
            fleet_id=_id(grant.fleet_id),
        )


@strawberry.type(description="A vehicle a driver listed (plate, VIN). A declaration: it admits and shows nothing.")
class DriverVehicle:
    id: strawberry.ID
    plate: str | None = strawberry.field(description="Normalized, e.g. 浙AD12345.")
    vin: str | None
    created_at: datetime

    @classmethod
    def of(cls, row: DriverVehicleModel) -> DriverVehicle:
        return cls(id=strawberry.ID(str(row.id)), plate=row.plate, vin=row.vin, created_at=row.created_at)


@strawberry.type(description="The person this request acts as.")
class Me:
    id: strawberry.ID
    name: str
    grants: list[Grant]

    @strawberry.field(description="The vehicles this person listed, oldest first.")
    async def vehicles(self, info: Info) -> list[DriverVehicle]:
        rows = await info.context.services.access.driver_vehicles(await info.context.viewer())
        return [DriverVehicle.of(r) for r in rows]

    @classmethod
    def of(cls, viewer: Viewer) -> Me:
        return cls(id=strawberry.ID(str(viewer.user_id)), name=viewer.name, grants=[Grant.of(g) for g in viewer.grants])


@strawberry.type
class LoginResult:
    token: str = strawberry.field(description="Send as 'Authorization: Bearer <token>' (HTTP) or in connection_init.")
    expires_in_s: int
    me: Me


@strawberry.type
class StaffUser:
    id: strawberry.ID
    name: str
    login: str | None
    grants: list[Grant]


@strawberry.type
class Fleet:
    id: strawberry.ID
    operator_id: strawberry.ID
    name: str

    @classmethod
    def of(cls, fleet: FleetModel) -> Fleet:
        return cls(id=strawberry.ID(str(fleet.id)), operator_id=strawberry.ID(str(fleet.operator_id)), name=fleet.name)


@strawberry.type(description="An id tag: an RFID card, an app token or a VIN that may start charging.")
class IdTag:
    tag: str
    kind: IdTagKind
    status: IdTagStatus
    expires_at: datetime | None
    blocked_reason: str
    operator_id: strawberry.ID | None
    fleet_id: strawberry.ID | None
    user_id: strawberry.ID | None
    parent_tag: str | None

    @classmethod
    def of(cls, tag: IdTagModel) -> IdTag:
        return cls(
            tag=tag.tag, kind=tag.kind, status=tag.status, expires_at=tag.expires_at,
            blocked_reason=tag.blocked_reason, operator_id=_id(tag.operator_id), fleet_id=_id(tag.fleet_id),
            user_id=_id(tag.user_id), parent_tag=tag.parent_tag,
        )


@strawberry.input(description="A role and its scope: platform_admin and driver take none; operator_admin an "
                              "operator; station_manager and partner a station; fleet_manager a fleet.")
class GrantInput:
    role: Role
    operator_id: strawberry.ID | None = None
    station_id: strawberry.ID | None = None
    fleet_id: strawberry.ID | None = None
