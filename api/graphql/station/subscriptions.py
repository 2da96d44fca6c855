"""Live connector status of a station, for map markers and station pages."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime

import strawberry

from api.charge_point.events import ConnectorStatusChanged
from api.core.bus import channels
from api.graphql.context import Info
from api.graphql.enums import ConnectorStatus
from api.graphql.errors import maps_domain_errors, parse_int_id
from api.graphql.station.types import ConnectorCounts


@strawberry.type(description="A connector of the station changed status; counts are the station's new totals.")
class ConnectorStatusUpdate:
    station_id: strawberry.ID
    charge_point_id: strawberry.ID
    connector_id: strawberry.ID | None = strawberry.field(description="None for the pile as a whole (connector 0).")
    connector_no: int
    status: ConnectorStatus
    error_code: str
    at: datetime
    counts: ConnectorCounts


async def _check(info: Info, station_id: strawberry.ID) -> int:
    number = parse_int_id(station_id, "station")
    await info.context.services.stations.get(number)
    return number


@strawberry.type
class StationSubscriptions:
    @strawberry.subscription
    async def connector_status(
        self, info: Info, station_id: strawberry.ID
    ) -> AsyncGenerator[ConnectorStatusUpdate, None]:
        number = await maps_domain_errors(_check)(info, station_id)
        if info.context.probe:
            return  # allowed: the subscriber joins the shared stream of this station (api/graphql/fanout.py)
        services = info.context.services
        async with services.bus.subscribe(channels.station(number)) as events:
            async for event in events:
                if not isinstance(event, ConnectorStatusChanged):
                    continue
                counts = await services.stations.connector_counts([number])
                yield ConnectorStatusUpdate(
                    station_id=strawberry.ID(str(number)),
                    charge_point_id=strawberry.ID(event.charge_point_id),
                    connector_id=strawberry.ID(str(event.connector_id)) if event.connector_id is not None else None,
                    connector_no=event.connector_no,
                    status=event.status,
                    error_code=event.error_code,
                    at=event.at,
                    counts=ConnectorCounts.from_counts(counts[number]),
                )
