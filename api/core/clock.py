"""Time: one injectable clock, UTC inside, Asia/Shanghai at the edges."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """A naive datetime is taken as UTC (OCPP requires UTC; piles that omit the zone mean it)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_ocpp_datetime(raw: str) -> datetime:
    """Parse an OCPP dateTime (RFC 3339). Raises ValueError on anything else."""
    text = raw.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    return as_utc(datetime.fromisoformat(text))


def to_shanghai(value: datetime) -> datetime:
    return as_utc(value).astimezone(SHANGHAI)


def clamp_reported(reported: datetime | None, now: datetime, max_future_s: int = 300) -> datetime:
    """A pile's clock is untrusted: a missing time, or one further ahead of ours than tolerated, becomes now."""
    if reported is None:
        return now
    reported = as_utc(reported)
    if (reported - now).total_seconds() > max_future_s:
        return now
    return reported
