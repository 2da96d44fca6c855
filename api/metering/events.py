"""Facts about meter data, published after commit."""

from dataclasses import dataclass
from datetime import datetime

from api.core.bus import Event


@dataclass(frozen=True)
class MeterSampleRecorded(Event):
    session_id: int | None
    charge_point_id: str
    connector_no: int
    ts: datetime
    context: str
    energy_wh: int | None
    power_w: int | None
    current_ma: int | None
    voltage_mv: int | None
    soc_pct: int | None
    temperature_decic: int | None
    session_energy_wh: int | None
    """Energy of the session so far, when the sample belongs to one."""
