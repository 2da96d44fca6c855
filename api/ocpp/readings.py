"""Sampled values of either OCPP version → meter readings: the grouping both versions share.

Each version turns its own sampled values into ``Sample``s (its units, its signed data, its locations); this
module groups them by (timestamp, reading context) into one ``MeterReading`` each, where a per-phase value is
combined with the other phases (voltage averaged, the rest the largest) unless the pile also sent the total.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from api.metering.dto import MeterReading
from api.ocpp.frames import Fault, FrameError

COLUMN_LIMITS = {"energy_wh": 2**63 - 1, "soc_pct": 2**15 - 1}
"""The largest magnitude each MeterSample column holds (the others are 32-bit)."""
INT32 = 2**31 - 1


def fits(column: str, number: int, label: str, unique_id: str) -> int:
    """``number`` if its column can hold it; otherwise the pile is told which value is impossible
    (PropertyConstraintViolation), rather than failing on the database and having the pile resend it forever."""
    if abs(number) > COLUMN_LIMITS.get(column, INT32):
        raise FrameError(Fault.PROPERTY, f"{label} value {number} is out of range", unique_id)
    return number


@dataclass(frozen=True)
class Sample:
    ts: datetime
    context: str
    column: str | None = None
    """The MeterSample column this value fills (None: kept only as reported)."""
    number: int | None = None
    phased: bool = False
    extra: tuple[tuple[str, Any], ...] = ()
    """Kept as reported, under these labels (values we have no column for, per-phase values, signatures)."""


def readings(
    charge_point_id: str, connector_no: int, transaction_id: int | None, samples: Iterable[Sample]
) -> list[MeterReading]:
    rows: dict[tuple[datetime, str], dict[str, Any]] = {}
    phased: dict[tuple[datetime, str], dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for sample in samples:
        key = (sample.ts, sample.context)
        row = rows.setdefault(key, {"extra": {}})
        row["extra"].update(sample.extra)
        if sample.column is None or sample.number is None:
            continue
        if sample.phased:
            phased[key][sample.column].append(sample.number)
        else:
            row[sample.column] = sample.number
    found = []
    for (ts, context), row in rows.items():
        for column, values in phased.get((ts, context), {}).items():
            if column not in row:  # an unphased total wins over the phases
                row[column] = round(sum(values) / len(values)) if column == "voltage_mv" else max(values)
        found.append(MeterReading(
            charge_point_id=charge_point_id, connector_no=connector_no, transaction_id=transaction_id, ts=ts,
            context=context, extra=row.pop("extra"), **row,
        ))
    return found
