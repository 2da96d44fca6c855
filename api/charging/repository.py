"""Every query of the charging domain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tortoise.expressions import Q

from api.charging.dto import SessionFilter
from api.models import ChargingSession, Connector, IdTag, MeterSample, SessionPhaseChange, Vehicle
from api.models.enums import ChargingPhase, SessionStatus


async def id_tag(tag: str) -> IdTag | None:
    return await IdTag.get_or_none(tag=tag)


async def vehicle_by_vin(vin: str) -> Vehicle | None:
    return await Vehicle.get_or_none(vin=vin)


async def ensure_vehicle(vin: str) -> Vehicle:
    found, _ = await Vehicle.get_or_create(vin=vin)
    return found


async def enroll_vehicle(vin: str, plate: str | None) -> Vehicle:
    """Enroll for VIN charging: the car may have been seen (recorded, not enrolled) before."""
    vehicle, created = await Vehicle.get_or_create(vin=vin, defaults={"plate": plate, "vin_charging": True})
    if not created:
        await Vehicle.filter(id=vehicle.id).update(vin_charging=True, plate=plate or vehicle.plate)
        await vehicle.refresh_from_db()
    return vehicle


async def session(session_id: int) -> ChargingSession | None:
    return await ChargingSession.get_or_none(id=session_id)


async def session_for_update(session_id: int) -> ChargingSession | None:
    return await ChargingSession.filter(id=session_id).select_for_update().first()


async def pile_transaction_for_update(charge_point_id: str, pile_transaction_id: str) -> ChargingSession | None:
    return (
        await ChargingSession.filter(charge_point_id=charge_point_id, pile_transaction_id=pile_transaction_id)
        .select_for_update()
        .first()
    )


async def pile_transaction(charge_point_id: str, pile_transaction_id: str) -> ChargingSession | None:
    return await ChargingSession.get_or_none(charge_point_id=charge_point_id, pile_transaction_id=pile_transaction_id)


async def sessions_by_ids(ids: list[int]) -> list[ChargingSession]:
    return await ChargingSession.filter(id__in=ids)


async def same_start(
    charge_point_id: str, connector_id: int, started_at: datetime, meter_start_wh: int
) -> ChargingSession | None:
    return await ChargingSession.get_or_none(
        charge_point_id=charge_point_id,
        connector_id=connector_id,
        started_at=started_at,
        meter_start_wh=meter_start_wh,
    )


async def active_on_connector(charge_point_id: str, connector_id: int) -> ChargingSession | None:
    return (
        await ChargingSession.filter(
            charge_point_id=charge_point_id, connector_id=connector_id, status=SessionStatus.ACTIVE
        )
        .order_by("-id")
        .first()
    )


async def active_on_connectors(charge_point_id: str, connector_id: int) -> list[ChargingSession]:
    return await ChargingSession.filter(
        charge_point_id=charge_point_id, connector_id=connector_id, status=SessionStatus.ACTIVE
    )


async def create_session(**values: Any) -> ChargingSession:
    return await ChargingSession.create(**values)


async def update_session(session_id: int, **values: Any) -> None:
    await ChargingSession.filter(id=session_id).update(**values)


async def close_session(session_id: int, expect: dict[str, Any], **values: Any) -> bool:
    """Close an active session only if it still is active and still has the ``expect``ed values (a conditional
    update: of two nodes or two reports closing it at once, one does); True if this call closed it."""
    conditions = {f"{k}__isnull" if v is None else k: True if v is None else v for k, v in expect.items()}
    return await ChargingSession.filter(id=session_id, status=SessionStatus.ACTIVE, **conditions).update(**values) == 1


async def correct_closed(session_id: int, closed_as: str, **values: Any) -> bool:
    """Replace the stop figures of a session we closed by a rule (``closed_as``) with the pile's own, once."""
    return await ChargingSession.filter(
        id=session_id, status=SessionStatus.COMPLETED, stop_reason=closed_as
    ).update(**values) == 1


async def latest_register(session_id: int) -> int | None:
    """The session's latest stored energy register reading (samples stored after it closed included)."""
    found = await MeterSample.filter(session_id=session_id, energy_wh__isnull=False).order_by("-ts", "-id").first()
    return found.energy_wh if found is not None else None


async def silent_sessions(cutoff: datetime, batch: int = 1000) -> list[ChargingSession]:
    """Active sessions last heard of before ``cutoff``: received (``last_heard_at``, our clock; the opening for
    sessions stored before it was kept) and last sampled before it. Read by connector, through the
    (connector_id, status) index, so the sweep never scans the whole history."""
    connector_ids = await Connector.all().order_by("id").values_list("id", flat=True)
    heard_before = Q(Q(last_sample_at__isnull=True) | Q(last_sample_at__lte=cutoff)) & Q(
        Q(last_heard_at__lte=cutoff) | Q(last_heard_at__isnull=True, created_at__lte=cutoff)
    )
    found: list[ChargingSession] = []
    for start in range(0, len(connector_ids), batch):
        found += await ChargingSession.filter(
            heard_before, connector_id__in=list(connector_ids[start:start + batch]), status=SessionStatus.ACTIVE,
        )
    return found


async def latest_phase_at(session_ids: list[int]) -> dict[int, datetime]:
    if not session_ids:
        return {}
    latest: dict[int, datetime] = {}
    for session_id, at in await SessionPhaseChange.filter(session_id__in=session_ids).values_list("session_id", "at"):
        if session_id not in latest or at > latest[session_id]:
            latest[session_id] = at
    return latest


async def add_phase(session_id: int, phase: ChargingPhase, at: datetime, source: str) -> None:
    await SessionPhaseChange.create(session_id=session_id, phase=phase, at=at, source=source)


async def phases(session_ids: list[int]) -> list[SessionPhaseChange]:
    return await SessionPhaseChange.filter(session_id__in=session_ids).order_by("session_id", "at", "id")


async def history(flt: SessionFilter, before_id: int | None, limit: int) -> list[ChargingSession]:
    """Newest first; ``before_id`` is the keyset cursor (ids grow with start order on one node)."""
    query = ChargingSession.all()
    if flt.visible is not None and not flt.visible.everything:
        scope = Q(id=-1)
        if flt.visible.station_ids:
            scope |= Q(station_id__in=list(flt.visible.station_ids))
        if flt.visible.id_tags:
            scope |= Q(id_tag__in=list(flt.visible.id_tags)) | Q(vin__in=list(flt.visible.id_tags))
        query = query.filter(scope)
    if flt.station_id is not None:
        query = query.filter(station_id=flt.station_id)
    if flt.charge_point_id is not None:
        query = query.filter(charge_point_id=flt.charge_point_id)
    if flt.id_tag is not None:
        query = query.filter(id_tag=flt.id_tag)
    if flt.vin is not None:
        query = query.filter(vin=flt.vin)
    if flt.vehicle_id is not None:
        query = query.filter(vehicle_id=flt.vehicle_id)
    if flt.status is not None:
        query = query.filter(status=flt.status)
    if flt.started_from is not None:
        query = query.filter(started_at__gte=flt.started_from)
    if flt.started_to is not None:
        query = query.filter(started_at__lt=flt.started_to)
    if before_id is not None:
        query = query.filter(id__lt=before_id)
    return await query.order_by("-id").limit(limit)


async def active_for_connectors(connector_ids: list[int]) -> list[ChargingSession]:
    return await ChargingSession.filter(connector_id__in=connector_ids, status=SessionStatus.ACTIVE)


async def vehicles_by_ids(ids: list[int]) -> list[Vehicle]:
    return await Vehicle.filter(id__in=ids)


async def sessions_for_tag_since(charge_point_id: str, id_tag: str, since: datetime) -> list[ChargingSession]:
    # a 2.0.1 pile opens its transaction at plug-in, before anyone pays; the tag joins it later
    return await ChargingSession.filter(
        Q(created_at__gte=since) | Q(status=SessionStatus.ACTIVE, pile_transaction_id__isnull=False),
        charge_point_id=charge_point_id, id_tag=id_tag,
    ).order_by("id")


PROGRESS_COLUMNS = (
    "energy_wh", "anomaly", "soc_start_pct", "soc_end_pct", "max_power_w", "last_sample_at", "last_heard_at",
)
"""The running figures metering folds into sessions (``ChargingService.apply_progress_many``)."""


async def update_progress(changes: list[tuple[int, dict[str, Any]]]) -> None:
    """Several sessions' running figures: one statement, run once per session by the driver (``executemany``),
    so a batch of samples costs one round trip instead of one ORM update per session. A column a session's
    changes leave out (or set to None) keeps its stored value (``COALESCE``): progress never clears a figure."""
    if not changes:
        return
    db = ChargingSession._meta.db
    mark = "%s" if db.capabilities.dialect == "mysql" else "?"
    assignments = ", ".join(f"{column} = COALESCE({mark}, {column})" for column in PROGRESS_COLUMNS)
    query = f"UPDATE charging_session SET {assignments} WHERE id = {mark}"
    await db.execute_many(query, [[values.get(c) for c in PROGRESS_COLUMNS] + [session_id]
                                  for session_id, values in changes])
