"""Charging session use cases: authorize, start, follow the DC phases and the vehicle, stop.

Every method stores what the pile reported before it returns, so the adapter acknowledges only
durable data; events go out after commit.

Closing is a conditional update (only an active session closes, once), so two reports, or two nodes'
sweeps, closing the same session at once close it once. Sessions a pile never closes are closed by the
sweep (``close_stale``): silent for the stale time while their connector is reported Available
(``StaleClosed``) or after their pile booted (``PileRebooted``), with an event on the pile. The pile's own
late stop still wins: it replaces the figures of a session we closed by a rule (``rules.CLOSED_BY_RULE``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from api.charge_point.service import ChargePointService
from api.charging import repository, rules
from api.charging.dto import (
    Authorization,
    AuthorizationStatus,
    PileTransactionReport,
    PileTransactionResult,
    PileTransactionStage,
    Refusal,
    StartResult,
    TransactionStart,
    TransactionStop,
    VehicleReport,
)
from api.charging.errors import SessionNotFound
from api.charging.events import SessionEnded, SessionPhaseChanged, SessionStarted
from api.charging.dto import SessionFilter
from api.core.bus import channels
from api.core.clock import Clock, clamp_reported
from api.core.db import Outbox, UnitOfWork
from api.core.errors import InvalidInput
from api.core.vehicle_ids import is_vin
from api.models import ChargePoint, ChargingSession, Connector, SessionPhaseChange, Vehicle
from api.policy.dto import Credential, Verdict
from api.policy.service import PolicyService
from api.models.enums import ChargingPhase, ConnectorStatus, IdTagStatus, SessionStatus

log = logging.getLogger(__name__)

SUPERSEDED = rules.SUPERSEDED

NO_ID_TAG = "none"
"""``id_tag_status`` of a session whose pile has named no id tag yet (2.0.1: a transaction may begin when
the cable is plugged in, before anyone is authorized)."""


class ChargingService:
    def __init__(
        self, uow: UnitOfWork, clock: Clock, charge_points: ChargePointService, policies: PolicyService
    ) -> None:
        self.uow = uow
        self.policies = policies
        self.clock = clock
        self.charge_points = charge_points

    # -- authorization -------------------------------------------------------------------------------

    async def authorize(
        self, id_tag: str, charge_point_id: str | None = None, *, log_refusal: bool = True
    ) -> Authorization:
        """The card's own status, then (at a pile) the access policy of the pile's station.

        A refusal by the policy is logged as the pile's ``AccessRefused`` event, so an operator can see why
        a driver could not charge."""
        tag = await repository.id_tag(id_tag)
        if tag is None:
            vehicle = await repository.vehicle_by_vin(id_tag) if is_vin(id_tag) else None
            if vehicle is None or not vehicle.vin_charging:
                return Authorization(AuthorizationStatus.INVALID, reason="unknown id tag")
            own = Authorization(AuthorizationStatus.ACCEPTED)
            who = Credential(id_tag, vehicle.owner_id, None)
        elif tag.status == IdTagStatus.BLOCKED:
            return Authorization(AuthorizationStatus.BLOCKED, parent_tag=tag.parent_tag, reason="the card is blocked")
        elif tag.status == IdTagStatus.EXPIRED or (tag.expires_at is not None and tag.expires_at <= self.clock.now()):
            return Authorization(AuthorizationStatus.EXPIRED, tag.expires_at, tag.parent_tag, "the card has expired")
        else:
            own = Authorization(AuthorizationStatus.ACCEPTED, tag.expires_at, tag.parent_tag)
            who = Credential(id_tag, tag.user_id, tag.fleet_id)
        if charge_point_id is None:
            return own
        cp = await self.charge_points.find(charge_point_id)
        if cp is None or cp.station_id is None:
            return own
        decision = await self.policies.decide(cp.station_id, who)
        if decision.admitted:
            return own
        status = AuthorizationStatus.BLOCKED if decision.verdict == Verdict.BLOCKED else AuthorizationStatus.INVALID
        if log_refusal:
            await self.charge_points.record_event(
                charge_point_id, "AccessRefused",
                {"idTag": id_tag, "status": status.value, "mode": decision.mode.value, "reason": decision.reason},
            )
        refusal = None
        if decision.verdict == Verdict.NOT_ADMITTED:
            refusal = Refusal.TIME if decision.other_times else Refusal.LOCATION
        return Authorization(status, own.expires_at, own.parent_tag, decision.reason, refusal)

    async def register_vehicle(self, vin: str, plate: str | None = None) -> Vehicle:
        """Enroll a car for VIN charging (即插即充): its VIN is then accepted like a card."""
        if not is_vin(vin):
            raise InvalidInput(f"{vin!r} is not a VIN (17 characters, no I, O or Q)")
        return await repository.enroll_vehicle(vin, plate)

    # -- transaction lifecycle -----------------------------------------------------------------------

    async def start(self, request: TransactionStart) -> StartResult:
        now = self.clock.now()
        started_at = clamp_reported(request.timestamp, now)
        authorization = await self.authorize(request.id_tag, request.charge_point_id)
        cp = await self.charge_points.get(request.charge_point_id)
        connector = await self.charge_points.ensure_connector(cp.id, request.connector_no)
        async with self.uow.begin() as outbox:
            existing = await repository.same_start(cp.id, connector.id, started_at, request.meter_start_wh)
            if existing is not None:
                # The pile did not get our answer and sent the same StartTransaction again.
                await repository.update_session(existing.id, last_heard_at=now)
                return StartResult(existing.id, authorization, duplicate=True)
            for stale in await repository.active_on_connectors(cp.id, connector.id):
                await self._close(stale, stale.meter_start_wh + stale.energy_wh, started_at, SUPERSEDED, None, outbox)
            vin = request.id_tag if is_vin(request.id_tag) else None
            vehicle: Vehicle | None = await repository.ensure_vehicle(vin) if vin else None
            phase = rules.initial_phase(connector.kind)
            session = await repository.create_session(
                charge_point_id=cp.id,
                connector_id=connector.id,
                station_id=cp.station_id,
                id_tag=request.id_tag,
                id_tag_status=authorization.status.value,
                vehicle_id=vehicle.id if vehicle else None,
                vin=vin,
                started_at=started_at,
                meter_start_wh=request.meter_start_wh,
                reservation_id=request.reservation_id,
                phase=phase,
                last_heard_at=now,
            )
            await repository.add_phase(session.id, phase, started_at, "transaction")
            started = SessionStarted(
                session.id, cp.id, request.connector_no, cp.station_id, request.id_tag, started_at
            )
            self._publish(outbox, session.id, started)
            self._publish(outbox, session.id, SessionPhaseChanged(session.id, phase, started_at, "transaction"))
        return StartResult(session.id, authorization, duplicate=False)

    async def stop(self, request: TransactionStop) -> Authorization | None:
        """Close the session. Unknown or foreign transaction ids are accepted and logged: the pile must be
        allowed to delete its record, and we must not close someone else's session."""
        now = self.clock.now()
        stopped_at = clamp_reported(request.timestamp, now)
        async with self.uow.begin() as outbox:
            session = await repository.session_for_update(request.transaction_id)
            if session is not None and session.charge_point_id == request.charge_point_id:
                await repository.update_session(session.id, last_heard_at=now)
            if session is None or session.charge_point_id != request.charge_point_id:
                log.warning(
                    "%s stopped unknown transaction %s", request.charge_point_id, request.transaction_id
                )
                await self.charge_points.record_event(
                    request.charge_point_id,
                    "UnknownTransactionStop",
                    {"transactionId": request.transaction_id, "meterStop": request.meter_stop_wh},
                )
            elif session.status == SessionStatus.ACTIVE:
                await self._close(
                    session, request.meter_stop_wh, stopped_at, request.reason, request.id_tag, outbox
                )
            elif session.stop_reason in rules.CLOSED_BY_RULE:
                await self._correct(
                    session, request.meter_stop_wh, stopped_at, request.reason, request.id_tag, outbox
                )
        if request.id_tag is None:
            return None
        return await self.authorize(request.id_tag)

    async def _close(
        self,
        session: ChargingSession,
        meter_stop_wh: int,
        stopped_at: datetime,
        reason: str,
        stop_id_tag: str | None,
        outbox: Outbox,
        expect: dict[str, object] | None = None,
    ) -> bool:
        """Close an active session (and, with ``expect``, only if those values are unchanged); False if it was
        closed meanwhile or changed."""
        anomaly = session.anomaly
        if meter_stop_wh < session.meter_start_wh:
            anomaly = "meter_stop_below_start"
        energy_wh = max(0, meter_stop_wh - session.meter_start_wh)
        if stopped_at < session.started_at:
            stopped_at = session.started_at
        closed = await repository.close_session(
            session.id,
            expect or {},
            status=SessionStatus.COMPLETED,
            stopped_at=stopped_at,
            meter_stop_wh=meter_stop_wh,
            energy_wh=energy_wh,
            stop_reason=reason,
            stop_id_tag=stop_id_tag,
            phase=ChargingPhase.ENDED,
            anomaly=anomaly,
        )
        if not closed:
            return False
        for phase in (ChargingPhase.ENDING, ChargingPhase.ENDED):
            if rules.advance(session.phase, phase) is not None:
                await repository.add_phase(session.id, phase, stopped_at, "transaction")
                self._publish(outbox, session.id, SessionPhaseChanged(session.id, phase, stopped_at, "transaction"))
                session.phase = phase
        session.status, session.stop_reason, session.energy_wh = SessionStatus.COMPLETED, reason, energy_wh
        self._publish(outbox, session.id, SessionEnded(session.id, reason, energy_wh, stopped_at))
        return True

    async def _correct(
        self,
        session: ChargingSession,
        meter_stop_wh: int,
        stopped_at: datetime,
        reason: str,
        stop_id_tag: str | None,
        outbox: Outbox,
    ) -> None:
        """The pile's own late stop of a session we closed by a rule: its figures replace ours, once (a
        retransmission finds the pile's reason, not ours, and changes nothing). The correction is an event of
        the pile, so an operator sees that the session's figures changed after it closed."""
        closed_as = session.stop_reason or ""
        anomaly = "meter_stop_below_start" if meter_stop_wh < session.meter_start_wh else session.anomaly
        energy_wh = max(0, meter_stop_wh - session.meter_start_wh)
        stopped_at = max(stopped_at, session.started_at)
        if not await repository.correct_closed(
            session.id, closed_as, stopped_at=stopped_at, meter_stop_wh=meter_stop_wh, energy_wh=energy_wh,
            stop_reason=reason, stop_id_tag=stop_id_tag, anomaly=anomaly,
        ):
            return
        await self.charge_points.record_event(session.charge_point_id, "LateTransactionStop", {
            "sessionId": session.id, "closedAs": closed_as, "reason": reason, "meterStopWh": meter_stop_wh,
            "energyWh": energy_wh, "closedWithEnergyWh": session.energy_wh, "stoppedAt": stopped_at.isoformat(),
        })
        log.info("%s: late stop of session %s (closed as %s) corrected it to %s Wh",
                 session.charge_point_id, session.id, closed_as, energy_wh)
        self._publish(outbox, session.id, SessionEnded(session.id, reason, energy_wh, stopped_at))

    # -- sessions a pile never closes ----------------------------------------------------------------

    async def close_stale(self, stale_after_s: int, now: datetime | None = None) -> int:
        """Close the active sessions nothing was heard of for ``stale_after_s`` whose connector is reported
        Available or whose pile booted since (``rules.stale_close_reason``); returns how many this call closed.
        Safe to run on several nodes at once: each close is conditional on the session being unchanged since it
        was read.

        "Heard of" is ``last_heard_at``, when we received the session's last message, on our clock: a pile
        whose clock is hours behind would otherwise look silent at once, one hours ahead never. Its last
        sample's time counts too (clamped to when it was received, so at most minutes ahead of ours): a sample
        stored by a path that does not touch ``last_heard_at`` still keeps the session. Sessions without one
        (stored before it was kept) fall back to their opening, samples and phases. The session is closed as of
        its last evidence of charging (its last sample, say), on the pile's timeline."""
        now = now or self.clock.now()
        cutoff = now - timedelta(seconds=stale_after_s)
        candidates = await repository.silent_sessions(cutoff)
        if not candidates:
            return 0
        connectors = {
            c.id: c for c in await self.charge_points.connectors_by_ids(list({s.connector_id for s in candidates}))
        }
        piles = {p.id: p for p in await self.charge_points.list_by_ids(list({s.charge_point_id for s in candidates}))}
        phases = await repository.latest_phase_at([s.id for s in candidates])
        closed = 0
        for session in candidates:
            connector, cp = connectors.get(session.connector_id), piles.get(session.charge_point_id)
            # the pile's timeline (its start, samples and phases) for the close, ours for the rule
            evidence = max(t for t in (session.started_at, session.last_sample_at, phases.get(session.id)) if t)
            received = (
                (session.last_heard_at,) if session.last_heard_at else (session.created_at, phases.get(session.id))
            )
            heard = max(t for t in (*received, session.last_sample_at) if t)
            # when we received the connector's last report (our clock, like booted_at and last_heard_at);
            # the pile's own time only for reports stored before we kept that
            status_at = (connector.status_received_at or connector.status_at) if connector else None
            reason = rules.stale_close_reason(
                heard, connector.status if connector else None, status_at, cp.booted_at if cp else None, cutoff
            )
            if reason is not None and await self._close_silent(session, reason, evidence, stale_after_s):
                closed += 1
        return closed

    async def _close_silent(self, session: ChargingSession, reason: str, heard: datetime, stale_after_s: int) -> bool:
        """Closed as of ``heard``, the last evidence that it charged (its last sample, say), not as of when we
        last received something of it: the order is billed for the time it charged."""
        async with self.uow.begin() as outbox:
            # unchanged since read: a message, a sample or a phase stored meanwhile keeps the session open
            unchanged = {"last_sample_at": session.last_sample_at, "energy_wh": session.energy_wh,
                         "phase": session.phase, "last_heard_at": session.last_heard_at}
            stop = session.meter_start_wh + session.energy_wh
            if not await self._close(session, stop, heard, reason, None, outbox, expect=unchanged):
                return False
            received = session.last_heard_at.isoformat() if session.last_heard_at else None
            await self.charge_points.record_event(session.charge_point_id, "SessionClosedByRule", {
                "sessionId": session.id, "reason": reason, "lastHeardAt": heard.isoformat(),
                "lastReceivedAt": received, "staleAfterS": stale_after_s, "energyWh": session.energy_wh,
            })
        log.info("%s: session %s closed as %s (nothing heard since %s)", session.charge_point_id, session.id,
                 reason, heard.isoformat())
        return True

    async def sweep_forever(self, stale_after_s: int, interval_s: float) -> None:
        """Every node runs this for its lifetime (see ``close_stale``: running it twice closes nothing twice)."""
        while True:
            try:
                await self.close_stale(stale_after_s)
            except Exception:  # one failed round must not stop the sweep for good
                log.exception("session sweep failed")
            await asyncio.sleep(interval_s)

    # -- transactions whose ids the pile chooses (OCPP 2.0.1) -----------------------------------------

    async def track(self, report: PileTransactionReport) -> PileTransactionResult:
        """Find or open the session of the pile's transaction and fold in what this report says (id tag,
        connector, DC phase, VIN). Reports arrive late, with gaps or twice: whichever comes first opens the
        session, the others merge into it. An ended report does not close it here: store its samples, then
        call ``end``, so the session's last figures are in before it closes."""
        now = self.clock.now()
        at = clamp_reported(report.at, now)
        authorization = None
        if report.id_tag is not None:
            authorization = await self.authorize(report.id_tag, report.charge_point_id)
        cp = await self.charge_points.get(report.charge_point_id)
        connector = None
        if report.connector_no is not None:
            connector = await self.charge_points.ensure_connector(cp.id, report.connector_no)
        async with self.uow.begin() as outbox:
            session = await repository.pile_transaction_for_update(cp.id, report.pile_transaction_id)
            created = session is None
            if session is None:
                session = await self._open_pile_transaction(cp, connector, report, at, now, authorization, outbox)
            else:
                await self._merge_pile_transaction(session, connector, report, at, now, authorization)
            if report.phase is not None:
                await self._advance(session, report.phase, at, "status", outbox)
        return PileTransactionResult(session.id, authorization, created)

    async def end(
        self, charge_point_id: str, pile_transaction_id: str, meter_stop_wh: int | None, at: datetime,
        reason: str, stop_id_tag: str | None,
    ) -> None:
        """Close the session of the pile's transaction (once: a repeated end changes nothing). Without a stop
        reading, the latest stored register is the stop reading."""
        now = self.clock.now()
        stopped_at = clamp_reported(at, now)
        async with self.uow.begin() as outbox:
            session = await repository.pile_transaction_for_update(charge_point_id, pile_transaction_id)
            if session is None:
                return
            await repository.update_session(session.id, last_heard_at=now)
            stop = meter_stop_wh if meter_stop_wh is not None else session.meter_start_wh + session.energy_wh
            if session.status == SessionStatus.ACTIVE:
                await self._close(session, stop, stopped_at, reason, stop_id_tag, outbox)
            elif session.stop_reason in rules.CLOSED_BY_RULE:
                if meter_stop_wh is None:  # the latest register stored, late samples included
                    stop = max(session.meter_start_wh + session.energy_wh, await self._latest_register(session))
                await self._correct(session, stop, stopped_at, reason, stop_id_tag, outbox)

    async def _latest_register(self, session: ChargingSession) -> int:
        latest = await repository.latest_register(session.id)
        return latest if latest is not None else session.meter_start_wh

    async def find_pile_transaction(self, charge_point_id: str, pile_transaction_id: str) -> ChargingSession | None:
        return await repository.pile_transaction(charge_point_id, pile_transaction_id)

    async def _open_pile_transaction(
        self, cp: ChargePoint, connector: Connector | None, report: PileTransactionReport, at: datetime,
        now: datetime, authorization: Authorization | None, outbox: Outbox,
    ) -> ChargingSession:
        if connector is None:
            # authorized before the cable was plugged in: on the pile's first connector until a report names one
            numbers = sorted(c.connector_no for c in await self.charge_points.connectors_for([cp.id]))
            connector = await self.charge_points.ensure_connector(cp.id, numbers[0] if numbers else 1)
        else:
            for stale in await repository.active_on_connectors(cp.id, connector.id):
                await self._close(stale, stale.meter_start_wh + stale.energy_wh, at, SUPERSEDED, None, outbox)
        id_tag = report.id_tag or ""
        vin = id_tag if is_vin(id_tag) else report.vin if is_vin(report.vin) else None
        vehicle = await repository.ensure_vehicle(vin) if vin else None
        phase = rules.initial_phase(connector.kind)
        session = await repository.create_session(
            charge_point_id=cp.id,
            connector_id=connector.id,
            station_id=cp.station_id,
            pile_transaction_id=report.pile_transaction_id,
            id_tag=id_tag,
            id_tag_status=authorization.status.value if authorization else NO_ID_TAG,
            vehicle_id=vehicle.id if vehicle else None,
            vin=vin,
            started_at=at,
            meter_start_wh=report.register_first_wh if report.register_first_wh is not None else 0,
            reservation_id=report.reservation_id,
            phase=phase,
            last_heard_at=now,
        )
        await repository.add_phase(session.id, phase, at, "transaction")
        started = SessionStarted(session.id, cp.id, connector.connector_no, cp.station_id, id_tag, at)
        self._publish(outbox, session.id, started)
        self._publish(outbox, session.id, SessionPhaseChanged(session.id, phase, at, "transaction"))
        return session

    async def _merge_pile_transaction(
        self, session: ChargingSession, connector: Connector | None, report: PileTransactionReport, at: datetime,
        now: datetime, authorization: Authorization | None,
    ) -> None:
        values: dict[str, object] = {"last_heard_at": now}
        if report.stage == PileTransactionStage.STARTED and at < session.started_at:
            # the start came after later reports (they opened the session): it knows the real beginning
            values["started_at"] = at
            if report.register_first_wh is not None:  # the latest register known stays what it was
                values["meter_start_wh"] = report.register_first_wh
                latest = session.meter_start_wh + session.energy_wh
                values["energy_wh"] = max(0, latest - report.register_first_wh)
        if connector is not None and connector.id != session.connector_id and session.status == SessionStatus.ACTIVE:
            values["connector_id"] = connector.id  # placed on the first connector before its EVSE was known
        if report.id_tag and not session.id_tag and authorization is not None:
            values.update(id_tag=report.id_tag, id_tag_status=authorization.status.value)
        vin = report.id_tag if is_vin(report.id_tag) else report.vin if is_vin(report.vin) else None
        if vin and session.vin is None:
            vehicle = await repository.ensure_vehicle(vin)
            values.update(vin=vin, vehicle_id=vehicle.id)
        await repository.update_session(session.id, **values)
        for key, value in values.items():
            setattr(session, key, value)

    # -- phases and vehicle --------------------------------------------------------------------------

    async def note_status(self, charge_point_id: str, connector_no: int, status: ConnectorStatus, at: datetime) -> None:
        """A connector status change may move the active session's DC phase forward."""
        candidate = rules.phase_for_status(status)
        if candidate is None or connector_no == 0:
            return
        connector = await self.charge_points.ensure_connector(charge_point_id, connector_no)
        async with self.uow.begin() as outbox:
            session = await repository.active_on_connector(charge_point_id, connector.id)
            if session is not None:
                await self._advance(session, candidate, clamp_reported(at, self.clock.now()), "status", outbox)

    async def vehicle_report(self, report: VehicleReport) -> int | None:
        """Record BMS phase and VIN data forwarded by a pile; returns the session it applied to."""
        async with self.uow.begin() as outbox:
            session = await self._resolve(report.charge_point_id, report.connector_no, report.transaction_id)
            if session is None:
                return None
            now = self.clock.now()
            at = clamp_reported(report.at, now)
            await repository.update_session(session.id, last_heard_at=now)
            if report.vin and is_vin(report.vin) and session.vin != report.vin:
                vehicle = await repository.ensure_vehicle(report.vin)
                await repository.update_session(session.id, vin=report.vin, vehicle_id=vehicle.id)
            await self._advance(session, rules.phase_for_gbt_message(report.message), at, "data_transfer", outbox)
            return session.id

    async def _advance(
        self, session: ChargingSession, candidate: ChargingPhase | None, at: datetime, source: str, outbox: Outbox
    ) -> None:
        if session.status != SessionStatus.ACTIVE or candidate == ChargingPhase.ENDED:
            return
        phase = rules.advance(session.phase, candidate)
        if phase is None:
            return
        await repository.update_session(session.id, phase=phase)
        await repository.add_phase(session.id, phase, at, source)
        session.phase = phase
        self._publish(outbox, session.id, SessionPhaseChanged(session.id, phase, at, source))

    async def _resolve(
        self, charge_point_id: str, connector_no: int | None, transaction_id: int | None
    ) -> ChargingSession | None:
        if transaction_id is not None:
            session = await repository.session(transaction_id)
            if session is not None and session.charge_point_id == charge_point_id:
                return session
            return None
        if connector_no is None or connector_no == 0:
            return None
        connector = await self.charge_points.ensure_connector(charge_point_id, connector_no)
        return await repository.active_on_connector(charge_point_id, connector.id)

    @staticmethod
    def _publish(outbox: Outbox, session_id: int, event: SessionStarted | SessionPhaseChanged | SessionEnded) -> None:
        outbox.publish(channels.session(session_id), event)
        outbox.publish(channels.sessions(), event)

    # -- reads ---------------------------------------------------------------------------------------

    async def get(self, session_id: int) -> ChargingSession:
        found = await repository.session(session_id)
        if found is None:
            raise SessionNotFound(f"session {session_id} does not exist")
        return found

    async def sessions_for_tag_since(self, charge_point_id: str, id_tag: str, since: datetime) -> list[ChargingSession]:
        """Sessions a pile began with ``id_tag`` that reached us at or after ``since`` (our clock, not the
        pile's), and running 2.0.1 transactions that ``id_tag`` joined (opened at plug-in, before the driver
        paid): an order finds its session this way."""
        return await repository.sessions_for_tag_since(charge_point_id, id_tag, since)

    async def find(self, session_id: int) -> ChargingSession | None:
        return await repository.session(session_id)

    async def sessions_by_ids(self, ids: list[int]) -> list[ChargingSession]:
        return await repository.sessions_by_ids(ids)

    async def history(self, flt: SessionFilter, before_id: int | None, limit: int) -> list[ChargingSession]:
        return await repository.history(flt, before_id, limit)

    async def phases(self, session_ids: list[int]) -> list[SessionPhaseChange]:
        return await repository.phases(session_ids)

    async def active_for_connectors(self, connector_ids: list[int]) -> list[ChargingSession]:
        return await repository.active_for_connectors(connector_ids)

    async def vehicles_by_ids(self, ids: list[int]) -> list[Vehicle]:
        return await repository.vehicles_by_ids(ids)

    # -- metering's batches --------------------------------------------------------------------------

    async def resolve_sessions(
        self, keys: Iterable[tuple[str, int, int | None]]
    ) -> dict[tuple[str, int, int | None], ChargingSession | None]:
        """The session each (charge point, connector, transaction) key of a batch of samples belongs to: its
        transaction if it names one of this pile's, else the connector's active session. One query for all the
        keys that name a transaction (the common case), instead of one per sample. Call inside the caller's
        transaction."""
        keys = list(dict.fromkeys(keys))
        named = [key for key in keys if key[2] is not None]
        found = {s.id: s for s in await repository.sessions_by_ids([key[2] for key in named])} if named else {}
        resolved: dict[tuple[str, int, int | None], ChargingSession | None] = {}
        for key in keys:
            if key[2] is None:
                resolved[key] = await self._resolve(*key)
            else:
                session = found.get(key[2])
                resolved[key] = session if session is not None and session.charge_point_id == key[0] else None
        return resolved

    async def apply_progress_many(self, progress: list[tuple[ChargingSession, SessionProgress]]) -> None:
        """Fold what batches of stored samples say into their sessions' running figures (``_progress_values``),
        with one statement for all of them (``repository.update_progress``), and move each one's
        ``last_heard_at`` (when we received the samples, on our clock) forward. Inside the caller's transaction."""
        changes: list[tuple[int, dict[str, object]]] = []
        for session, figures in progress:
            values = _progress_values(session, figures)
            if session.last_heard_at is None or figures.heard_at > session.last_heard_at:
                values["last_heard_at"] = figures.heard_at
            if values:
                changes.append((session.id, values))
                for key, value in values.items():
                    setattr(session, key, value)
        await repository.update_progress(changes)


@dataclass(frozen=True)
class SessionProgress:
    """What a batch of stored samples says about one session (``ChargingService.apply_progress_many``)."""

    last_at: datetime
    """The newest sample's time (the pile's clock, clamped)."""
    energy_register_wh: int | None
    soc_first_pct: int | None
    soc_last_pct: int | None
    max_power_w: int | None
    heard_at: datetime
    """When we received the samples, on our clock."""


def _progress_values(session: ChargingSession, figures: SessionProgress) -> dict[str, object]:
    """The session's columns that ``figures`` move: energy only grows (a register below the start is an
    anomaly, kept for billing to review), the first SoC is kept, power keeps its maximum, the time its newest."""
    values: dict[str, object] = {}
    if session.status == SessionStatus.ACTIVE and figures.energy_register_wh is not None:
        energy = figures.energy_register_wh - session.meter_start_wh
        if energy < 0:
            values["anomaly"] = "register_below_start"
        elif energy > session.energy_wh:
            values["energy_wh"] = energy
    if figures.soc_first_pct is not None and session.soc_start_pct is None:
        values["soc_start_pct"] = figures.soc_first_pct
    if figures.soc_last_pct is not None:
        values["soc_end_pct"] = figures.soc_last_pct
    if figures.max_power_w is not None and figures.max_power_w > session.max_power_w:
        values["max_power_w"] = figures.max_power_w
    if session.last_sample_at is None or figures.last_at > session.last_sample_at:
        values["last_sample_at"] = figures.last_at
    return values
