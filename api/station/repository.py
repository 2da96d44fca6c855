"""Every query of the station domain."""

from __future__ import annotations

from typing import Any

from api.models import ChargePoint, Operator, Station
from api.models.enums import ConnectorStatus, ConnectorType


async def get(station_id: int) -> Station | None:
    return await Station.get_or_none(id=station_id)


async def by_ids(ids: list[int]) -> list[Station]:
    return await Station.filter(id__in=ids)


async def in_box(min_lat: float, max_lat: float, min_lng: float, max_lng: float, name: str | None) -> list[Station]:
    query = Station.filter(
        latitude__gte=min_lat, latitude__lte=max_lat, longitude__gte=min_lng, longitude__lte=max_lng
    )
    if name:
        query = query.filter(name__icontains=name)
    return await query.order_by("id")


async def connector_rows(station_ids: list[int]) -> list[tuple[int, ConnectorStatus, ConnectorType, int]]:
    """(station_id, status, kind, max_power_w) of every connector of these stations, in one query.

    Read from the piles' side: the stations' piles by the index on ``charge_point.station_id``, then their
    connectors by the ``(charge_point_id, connector_no)`` index. Joined from the connectors' side, SQLite scans
    every connector of the table (80,000 in bench/map_query.py) to find a few hundred.
    """
    if not station_ids:
        return []
    rows = await ChargePoint.filter(station_id__in=station_ids).values_list(
        "station_id", "connectors__status", "connectors__kind", "connectors__max_power_w"
    )
    return [(r[0], ConnectorStatus(r[1]), ConnectorType(r[2]), r[3]) for r in rows if r[1] is not None]


async def create_operator(name: str) -> Operator:
    return await Operator.create(name=name)


async def create_station(**values: Any) -> Station:
    return await Station.create(**values)


async def count() -> int:
    return await Station.all().count()
