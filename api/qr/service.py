"""QR entry use cases: the code of a connector (made on first use), what a scanned code stands for, and
every code of a station for its printed sheet."""

from __future__ import annotations

from api.charge_point.errors import UnknownConnector
from api.charge_point.service import ChargePointService
from api.models import ChargePoint, Connector, ConnectorCode, Station
from api.qr import repository, rules
from api.qr.dto import ConnectorEntry, StationCodes
from api.qr.errors import UnknownCode
from api.station.service import StationService


class QrService:
    def __init__(
        self, public_url: str, *, charge_points: ChargePointService, stations: StationService
    ) -> None:
        self.public_url = public_url.rstrip("/")
        self.charge_points = charge_points
        self.stations = stations

    def url(self, code: str) -> str:
        return rules.qr_url(self.public_url, code)

    async def code_for(self, charge_point_id: str, connector_no: int) -> str:
        """The connector's code; the first call makes it, every later call returns the same one."""
        found = await repository.for_connector(charge_point_id, connector_no)
        if found is None:
            await self.charge_points.connector(charge_point_id, connector_no)  # UnknownConnector if none
            found = await repository.create(charge_point_id, connector_no, rules.new_code)
        return found.code

    async def resolve(self, raw_code: str) -> ConnectorEntry:
        """What a scanned code stands for, with the connector's status now. UnknownCode if nothing."""
        code = rules.normalize_code(raw_code)
        row = await repository.by_code(code) if code is not None else None
        if row is None:
            raise UnknownCode(f"no connector has the code {raw_code!r}")
        cp = await self.charge_points.find(row.charge_point_id)
        try:
            connector = await self.charge_points.connector(row.charge_point_id, row.connector_no)
        except UnknownConnector:
            cp = None
        if cp is None:
            raise UnknownCode(f"the connector of code {code!r} no longer exists")
        station = await self.stations.get(cp.station_id) if cp.station_id is not None else None
        return self._entry(row, cp, connector, station)

    async def codes_for_station(self, station_id: int) -> StationCodes:
        """Every connector of the station with its code (made now where missing). NotFound if no station."""
        station = await self.stations.get(station_id)
        piles = {cp.id: cp for cp in await self.charge_points.list_for_stations([station_id])}
        connectors = await self.charge_points.connectors_for(list(piles))
        rows = {(r.charge_point_id, r.connector_no): r for r in await repository.for_piles(list(piles))}
        entries = []
        for connector in sorted(connectors, key=lambda c: (c.charge_point_id, c.connector_no)):
            key = (connector.charge_point_id, connector.connector_no)
            row = rows.get(key) or await repository.create(*key, rules.new_code)
            entries.append(self._entry(row, piles[connector.charge_point_id], connector, station))
        return StationCodes(station.id, station.name, station.address, tuple(entries))

    def _entry(
        self, row: ConnectorCode, cp: ChargePoint, connector: Connector, station: Station | None
    ) -> ConnectorEntry:
        return ConnectorEntry(
            code=row.code,
            url=self.url(row.code),
            station_id=station.id if station else None,
            station_name=station.name if station else "",
            station_address=station.address if station else "",
            charge_point_id=cp.id,
            connector_no=connector.connector_no,
            kind=connector.kind,
            max_power_w=connector.max_power_w,
            status=connector.status,
            pile_online=cp.online,
        )
