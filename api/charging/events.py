"""Facts about charging sessions, published after commit on the session's channel and on ``sessions``."""

from dataclasses import dataclass
from datetime import datetime

from api.core.bus import Event
from api.models.enums import ChargingPhase


@dataclass(frozen=True)
class SessionStarted(Event):
    session_id: int
    charge_point_id: str
    connector_no: int
    station_id: int | None
    id_tag: str
    at: datetime


@dataclass(frozen=True)
class SessionPhaseChanged(Event):
    session_id: int
    phase: ChargingPhase
    at: datetime
    source: str


@dataclass(frozen=True)
class SessionEnded(Event):
    session_id: int
    stop_reason: str
    energy_wh: int
    at: datetime
