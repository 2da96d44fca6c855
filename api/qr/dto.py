"""Values of QR entry: what a code stands for, as the landing page and the printed sheet show it."""

from __future__ import annotations

from dataclasses import dataclass

from api.models.enums import ConnectorStatus, ConnectorType


@dataclass(frozen=True)
class ConnectorEntry:
    code: str
    url: str
    """``{public_url}/q/{code}``: what the QR image holds."""
    station_id: int | None
    station_name: str
    station_address: str
    charge_point_id: str
    connector_no: int
    kind: ConnectorType
    max_power_w: int
    status: ConnectorStatus
    pile_online: bool


@dataclass(frozen=True)
class StationCodes:
    station_id: int
    station_name: str
    station_address: str
    entries: tuple[ConnectorEntry, ...]
    """One per connector of the station's piles, by pile id then connector number."""
