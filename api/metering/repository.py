"""Every query of the metering domain."""

from __future__ import annotations

from collections.abc import Sequence
from tortoise.functions import Max

from api.models import MeterSample


async def insert(samples: list[MeterSample]) -> None:
    # A pile that retransmits an instant we already stored hits the unique key: nothing is duplicated.
    await MeterSample.bulk_create(samples, ignore_conflicts=True)


async def series(session_id: int, fields: Sequence[str]) -> list[tuple[object, ...]]:
    """One read of the (session_id, ts) index, in time order."""
    return await MeterSample.filter(session_id=session_id).order_by("ts", "id").values_list("ts", *fields)


async def latest_for_sessions(session_ids: list[int]) -> list[MeterSample]:
    """Latest stored sample of each session (for live cards): two indexed queries whatever the count."""
    if not session_ids:
        return []
    newest = (
        await MeterSample.filter(session_id__in=session_ids)
        .group_by("session_id")
        .annotate(newest_id=Max("id"))
        .values_list("newest_id", flat=True)
    )
    return await MeterSample.filter(id__in=list(newest))


async def count_for_session(session_id: int) -> int:
    return await MeterSample.filter(session_id=session_id).count()
