"""Every query of the access domain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tortoise.expressions import F, Q

from api.models import ChargePoint, DriverVehicle, Fleet, IdTag, RoleGrant, Station, User, Vehicle
from api.models.enums import IdTagKind, IdTagStatus, Role


async def user(user_id: int) -> User | None:
    return await User.get_or_none(id=user_id)


async def user_by_login(login: str) -> User | None:
    return await User.get_or_none(login=login)


async def user_id_where(**values: Any) -> int | None:
    found = await User.filter(**values).first()
    return found.id if found else None


async def create_user(**values: Any) -> User:
    return await User.create(**values)


async def update_user(user_id: int, **values: Any) -> None:
    await User.filter(id=user_id).update(**values)


async def count_failed_login(user_id: int, lock_at: int, locked_until: datetime) -> int:
    """Add one failure atomically; lock the account when it reaches ``lock_at``. Returns the new count."""
    await User.filter(id=user_id).update(failed_logins=F("failed_logins") + 1)
    found = await User.get(id=user_id)
    if found.failed_logins >= lock_at:
        await User.filter(id=user_id).update(locked_until=locked_until, failed_logins=0)
    return found.failed_logins


async def grants_of(user_id: int) -> list[RoleGrant]:
    return await RoleGrant.filter(user_id=user_id).order_by("id")


async def grant(user_id: int, role: Role, operator_id: int | None, station_id: int | None,
                fleet_id: int | None, granted_by_id: int | None) -> RoleGrant:
    found, _ = await RoleGrant.get_or_create(
        user_id=user_id, role=role, operator_id=operator_id, station_id=station_id, fleet_id=fleet_id,
        defaults={"granted_by_id": granted_by_id},
    )
    return found


async def revoke(grant_id: int) -> int:
    return await RoleGrant.filter(id=grant_id).delete()


async def grant_by_id(grant_id: int) -> RoleGrant | None:
    return await RoleGrant.get_or_none(id=grant_id)


async def station_operator(station_id: int) -> int | None:
    row = await Station.filter(id=station_id).values_list("operator_id", flat=True)
    return row[0] if row else None


async def charge_point_place(charge_point_id: str) -> tuple[int | None, int | None] | None:
    """(station id, operator id) of a pile, or None if the pile does not exist."""
    rows = await ChargePoint.filter(id=charge_point_id).values_list("station_id", "station__operator_id")
    if not rows:
        return None
    station_id, operator_id = rows[0]
    return station_id, operator_id


async def fleet(fleet_id: int) -> Fleet | None:
    return await Fleet.get_or_none(id=fleet_id)


async def create_fleet(operator_id: int, name: str) -> Fleet:
    return await Fleet.create(operator_id=operator_id, name=name)


async def tags_of(user_id: int | None, fleet_ids: frozenset[int]) -> list[str]:
    condition = Q(fleet_id__in=list(fleet_ids)) if fleet_ids else Q(id=-1)
    if user_id is not None:
        condition |= Q(user_id=user_id)
    return list(await IdTag.filter(condition).values_list("tag", flat=True))


async def vins_of(user_id: int) -> list[str]:
    return [v for v in await Vehicle.filter(owner_id=user_id).values_list("vin", flat=True) if v]


async def id_tag(tag: str) -> IdTag | None:
    return await IdTag.get_or_none(tag=tag)


async def create_id_tag(**values: Any) -> IdTag:
    return await IdTag.create(**values)


async def update_id_tag(tag_id: int, **values: Any) -> None:
    await IdTag.filter(id=tag_id).update(**values)


async def id_tags(
    operator_ids: frozenset[int] | None, fleet_ids: frozenset[int], user_id: int | None,
    status: IdTagStatus | None, kind: IdTagKind | None, limit: int,
) -> list[IdTag]:
    query = IdTag.all()
    if operator_ids is not None:
        scope = Q(operator_id__in=list(operator_ids)) if operator_ids else Q(id=-1)
        if fleet_ids:
            scope |= Q(fleet_id__in=list(fleet_ids))
        if user_id is not None:
            scope |= Q(user_id=user_id)
        query = query.filter(scope)
    if status is not None:
        query = query.filter(status=status)
    if kind is not None:
        query = query.filter(kind=kind)
    return await query.order_by("-id").limit(limit)


async def station_ids_of_operators(operator_ids: frozenset[int]) -> list[int]:
    if not operator_ids:
        return []
    return list(await Station.filter(operator_id__in=list(operator_ids)).values_list("id", flat=True))


async def driver_vehicles(user_id: int) -> list[DriverVehicle]:
    return await DriverVehicle.filter(user_id=user_id).order_by("id")


async def create_driver_vehicle(user_id: int, plate: str | None, vin: str | None) -> DriverVehicle:
    return await DriverVehicle.create(user_id=user_id, plate=plate, vin=vin)


async def delete_driver_vehicle(user_id: int, vehicle_id: int) -> bool:
    return await DriverVehicle.filter(user_id=user_id, id=vehicle_id).delete() > 0
