"""Every query of the audit trail."""

from __future__ import annotations

from typing import Any

from tortoise.expressions import Q

from api.audit.dto import AuditFilter
from api.models import AuditEntry


async def add(**values: Any) -> AuditEntry:
    return await AuditEntry.create(**values)


async def search(
    flt: AuditFilter, everything: bool, station_ids: frozenset[int], operator_ids: frozenset[int],
    before_id: int | None, limit: int,
) -> list[AuditEntry]:
    query = AuditEntry.all()
    if not everything:
        scope = Q(id=-1)
        if station_ids:
            scope |= Q(station_id__in=list(station_ids))
        if operator_ids:
            scope |= Q(operator_id__in=list(operator_ids))
        query = query.filter(scope)
    if flt.station_id is not None:
        query = query.filter(station_id=flt.station_id)
    if flt.charge_point_id is not None:
        query = query.filter(charge_point_id=flt.charge_point_id)
    if flt.actor_id is not None:
        query = query.filter(actor_id=flt.actor_id)
    if flt.action_prefix:
        query = query.filter(action__startswith=flt.action_prefix)
    if flt.outcome is not None:
        query = query.filter(outcome=flt.outcome)
    if flt.from_at is not None:
        query = query.filter(at__gte=flt.from_at)
    if flt.to_at is not None:
        query = query.filter(at__lt=flt.to_at)
    if before_id is not None:
        query = query.filter(id__lt=before_id)
    return await query.order_by("-id").limit(limit)
