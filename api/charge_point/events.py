"""Facts about piles and connectors, published after commit."""

from dataclasses import dataclass
from datetime import datetime

from api.core.bus import Event
from api.models.enums import ConnectorStatus


@dataclass(frozen=True)
class ConnectorStatusChanged(Event):
    charge_point_id: str
    station_id: int | None
    connector_id: int | None
    """Our connector row id; None for connector 0 (the pile as a whole)."""
    connector_no: int
    status: ConnectorStatus
    error_code: str
    at: datetime


@dataclass(frozen=True)
class ChargePointConnectionChanged(Event):
    charge_point_id: str
    station_id: int | None
    online: bool
    at: datetime
