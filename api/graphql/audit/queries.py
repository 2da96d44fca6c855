"""The audit trail: every operator action, newest first, filtered and paged."""

from __future__ import annotations

import base64
from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from api.access.dto import Permission
from api.access.errors import Forbidden
from api.audit.dto import AuditFilter
from api.core.clock import as_utc
from api.core.errors import InvalidInput
from api.graphql.context import Info
from api.graphql.errors import maps_domain_errors, parse_int_id
from api.models import AuditEntry as AuditEntryModel

MAX_PAGE = 200


@strawberry.type(description="One operator action: who, when, what, on what, and the pile's answer.")
class AuditEntry:
    id: strawberry.ID
    at: datetime
    actor_id: strawberry.ID | None = strawberry.field(description="Null: the platform itself (e.g. after a boot).")
    actor_name: str
    action: str = strawberry.field(description="e.g. pile.remote_start, station.availability, pile.reapply.")
    station_id: strawberry.ID | None
    charge_point_id: strawberry.ID | None
    target: str
    outcome: str = strawberry.field(description="accepted, rejected, offline, timed_out, error or done.")
    details: JSON
    result: JSON

    @classmethod
    def of(cls, row: AuditEntryModel) -> AuditEntry:
        return cls(
            id=strawberry.ID(str(row.id)), at=row.at,
            actor_id=strawberry.ID(str(row.actor_id)) if row.actor_id is not None else None,
            actor_name=row.actor_name, action=row.action,
            station_id=strawberry.ID(str(row.station_id)) if row.station_id is not None else None,
            charge_point_id=strawberry.ID(row.charge_point_id) if row.charge_point_id else None,
            target=row.target, outcome=row.outcome, details=row.details, result=row.result,
        )


@strawberry.type
class AuditPage:
    entries: list[AuditEntry]
    end_cursor: str | None
    has_next_page: bool


@strawberry.input
class AuditFilterInput:
    station_id: strawberry.ID | None = None
    charge_point_id: strawberry.ID | None = None
    actor_id: strawberry.ID | None = None
    action_prefix: str | None = strawberry.field(default=None, description="'pile.' matches every pile command.")
    outcome: str | None = None
    from_at: datetime | None = strawberry.field(default=None, description="Inclusive.")
    to_at: datetime | None = strawberry.field(default=None, description="Exclusive.")

    def to_domain(self) -> AuditFilter:
        return AuditFilter(
            station_id=parse_int_id(self.station_id, "station") if self.station_id is not None else None,
            charge_point_id=str(self.charge_point_id) if self.charge_point_id is not None else None,
            actor_id=parse_int_id(self.actor_id, "user") if self.actor_id is not None else None,
            action_prefix=self.action_prefix,
            outcome=self.outcome,
            from_at=as_utc(self.from_at) if self.from_at else None,
            to_at=as_utc(self.to_at) if self.to_at else None,
        )


def _cursor(entry_id: int) -> str:
    return base64.urlsafe_b64encode(f"audit:{entry_id}".encode()).decode()


def _decode(cursor: str) -> int:
    try:
        kind, _, number = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        if kind == "audit":
            return int(number)
    except ValueError:
        pass
    raise InvalidInput(f"cursor {cursor!r} was not issued by this API")


@strawberry.type
class AuditQueries:
    @strawberry.field(description="Operator actions the viewer may see (their stations'), newest first.")
    @maps_domain_errors
    async def audit_trail(
        self, info: Info, filter: AuditFilterInput | None = None, first: int = 50, after: str | None = None
    ) -> AuditPage:
        viewer = await info.context.require_viewer()
        if not 1 <= first <= MAX_PAGE:
            raise InvalidInput(f"first must be between 1 and {MAX_PAGE}")
        access = info.context.services.access
        flt = filter.to_domain() if filter else AuditFilter()
        if flt.station_id is not None:
            await access.require_station(viewer, Permission.READ_AUDIT, flt.station_id)
        scope = await access.visibility(viewer, Permission.READ_AUDIT)
        if scope.nothing:
            raise Forbidden(f"{viewer.name} ({viewer.describe()}) may not read the audit trail of any station")
        rows = await info.context.services.audit.search(
            flt,
            everything=scope.everything, station_ids=scope.station_ids, operator_ids=scope.operator_ids,
            before_id=_decode(after) if after else None, limit=first + 1,
        )
        page = rows[:first]
        return AuditPage(
            entries=[AuditEntry.of(r) for r in page],
            end_cursor=_cursor(page[-1].id) if page else None,
            has_next_page=len(rows) > first,
        )
