"""Pure rules of metering: downsampling a series into time buckets. No I/O."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Stat:
    min: int
    max: int
    avg: float
    last: int


@dataclass(frozen=True)
class Bucket:
    start: datetime
    offset_s: int
    """Seconds from the series origin (the session start) to the bucket start."""
    count: int
    values: dict[str, Stat]


def bucket_seconds(span_s: float, max_points: int) -> int:
    """Smallest whole-second bucket width that keeps ``span_s`` within ``max_points`` buckets."""
    if max_points < 1:
        raise ValueError("max_points must be at least 1")
    width = int(span_s // max_points) + 1
    return max(1, width)


def downsample(
    rows: Iterable[tuple[datetime, Sequence[int | None]]],
    measurands: Sequence[str],
    origin: datetime,
    width_s: int,
) -> list[Bucket]:
    """Group time-ordered rows into ``width_s`` buckets from ``origin``; min/avg/max/last per measurand.

    Rows before ``origin`` go to the first bucket. Buckets without samples are left out (a gap stays a gap).
    """
    buckets: list[Bucket] = []
    index: int | None = None
    count = 0
    acc: list[list[int]] = [[] for _ in measurands]

    def flush() -> None:
        if index is None or count == 0:
            return
        stats = {
            name: Stat(min(vals), max(vals), sum(vals) / len(vals), vals[-1])
            for name, vals in zip(measurands, acc, strict=True)
            if vals
        }
        buckets.append(Bucket(origin + timedelta(seconds=index * width_s), index * width_s, count, stats))

    for ts, values in rows:
        position = max(0, int((ts - origin).total_seconds() // width_s))
        if position != index:
            flush()
            index, count = position, 0
            acc = [[] for _ in measurands]
        count += 1
        for slot, value in zip(acc, values, strict=True):
            if value is not None:
                slot.append(value)
    flush()
    return buckets
