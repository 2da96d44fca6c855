"""Charging queries: one session, history with filters and cursor pagination, comparison."""

from __future__ import annotations

import base64
import dataclasses
from datetime import datetime

import strawberry

from api.access.errors import Forbidden
from api.charging.dto import SessionFilter
from api.core.clock import as_utc
from api.core.errors import InvalidInput
from api.graphql.charging.types import (
    ChargingSession,
    ComparedSession,
    PageInfo,
    SessionComparison,
    SessionConnection,
    SessionEdge,
    series_of,
)
from api.graphql.context import Info
from api.graphql.enums import Measurand, SessionStatus
from api.graphql.errors import maps_domain_errors, parse_int_id
from api.models import ChargingSession as ChargingSessionModel

MAX_PAGE = 100


@strawberry.input
class SessionFilterInput:
    station_id: strawberry.ID | None = None
    charge_point_id: strawberry.ID | None = None
    id_tag: str | None = None
    vin: str | None = None
    vehicle_id: strawberry.ID | None = None
    status: SessionStatus | None = None
    started_from: datetime | None = strawberry.field(default=None, description="Inclusive.")
    started_to: datetime | None = strawberry.field(default=None, description="Exclusive.")

    def to_domain(self) -> SessionFilter:
        return SessionFilter(
            station_id=parse_int_id(self.station_id, "station") if self.station_id is not None else None,
            charge_point_id=str(self.charge_point_id) if self.charge_point_id is not None else None,
            id_tag=self.id_tag,
            vin=self.vin,
            vehicle_id=parse_int_id(self.vehicle_id, "vehicle") if self.vehicle_id is not None else None,
            status=self.status,
            started_from=as_utc(self.started_from) if self.started_from else None,
            started_to=as_utc(self.started_to) if self.started_to else None,
        )


async def require_visible(info: Info, session: ChargingSessionModel) -> None:
    if not (await info.context.session_visibility()).allows(session.station_id, session.id_tag, session.vin):
        viewer = await info.context.require_viewer()
        raise Forbidden(
            f"{viewer.name} ({viewer.describe()}) may not read session {session.id}: it is neither theirs nor at "
            "a station they look after"
        )


def encode_cursor(session_id: int) -> str:
    return base64.urlsafe_b64encode(f"session:{session_id}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    try:
        kind, _, number = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        if kind == "session":
            return int(number)
    except ValueError:
        pass
    raise InvalidInput(f"cursor {cursor!r} was not issued by this API")


@strawberry.type
class ChargingQueries:
    @strawberry.field
    @maps_domain_errors
    async def session(self, info: Info, id: strawberry.ID) -> ChargingSession | None:
        """One session: the driver's own, a fleet's, or one at a station the viewer looks after."""
        await info.context.require_viewer()
        found = await info.context.services.charging.find(parse_int_id(id, "session"))
        if found is not None:
            await require_visible(info, found)
        return ChargingSession(model=found) if found else None

    @strawberry.field(description="Sessions, newest first.")
    @maps_domain_errors
    async def sessions(
        self,
        info: Info,
        filter: SessionFilterInput | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> SessionConnection:
        if not 1 <= first <= MAX_PAGE:
            raise InvalidInput(f"first must be between 1 and {MAX_PAGE}")
        await info.context.require_viewer()
        flt = filter.to_domain() if filter else SessionFilter()
        flt = dataclasses.replace(flt, visible=await info.context.session_visibility())
        before_id = decode_cursor(after) if after else None
        rows = await info.context.services.charging.history(flt, before_id, first + 1)
        page = rows[:first]
        edges = [SessionEdge(cursor=encode_cursor(s.id), node=ChargingSession(model=s)) for s in page]
        return SessionConnection(
            edges=edges,
            page_info=PageInfo(has_next_page=len(rows) > first, end_cursor=edges[-1].cursor if edges else None),
        )

    @strawberry.field(description="Compare sessions on one axis measured from each session's start.")
    @maps_domain_errors
    async def session_comparison(
        self, info: Info, ids: list[strawberry.ID], measurand: Measurand = Measurand.POWER_W, max_points: int = 300
    ) -> SessionComparison:
        await info.context.require_viewer()
        wanted = [parse_int_id(i, "session") for i in ids]
        found = {s.id: s for s in await info.context.services.charging.sessions_by_ids(wanted)}
        missing = [i for i in wanted if i not in found]
        if missing:
            raise InvalidInput(f"sessions {missing} do not exist")
        for session in found.values():
            await require_visible(info, session)
        width, compared = await info.context.services.metering.compare(
            [found[i] for i in wanted], measurand.value, max_points
        )
        return SessionComparison(
            bucket_seconds=width,
            measurand=measurand,
            sessions=[
                ComparedSession(session=ChargingSession(model=s), series=series_of(buckets, measurand.value))
                for s, buckets in compared
            ],
        )
