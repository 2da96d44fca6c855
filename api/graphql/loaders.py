"""Every DataLoader, built per operation (never at module level, never for a socket's lifetime)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from strawberry.dataloader import DataLoader

from api.container import Services
from api.models import ChargePoint, ChargingSession, Connector, MeterSample, SessionPhaseChange, Station, Vehicle
from api.station.rules import ConnectorCounts


@dataclass(frozen=True)
class Loaders:
    station: DataLoader[int, Station | None]
    connector_counts: DataLoader[int, ConnectorCounts]
    charge_points_of_station: DataLoader[int, list[ChargePoint]]
    charge_point: DataLoader[str, ChargePoint | None]
    connectors_of_charge_point: DataLoader[str, list[Connector]]
    connector: DataLoader[int, Connector | None]
    active_session_of_connector: DataLoader[int, ChargingSession | None]
    phases_of_session: DataLoader[int, list[SessionPhaseChange]]
    latest_sample_of_session: DataLoader[int, MeterSample | None]
    vehicle: DataLoader[int, Vehicle | None]


def build_loaders(services: Services) -> Loaders:
    async def stations(ids: list[int]) -> list[Station | None]:
        found = {s.id: s for s in await services.stations.by_ids(ids)}
        return [found.get(i) for i in ids]

    async def counts(ids: list[int]) -> list[ConnectorCounts]:
        found = await services.stations.connector_counts(ids)
        return [found[i] for i in ids]

    async def charge_points_of_station(ids: list[int]) -> list[list[ChargePoint]]:
        grouped: dict[int, list[ChargePoint]] = defaultdict(list)
        for cp in await services.charge_points.list_for_stations(ids):
            grouped[cp.station_id].append(cp)  # type: ignore[index]
        return [grouped[i] for i in ids]

    async def charge_points(ids: list[str]) -> list[ChargePoint | None]:
        found = {cp.id: cp for cp in await services.charge_points.list_by_ids(ids)}
        return [found.get(i) for i in ids]

    async def connectors_of_charge_point(ids: list[str]) -> list[list[Connector]]:
        grouped: dict[str, list[Connector]] = defaultdict(list)
        for connector in await services.charge_points.connectors_for(ids):
            grouped[connector.charge_point_id].append(connector)
        return [grouped[i] for i in ids]

    async def connectors(ids: list[int]) -> list[Connector | None]:
        found = {c.id: c for c in await services.charge_points.connectors_by_ids(ids)}
        return [found.get(i) for i in ids]

    async def active_sessions(connector_ids: list[int]) -> list[ChargingSession | None]:
        by_connector: dict[int, ChargingSession] = {}
        for session in await services.charging.active_for_connectors(connector_ids):
            current = by_connector.get(session.connector_id)
            if current is None or session.id > current.id:
                by_connector[session.connector_id] = session
        return [by_connector.get(i) for i in connector_ids]

    async def phases(session_ids: list[int]) -> list[list[SessionPhaseChange]]:
        grouped: dict[int, list[SessionPhaseChange]] = defaultdict(list)
        for change in await services.charging.phases(session_ids):
            grouped[change.session_id].append(change)
        return [grouped[i] for i in session_ids]

    async def latest_samples(session_ids: list[int]) -> list[MeterSample | None]:
        found = {s.session_id: s for s in await services.metering.latest_for_sessions(session_ids)}
        return [found.get(i) for i in session_ids]

    async def vehicles(ids: list[int]) -> list[Vehicle | None]:
        found = {v.id: v for v in await services.charging.vehicles_by_ids(ids)}
        return [found.get(i) for i in ids]

    return Loaders(
        station=DataLoader(stations),
        connector_counts=DataLoader(counts),
        charge_points_of_station=DataLoader(charge_points_of_station),
        charge_point=DataLoader(charge_points),
        connectors_of_charge_point=DataLoader(connectors_of_charge_point),
        connector=DataLoader(connectors),
        active_session_of_connector=DataLoader(active_sessions),
        phases_of_session=DataLoader(phases),
        latest_sample_of_session=DataLoader(latest_samples),
        vehicle=DataLoader(vehicles),
    )
