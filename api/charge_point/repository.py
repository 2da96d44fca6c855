"""Every query of the charge point domain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from api.models import ChargePoint, ChargePointEvent, Connector, DesiredConfiguration, Reservation
from api.models.enums import Availability, ConnectorType, RegistrationStatus


async def get(charge_point_id: str) -> ChargePoint | None:
    return await ChargePoint.get_or_none(id=charge_point_id)


async def create_pending(charge_point_id: str) -> tuple[ChargePoint, bool]:
    return await ChargePoint.get_or_create(
        id=charge_point_id, defaults={"registration_status": RegistrationStatus.PENDING}
    )


async def create(charge_point_id: str, station_id: int | None) -> ChargePoint:
    return await ChargePoint.create(
        id=charge_point_id, station_id=station_id, registration_status=RegistrationStatus.ACCEPTED
    )


async def create_connector(charge_point_id: str, connector_no: int, kind: ConnectorType, max_power_w: int) -> Connector:
    return await Connector.create(
        charge_point_id=charge_point_id, connector_no=connector_no, kind=kind, max_power_w=max_power_w
    )


async def update(charge_point_id: str, **values: Any) -> None:
    await ChargePoint.filter(id=charge_point_id).update(**values)


async def drop_previous_password(charge_point_id: str, previous_hash: str) -> None:
    """Forget the replaced password, unless another rotation happened meanwhile."""
    await ChargePoint.filter(id=charge_point_id, previous_password_hash=previous_hash).update(
        previous_password_hash=None, previous_password_until=None
    )


async def mark_all_offline() -> int:
    return await ChargePoint.filter(online=True).update(online=False)


async def mark_offline_if_held_by(charge_point_id: str, node: str, **values: Any) -> bool:
    """Offline only while ``node`` still holds it: a late close on an old node must not undo a newer link."""
    return await ChargePoint.filter(id=charge_point_id, node=node).update(online=False, **values) > 0


async def online_nodes() -> list[str]:
    return list(await ChargePoint.filter(online=True).distinct().values_list("node", flat=True))


async def mark_offline_held_by(nodes: list[str]) -> list[tuple[str, int | None]]:
    """Mark the piles of these (dead) nodes offline; returns (pile, station) of each."""
    rows = await ChargePoint.filter(online=True, node__in=nodes).values_list("id", "station_id")
    if rows:
        await ChargePoint.filter(online=True, node__in=nodes).update(online=False)
    return [(cp, station) for cp, station in rows]


async def holder(charge_point_id: str) -> str | None:
    found = await ChargePoint.filter(id=charge_point_id, online=True).values_list("node", flat=True)
    return found[0] if found else None


async def connector(charge_point_id: str, connector_no: int) -> Connector | None:
    return await Connector.get_or_none(charge_point_id=charge_point_id, connector_no=connector_no)


async def ensure_connector(charge_point_id: str, connector_no: int) -> Connector:
    found, _ = await Connector.get_or_create(charge_point_id=charge_point_id, connector_no=connector_no)
    return found


async def update_connector(connector_id: int, **values: Any) -> None:
    await Connector.filter(id=connector_id).update(**values)


async def add_event(charge_point_id: str, kind: str, payload: dict[str, Any]) -> None:
    await ChargePointEvent.create(charge_point_id=charge_point_id, kind=kind, payload=payload)


async def list_by_ids(ids: list[str]) -> list[ChargePoint]:
    return await ChargePoint.filter(id__in=ids)


async def list_for_stations(station_ids: list[int]) -> list[ChargePoint]:
    return await ChargePoint.filter(station_id__in=station_ids).order_by("id")


async def connectors_for(charge_point_ids: list[str]) -> list[Connector]:
    return await Connector.filter(charge_point_id__in=charge_point_ids).order_by("charge_point_id", "connector_no")


async def connectors_by_ids(connector_ids: list[int]) -> list[Connector]:
    return await Connector.filter(id__in=connector_ids)


async def events(charge_point_id: str, limit: int) -> list[ChargePointEvent]:
    return await ChargePointEvent.filter(charge_point_id=charge_point_id).order_by("-id").limit(limit)


async def touch(charge_point_id: str, at: datetime) -> None:
    await ChargePoint.filter(id=charge_point_id).update(last_seen_at=at)


async def desired_configuration(charge_point_id: str) -> list[DesiredConfiguration]:
    return await DesiredConfiguration.filter(charge_point_id=charge_point_id).order_by("key")


async def desired_configuration_for(charge_point_ids: list[str]) -> list[DesiredConfiguration]:
    return await DesiredConfiguration.filter(charge_point_id__in=charge_point_ids).order_by("charge_point_id", "key")


async def set_desired_configuration(charge_point_id: str, key: str, value: str) -> None:
    found = await DesiredConfiguration.get_or_none(charge_point_id=charge_point_id, key=key)
    if found is None:
        await DesiredConfiguration.create(charge_point_id=charge_point_id, key=key, value=value)
    else:
        await DesiredConfiguration.filter(id=found.id).update(value=value, last_status="", applied_at=None)


async def delete_desired_configuration(charge_point_id: str, key: str) -> int:
    return await DesiredConfiguration.filter(charge_point_id=charge_point_id, key=key).delete()


async def note_configuration(charge_point_id: str, key: str, value: str, status: str, at: datetime | None) -> None:
    await DesiredConfiguration.filter(charge_point_id=charge_point_id, key=key, value=value).update(
        last_status=status, applied_at=at
    )


async def mark_pile_applied(charge_point_id: str, availability: Availability) -> None:
    await ChargePoint.filter(id=charge_point_id, desired_availability=availability).update(availability_applied=True)


async def mark_connector_applied(charge_point_id: str, connector_no: int, availability: Availability) -> None:
    await Connector.filter(
        charge_point_id=charge_point_id, connector_no=connector_no, desired_availability=availability
    ).update(availability_applied=True)


async def create_reservation(**values: Any) -> Reservation:
    return await Reservation.create(**values)


async def reservation(reservation_id: int) -> Reservation | None:
    return await Reservation.get_or_none(id=reservation_id)


async def update_reservation(reservation_id: int, **values: Any) -> None:
    await Reservation.filter(id=reservation_id).update(**values)
