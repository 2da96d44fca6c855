"""Map and detail queries for stations and piles."""

from __future__ import annotations

import strawberry

from api.graphql.context import Info
from api.graphql.enums import ConnectorType
from api.graphql.errors import maps_domain_errors, parse_int_id
from api.graphql.station.types import ChargePoint, Station
from api.station.rules import MapFilter
from api.station.service import MapHit


@strawberry.input(description="What a driver filters the map by.")
class StationFilter:
    available_now: bool = strawberry.field(default=False, description="At least one connector is available.")
    connector_types: list[ConnectorType] | None = strawberry.field(
        default=None, description="Any of these (an available one, with availableNow)."
    )
    min_power_w: int = strawberry.field(default=0, description="A connector of at least this power.")
    name: str | None = strawberry.field(default=None, description="Part of the station's name.")

    def to_domain(self) -> MapFilter:
        return MapFilter(
            available_now=self.available_now,
            connector_types=frozenset(self.connector_types or ()),
            min_power_w=self.min_power_w,
        )


def _stations(info: Info, hits: list[MapHit]) -> list[Station]:
    for hit in hits:  # the map query already counted connectors: no second read for connectorCounts
        info.context.loaders.connector_counts.prime(hit.station.id, hit.counts)
    return [
        Station(model=hit.station, distance_m=round(hit.distance_m, 1) if hit.distance_m is not None else None)
        for hit in hits
    ]


@strawberry.type
class StationQueries:
    @strawberry.field(description="Stations within radiusM metres of a GCJ-02 point, nearest first.")
    @maps_domain_errors
    async def stations_near(
        self,
        info: Info,
        latitude: float,
        longitude: float,
        radius_m: float = 5000,
        filter: StationFilter | None = None,
        first: int = 50,
    ) -> list[Station]:
        flt = filter or StationFilter()
        hits = await info.context.services.stations.near(
            latitude, longitude, radius_m, flt.to_domain(), first, flt.name
        )
        return _stations(info, hits)

    @strawberry.field(description="Stations inside a GCJ-02 bounding box (the visible map region).")
    @maps_domain_errors
    async def stations_in_box(
        self,
        info: Info,
        south: float,
        west: float,
        north: float,
        east: float,
        filter: StationFilter | None = None,
        first: int = 200,
    ) -> list[Station]:
        flt = filter or StationFilter()
        hits = await info.context.services.stations.in_box(south, west, north, east, flt.to_domain(), first, flt.name)
        return _stations(info, hits)

    @strawberry.field
    @maps_domain_errors
    async def station(self, info: Info, id: strawberry.ID) -> Station | None:
        found = await info.context.loaders.station.load(parse_int_id(id, "station"))
        return Station(model=found) if found else None

    @strawberry.field
    async def charge_point(self, info: Info, id: strawberry.ID) -> ChargePoint | None:
        found = await info.context.loaders.charge_point.load(str(id))
        return ChargePoint(model=found) if found else None
