"""Live session updates, driven by the bus (no polling)."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from api.charging.events import SessionEnded, SessionPhaseChanged
from api.core.bus import channels
from api.graphql.charging.types import (
    MeterSample,
    SessionClosed,
    SessionCostUpdated,
    SessionPhaseEntered,
    SessionSampleRecorded,
    SessionUpdate,
)
from api.graphql.charging.queries import require_visible
from api.graphql.context import Info
from api.graphql.errors import maps_domain_errors, parse_int_id
from api.metering.events import MeterSampleRecorded
from api.orders.events import SessionCostChanged
from api.models.enums import SessionStatus


async def _check(info: Info, session_id: strawberry.ID) -> int:
    await info.context.require_viewer()
    number = parse_int_id(session_id, "session")
    await require_visible(info, await info.context.services.charging.get(number))
    return number


@strawberry.type
class ChargingSubscriptions:
    @strawberry.subscription(
        description="Each stored sample, each phase change, then the end of one session (after which it completes)."
    )
    async def session_updates(self, info: Info, session_id: strawberry.ID) -> AsyncGenerator[SessionUpdate, None]:
        number = await maps_domain_errors(_check)(info, session_id)
        if info.context.probe:
            return  # allowed: the subscriber joins the shared stream of this session (api/graphql/fanout.py)
        services = info.context.services
        async with services.bus.subscribe(channels.session(number)) as events:
            # Subscribed first, then read: an end that commits in between is still seen.
            session = await services.charging.get(number)
            if session.status == SessionStatus.COMPLETED:
                yield SessionClosed(
                    session_id=strawberry.ID(str(number)),
                    stop_reason=session.stop_reason or "",
                    energy_wh=session.energy_wh,
                    at=session.stopped_at or session.started_at,
                )
                return
            async for event in events:
                if isinstance(event, MeterSampleRecorded):
                    yield SessionSampleRecorded(
                        session_id=strawberry.ID(str(number)),
                        sample=MeterSample(
                            at=event.ts,
                            context=event.context,
                            energy_wh=event.energy_wh,
                            power_w=event.power_w,
                            current_ma=event.current_ma,
                            voltage_mv=event.voltage_mv,
                            soc_pct=event.soc_pct,
                            temperature_decic=event.temperature_decic,
                        ),
                        session_energy_wh=event.session_energy_wh,
                    )
                elif isinstance(event, SessionCostChanged):
                    yield SessionCostUpdated(
                        session_id=strawberry.ID(str(number)), order_id=strawberry.ID(str(event.order_id)),
                        cost_fen=event.cost_fen, cap_fen=event.cap_fen, energy_wh=event.energy_wh,
                    )
                elif isinstance(event, SessionPhaseChanged):
                    yield SessionPhaseEntered(
                        session_id=strawberry.ID(str(number)), phase=event.phase, at=event.at, source=event.source
                    )
                elif isinstance(event, SessionEnded):
                    yield SessionClosed(
                        session_id=strawberry.ID(str(number)),
                        stop_reason=event.stop_reason,
                        energy_wh=event.energy_wh,
                        at=event.at,
                    )
                    return
