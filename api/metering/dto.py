"""A meter reading in named integer units, as every pile adapter must deliver it."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class MeterReading:
    charge_point_id: str
    connector_no: int
    transaction_id: int | None
    ts: datetime
    context: str = "Sample.Periodic"
    energy_wh: int | None = None
    power_w: int | None = None
    current_ma: int | None = None
    voltage_mv: int | None = None
    soc_pct: int | None = None
    temperature_decic: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


MEASURANDS = ("energy_wh", "power_w", "current_ma", "voltage_mv", "soc_pct", "temperature_decic")
"""The measurands kept as columns, by their field names."""
