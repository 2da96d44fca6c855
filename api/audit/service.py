"""Record every operator action (who, when, what, on what, and the answer) and search the trail."""

from __future__ import annotations

import logging

from api.audit import repository
from api.audit.dto import AuditFilter, AuditRecord
from api.core.clock import Clock
from api.core.errors import InvalidInput
from api.models import AuditEntry

log = logging.getLogger(__name__)
MAX_PAGE = 200


class AuditService:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    async def record(self, record: AuditRecord) -> AuditEntry:
        entry = await repository.add(
            at=self.clock.now(),
            actor_id=record.actor.user_id,
            actor_name=record.actor.name[:64],
            action=record.action,
            operator_id=record.operator_id,
            station_id=record.station_id,
            charge_point_id=record.charge_point_id,
            target=record.target[:128],
            details=record.details,
            outcome=record.outcome,
            result=record.result,
        )
        log.info("audit %s by %s on %s: %s", record.action, record.actor.name, record.target, record.outcome)
        return entry

    async def search(
        self, flt: AuditFilter, *, everything: bool, station_ids: frozenset[int], operator_ids: frozenset[int],
        before_id: int | None, limit: int,
    ) -> list[AuditEntry]:
        if not 1 <= limit <= MAX_PAGE + 1:
            raise InvalidInput(f"first must be between 1 and {MAX_PAGE}")
        return await repository.search(flt, everything, station_ids, operator_ids, before_id, limit)
