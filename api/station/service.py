"""Station use cases: the map (near a point, in a box, with live connector counts) and station detail."""

from __future__ import annotations

from dataclasses import dataclass

from api.core.errors import InvalidInput, NotFound
from api.models import Operator, Station
from api.models.enums import StationKind
from api.station import repository, rules
from api.station.rules import ConnectorCounts, MapFilter

MAX_RADIUS_M = 200_000
MAX_MAP_RESULTS = 500
MIN_COUNT_CHUNK = 50
"""Candidates whose connectors are counted together when a filter is set: few statements, few wasted rows."""


@dataclass(frozen=True)
class MapHit:
    station: Station
    distance_m: float | None
    counts: ConnectorCounts


class StationService:
    async def get(self, station_id: int) -> Station:
        found = await repository.get(station_id)
        if found is None:
            raise NotFound(f"station {station_id} does not exist")
        return found

    async def by_ids(self, ids: list[int]) -> list[Station]:
        return await repository.by_ids(ids)

    async def count(self) -> int:
        return await repository.count()

    async def create_operator(self, name: str) -> Operator:
        if not name.strip():
            raise InvalidInput("an operator needs a name")
        return await repository.create_operator(name.strip())

    async def create_station(
        self,
        operator_id: int,
        name: str,
        latitude: float,
        longitude: float,
        *,
        address: str = "",
        city: str = "",
        opening_hours: str = "00:00-24:00",
        kind: StationKind = StationKind.CHARGING,
    ) -> Station:
        _check_point(latitude, longitude)
        if not name.strip():
            raise InvalidInput("a station needs a name")
        return await repository.create_station(
            operator_id=operator_id,
            name=name.strip(),
            latitude=latitude,
            longitude=longitude,
            address=address,
            city=city,
            opening_hours=opening_hours,
            kind=kind,
        )

    async def near(
        self, lat: float, lng: float, radius_m: float, flt: MapFilter, limit: int, name: str | None = None
    ) -> list[MapHit]:
        _check_point(lat, lng)
        if not 0 < radius_m <= MAX_RADIUS_M:
            raise InvalidInput(f"radius must be in (0, {MAX_RADIUS_M}] metres")
        _check_limit(limit)
        candidates = await repository.in_box(*rules.bounding_box(lat, lng, radius_m), name)
        within = [
            (station, d)
            for station in candidates
            if (d := rules.distance_m(lat, lng, station.latitude, station.longitude)) <= radius_m
        ]
        within.sort(key=lambda pair: pair[1])
        return await self._with_counts(within, flt, limit)

    async def in_box(
        self, south: float, west: float, north: float, east: float, flt: MapFilter, limit: int, name: str | None = None
    ) -> list[MapHit]:
        _check_point(south, west)
        _check_point(north, east)
        if south > north or west > east:
            raise InvalidInput("the box must have south <= north and west <= east")
        _check_limit(limit)
        candidates = await repository.in_box(south, north, west, east, name)
        return await self._with_counts([(s, None) for s in candidates], flt, limit)

    async def connector_counts(self, station_ids: list[int]) -> dict[int, ConnectorCounts]:
        grouped: dict[int, list[tuple]] = {sid: [] for sid in station_ids}
        for station_id, status, kind, power in await repository.connector_rows(station_ids):
            grouped[station_id].append((status, kind, power))
        return {sid: rules.count_connectors(rows) for sid, rows in grouped.items()}

    async def _with_counts(self, pairs: list[tuple[Station, float | None]], flt: MapFilter, limit: int) -> list[MapHit]:
        """The first ``limit`` stations (in order) that pass the filter, with their counts.

        Counts are read only for stations that may be answered: the first ``limit`` candidates, then, if the
        filter turned some down, the next ones in chunks of at least ``MIN_COUNT_CHUNK``. An unfiltered map
        asks once, for the stations it returns, not for every station of the bounding box.
        """
        hits: list[MapHit] = []
        start, size = 0, limit
        while start < len(pairs) and len(hits) < limit:
            chunk = pairs[start:start + size]
            size = max(limit, MIN_COUNT_CHUNK)
            start += len(chunk)
            counts = await self.connector_counts([station.id for station, _ in chunk])
            hits.extend(
                MapHit(station, d, counts[station.id]) for station, d in chunk if flt.accepts(counts[station.id])
            )
        return hits[:limit]


def _check_point(lat: float, lng: float) -> None:
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        raise InvalidInput(f"({lat}, {lng}) is not a coordinate")


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_MAP_RESULTS:
        raise InvalidInput(f"first must be between 1 and {MAX_MAP_RESULTS}")
