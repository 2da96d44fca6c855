"""Logins, staff, role grants, fleets and the life of cards."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api.access.dto import Grant as GrantDto
from api.graphql.access.types import DriverVehicle, Fleet, Grant, GrantInput, IdTag, LoginResult, Me, StaffUser
from api.graphql.context import Info
from api.graphql.enums import IdTagKind
from api.graphql.errors import maps_domain_errors, parse_int_id


def _grant(value: GrantInput) -> GrantDto:
    return GrantDto(
        value.role,
        parse_int_id(value.operator_id, "operator") if value.operator_id is not None else None,
        parse_int_id(value.station_id, "station") if value.station_id is not None else None,
        parse_int_id(value.fleet_id, "fleet") if value.fleet_id is not None else None,
    )


@strawberry.type
class AccessMutations:
    @strawberry.mutation(description="Staff log in with login and password; the token expires (see expiresInS).")
    @maps_domain_errors
    async def login(self, info: Info, login: str, password: str) -> LoginResult:
        token = await info.context.services.access.login(login, password)
        return LoginResult(token=token.token, expires_in_s=token.expires_in_s, me=Me.of(token.viewer))

    @strawberry.mutation(description="A driver logs in with wx.login's code (the WeChat mini-program); the first "
                         "login makes the account. Sent with a token of the Alipay login, it links both apps.")
    @maps_domain_errors
    async def login_with_wechat(self, info: Info, code: str) -> LoginResult:
        token = await info.context.services.logins.with_wechat(code, await info.context.viewer())
        return LoginResult(token=token.token, expires_in_s=token.expires_in_s, me=Me.of(token.viewer))

    @strawberry.mutation(description="A driver logs in with my.getAuthCode's code (the Alipay mini-program); the first "
                         "login makes the account. Sent with a token of the WeChat login, it links both apps.")
    @maps_domain_errors
    async def login_with_alipay(self, info: Info, auth_code: str) -> LoginResult:
        token = await info.context.services.logins.with_alipay(auth_code, await info.context.viewer())
        return LoginResult(token=token.token, expires_in_s=token.expires_in_s, me=Me.of(token.viewer))

    @strawberry.mutation(description="A driver lists a vehicle: a number plate, a VIN or both (at most 10).")
    @maps_domain_errors
    async def add_vehicle(self, info: Info, plate: str | None = None, vin: str | None = None) -> DriverVehicle:
        row = await info.context.services.access.add_driver_vehicle(await info.context.viewer(), plate, vin)
        return DriverVehicle.of(row)

    @strawberry.mutation(description="A driver removes a vehicle from their list.")
    @maps_domain_errors
    async def remove_vehicle(self, info: Info, id: strawberry.ID) -> bool:
        await info.context.services.access.remove_driver_vehicle(
            await info.context.viewer(), parse_int_id(id, "vehicle")
        )
        return True

    @strawberry.mutation(description="Change one's own password; every token issued before stops working.")
    @maps_domain_errors
    async def change_password(self, info: Info, current_password: str, new_password: str) -> bool:
        viewer = await info.context.require_viewer()
        await info.context.services.access.change_password(viewer, current_password, new_password)
        return True

    @strawberry.mutation(description="Create a staff account with its roles (only roles the caller may grant).")
    @maps_domain_errors
    async def create_staff(
        self, info: Info, name: str, login: str, password: str, grants: list[GrantInput]
    ) -> StaffUser:
        viewer = await info.context.require_viewer()
        wanted = [_grant(g) for g in grants]
        user = await info.context.services.access.create_user(viewer, name, login, password, wanted)
        return StaffUser(
            id=strawberry.ID(str(user.id)), name=user.name, login=user.login, grants=[Grant.of(g) for g in wanted]
        )

    @strawberry.mutation
    @maps_domain_errors
    async def grant_role(self, info: Info, user_id: strawberry.ID, grant: GrantInput) -> strawberry.ID:
        viewer = await info.context.require_viewer()
        row = await info.context.services.access.grant(viewer, parse_int_id(user_id, "user"), _grant(grant))
        return strawberry.ID(str(row.id))

    @strawberry.mutation
    @maps_domain_errors
    async def revoke_role(self, info: Info, grant_id: strawberry.ID) -> bool:
        viewer = await info.context.require_viewer()
        await info.context.services.access.revoke(viewer, parse_int_id(grant_id, "grant"))
        return True

    @strawberry.mutation
    @maps_domain_errors
    async def create_fleet(self, info: Info, operator_id: strawberry.ID, name: str) -> Fleet:
        viewer = await info.context.require_viewer()
        fleet = await info.context.services.access.create_fleet(viewer, parse_int_id(operator_id, "operator"), name)
        return Fleet.of(fleet)

    @strawberry.mutation(description="Issue a card (RFID, app token or VIN) for an operator or a fleet.")
    @maps_domain_errors
    async def issue_id_tag(
        self, info: Info, tag: str, kind: IdTagKind = IdTagKind.RFID, operator_id: strawberry.ID | None = None,
        fleet_id: strawberry.ID | None = None, user_id: strawberry.ID | None = None,
        expires_at: datetime | None = None,
    ) -> IdTag:
        viewer = await info.context.require_viewer()
        issued = await info.context.services.access.issue_id_tag(
            viewer, tag, kind=kind,
            operator_id=parse_int_id(operator_id, "operator") if operator_id is not None else None,
            fleet_id=parse_int_id(fleet_id, "fleet") if fleet_id is not None else None,
            user_id=parse_int_id(user_id, "user") if user_id is not None else None,
            expires_at=expires_at,
        )
        return IdTag.of(issued)

    @strawberry.mutation
    @maps_domain_errors
    async def block_id_tag(self, info: Info, tag: str, reason: str = "") -> IdTag:
        viewer = await info.context.require_viewer()
        return IdTag.of(await info.context.services.access.block_id_tag(viewer, tag, reason))

    @strawberry.mutation
    @maps_domain_errors
    async def unblock_id_tag(self, info: Info, tag: str) -> IdTag:
        viewer = await info.context.require_viewer()
        return IdTag.of(await info.context.services.access.unblock_id_tag(viewer, tag))

    @strawberry.mutation(description="Set (or clear, with null) when a card stops working.")
    @maps_domain_errors
    async def set_id_tag_expiry(self, info: Info, tag: str, expires_at: datetime | None) -> IdTag:
        viewer = await info.context.require_viewer()
        return IdTag.of(await info.context.services.access.set_id_tag_expiry(viewer, tag, expires_at))

    @strawberry.mutation(description="Assign a card to a person and/or a fleet (null clears).")
    @maps_domain_errors
    async def assign_id_tag(
        self, info: Info, tag: str, user_id: strawberry.ID | None = None, fleet_id: strawberry.ID | None = None
    ) -> IdTag:
        viewer = await info.context.require_viewer()
        assigned = await info.context.services.access.assign_id_tag(
            viewer, tag,
            user_id=parse_int_id(user_id, "user") if user_id is not None else None,
            fleet_id=parse_int_id(fleet_id, "fleet") if fleet_id is not None else None,
        )
        return IdTag.of(assigned)
