"""Operator actions on piles: check the actor's scope, keep desired state, send, and audit.

Every mutation that drives a pile goes through here, so the scope check, the desired state and the audit
entry cannot be forgotten by an adapter. Refused actions raise before anything is stored or sent.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from dataclasses import dataclass
from datetime import datetime

from api.access import rules as access_rules
from api.access.dto import Permission, Viewer
from api.access.errors import Forbidden
from api.access.passwords import hash_password
from api.access.service import AccessService, Place, require_viewer
from api.audit.dto import PLATFORM, Actor, AuditRecord
from api.charge_point import rules as pile_rules
from api.charge_point.service import ChargePointService
from api.charging.dto import AuthorizationStatus
from api.charging.service import ChargingService
from api.commands.audited import AuditedSender, PileResult, actor_of, describe
from api.commands.dto import (
    CancelReservation,
    ChangeAvailability,
    ChangeConfiguration,
    Command,
    CommandResult,
    GetBaseReport,
    GetConfiguration,
    GetDiagnostics,
    Outcome,
    RemoteStart,
    RemoteStop,
    ReserveNow,
    SendLocalList,
    SetBasicAuthPassword,
    UpdateFirmware,
)
from api.commands.service import CommandService
from api.commands.station_access import StationAccessService, list_limits
from api.core.clock import Clock, as_utc
from api.core.errors import InvalidInput, NotFound
from api.files.service import FileService
from api.models import ChargePoint
from api.models.enums import Availability, SessionStatus
from api.policy.errors import NotAdmitted

log = logging.getLogger(__name__)

ACTION_NAMES: dict[str, str] = {
    "RemoteStart": "pile.remote_start",
    "RemoteStop": "pile.remote_stop",
    "ChangeAvailability": "pile.availability",
    "UnlockConnector": "pile.unlock_connector",
    "Reset": "pile.reset",
    "GetConfiguration": "pile.get_configuration",
    "GetBaseReport": "pile.get_base_report",
    "ChangeConfiguration": "pile.change_configuration",
    "ClearCache": "pile.clear_cache",
    "TriggerMessage": "pile.trigger_message",
    "ReserveNow": "pile.reserve_now",
    "CancelReservation": "pile.cancel_reservation",
    "SendLocalList": "pile.send_local_list",
    "GetLocalListVersion": "pile.get_local_list_version",
    "GetDiagnostics": "pile.get_diagnostics",
    "UpdateFirmware": "pile.update_firmware",
}

# reading is not operating: these only need the right to read a pile's details
READ_ONLY = ("GetConfiguration", "GetBaseReport", "GetLocalListVersion")
# a local list decides who may charge: managing access, not operating
ACCESS = ("SendLocalList",)
# the pile's Basic auth password: set only through set_password (hashed, never kept in clear or audited)
PASSWORD_KEYS = frozenset({"AuthorizationKey", "SecurityCtrlr.BasicAuthPassword"})


@dataclass(frozen=True)
class PasswordChange:
    result: CommandResult | None
    """The pile's answer to the new password; None when it was only stored (``apply_on_pile=False``)."""
    stored: bool
    """The new password opens the pile's next connections (the previous one for a grace period)."""
    password: str | None
    """A generated password, shown this once: when stored, or when the pile may have taken it (timed out)."""


class OperationsService:
    def __init__(
        self, clock: Clock, access: AccessService, charge_points: ChargePointService, charging: ChargingService,
        commands: CommandService, files: FileService, sender: AuditedSender, station_access: StationAccessService,
    ) -> None:
        self.files = files
        self.clock = clock
        self.access = access
        self.charge_points = charge_points
        self.charging = charging
        self.commands = commands
        self.sender = sender
        self.station_access = station_access

    # -- one command to one pile ---------------------------------------------------------------------

    async def send(self, viewer: Viewer | None, charge_point_id: str, command: Command) -> CommandResult:
        """Check scope, send ``command``, audit the answer. Commands with state of their own have methods below."""
        name = type(command).__name__
        permission = (
            Permission.READ_PILE_DETAILS if name in READ_ONLY
            else Permission.MANAGE_ACCESS if name in ACCESS
            else Permission.OPERATE_PILES
        )
        if isinstance(command, SetBasicAuthPassword) or (
            isinstance(command, ChangeConfiguration) and command.key in PASSWORD_KEYS
        ):
            raise InvalidInput("a pile's password is set with setChargePointPassword (it is stored hashed)")
        place = await self.access.require_charge_point(viewer, permission, charge_point_id)
        actor = actor_of(require_viewer(viewer))
        if isinstance(command, ChangeAvailability):
            return await self._availability(actor, place, command.connector_no, command.operative)
        if isinstance(command, ChangeConfiguration):
            return await self._configure(actor, place, command)
        if isinstance(command, RemoteStart):
            await self._admit(actor, place, command)
        if isinstance(command, SendLocalList):
            await self._check_list_fits(charge_point_id, command)
        result = await self.sender.send(actor, place, command, ACTION_NAMES[name])
        if isinstance(command, SendLocalList):
            await self.station_access.note_sent_by_hand(charge_point_id, command, result)
        if isinstance(command, GetConfiguration | GetBaseReport):
            # AuthorizationKey is write-only (Security Whitepaper); a pile that reports it anyway is not repeated
            result = dataclasses.replace(result, configuration=tuple(
                dataclasses.replace(c, value="(hidden)") if c.key in PASSWORD_KEYS and c.value else c
                for c in result.configuration
            ))
            # (a 2.0.1 report still arriving has no keys yet: its parts are kept as they come)
            whole = isinstance(command, GetBaseReport) and bool(result.configuration)
            if (whole or isinstance(command, GetConfiguration) and not command.keys) and (
                result.outcome == Outcome.ACCEPTED
            ):
                await self.charge_points.store_reported_configuration(
                    charge_point_id,
                    [{"key": c.key, "value": c.value, "readonly": c.readonly} for c in result.configuration],
                )
        return result

    async def _check_list_fits(self, charge_point_id: str, command: SendLocalList) -> None:
        """A list the pile has told us it cannot take is refused before sending (the pile would refuse it, and
        a 2.0.1 pile may take part of it): a full list larger than its list, or more entries than one message
        carries. Unknown limits refuse nothing."""
        capacity, per_message = list_limits((await self.charge_points.get(charge_point_id)).reported_configuration)
        if command.full and capacity is not None and len(command.entries) > capacity:
            raise InvalidInput(f"{charge_point_id} holds at most {capacity} cards in its local list")
        if per_message is not None and len(command.entries) > per_message:
            raise InvalidInput(f"{charge_point_id} takes at most {per_message} local list entries per message")

    async def _admit(self, actor: Actor, place: Place, command: RemoteStart) -> None:
        """A remote start obeys the same rules as a card at the pile: refused (and audited) before sending.

        The connector and the card are read side by side: on SQLite every statement queues for the one
        connection behind whatever ingest has queued (bench/RESULTS.md, "Remote start under ingest load"), and
        two reads asked for at once wait in that queue once, not twice. An unknown connector still wins."""
        self.commands.check(command)
        connector = (
            self.charge_points.connector(place.charge_point_id, command.connector_no)
            if command.connector_no is not None else asyncio.sleep(0)
        )
        _, authorization = await asyncio.gather(
            connector, self.charging.authorize(command.id_tag, place.charge_point_id, log_refusal=False)
        )
        if authorization.status == AuthorizationStatus.ACCEPTED:
            return
        why = authorization.reason or authorization.status.value
        await self.sender.audit.record(AuditRecord(
            actor=actor, action="pile.remote_start", outcome="NOT_ADMITTED", operator_id=place.operator_id or None,
            station_id=place.station_id or None, charge_point_id=place.charge_point_id,
            target=place.charge_point_id, details={"command": "RemoteStart", **describe(command)},
            result={"status": authorization.status.value, "message": why},
        ))
        raise NotAdmitted(f"id tag {command.id_tag} may not charge at station {place.station_id}: {why}")

    async def start_for_order(
        self, actor: Actor, charge_point_id: str, connector_no: int, id_tag: str, order_ref: str
    ) -> CommandResult:
        """Start a paid order's charging. The payment is the permission; the station's access policy still
        applies (NotAdmitted, before anything is sent)."""
        place = await self.access.place_of(charge_point_id)
        command = RemoteStart(id_tag, connector_no)
        await self._admit(actor, place, command)
        return await self.sender.send(actor, place, command, "pile.remote_start", target=order_ref)

    async def stop_for_order(self, actor: Actor, session_id: int, order_ref: str) -> CommandResult:
        """Stop an order's session (its cap is reached, or its driver asked)."""
        session = await self.charging.get(session_id)
        place = await self.access.place_of(session.charge_point_id)
        return await self.sender.send(actor, place, RemoteStop(session_id), "pile.remote_stop", target=order_ref)

    async def stop_session(self, viewer: Viewer | None, session_id: int) -> PileResult:
        session = await self.charging.find(session_id)
        if session is None:
            raise NotFound(f"session {session_id} does not exist")
        place = await self.access.require_charge_point(viewer, Permission.OPERATE_PILES, session.charge_point_id)
        if session.status != SessionStatus.ACTIVE:
            raise InvalidInput(f"session {session_id} has already ended")
        actor = actor_of(require_viewer(viewer))
        result = await self.sender.send(
            actor, place, RemoteStop(session.id), "pile.remote_stop", target=f"session {session_id}"
        )
        return PileResult(place.charge_point_id, result)

    async def reserve(
        self, viewer: Viewer | None, charge_point_id: str, connector_no: int, id_tag: str, expires_at: datetime
    ) -> tuple[int | None, CommandResult]:
        place = await self.access.require_charge_point(viewer, Permission.OPERATE_PILES, charge_point_id)
        viewer = require_viewer(viewer)
        if expires_at.tzinfo is None or expires_at <= self.clock.now():
            raise InvalidInput("a reservation must expire in the future (with a time zone)")
        expires_at = as_utc(expires_at)  # stored: MySQL keeps no offset
        probe = ReserveNow(connector_no, id_tag, expires_at, 1)
        self.commands.check(probe)  # refuse bad arguments before a reservation row exists
        reservation = await self.charge_points.create_reservation(
            charge_point_id, connector_no, id_tag, expires_at, viewer.user_id
        )
        command = dataclasses.replace(probe, reservation_id=reservation.id)
        result = await self.sender.send(actor_of(viewer), place, command, "pile.reserve_now")
        status = "accepted" if result.outcome == Outcome.ACCEPTED else "rejected"
        await self.charge_points.set_reservation_status(reservation.id, status)
        return reservation.id, result

    async def cancel_reservation(self, viewer: Viewer | None, reservation_id: int) -> PileResult:
        reservation = await self.charge_points.reservation(reservation_id)
        if reservation is None:
            raise NotFound(f"reservation {reservation_id} does not exist")
        place = await self.access.require_charge_point(viewer, Permission.OPERATE_PILES, reservation.charge_point_id)
        result = await self.sender.send(
            actor_of(require_viewer(viewer)), place, CancelReservation(reservation_id), "pile.cancel_reservation"
        )
        if result.outcome == Outcome.ACCEPTED:
            await self.charge_points.set_reservation_status(reservation_id, "cancelled")
        return PileResult(place.charge_point_id, result)

    # -- files over HTTP: diagnostics up, firmware down ------------------------------------------------

    async def request_diagnostics(
        self, viewer: Viewer | None, charge_point_id: str, start: datetime | None, stop: datetime | None
    ) -> tuple[CommandResult, datetime]:
        """Ask the pile to upload its diagnostics to a time-limited URL; the upload becomes a station file."""
        place = await self.access.require_charge_point(viewer, Permission.OPERATE_PILES, charge_point_id)
        link = self.files.diagnostics_upload_link(charge_point_id)
        command = GetDiagnostics(link.url, start, stop, retries=3, retry_interval_s=60)
        result = await self.sender.send(
            actor_of(require_viewer(viewer)), place, command, "pile.get_diagnostics", target=charge_point_id
        )
        return result, link.expires_at

    async def update_firmware(
        self, viewer: Viewer | None, charge_point_id: str, file_id: int, retrieve_at: datetime
    ) -> CommandResult:
        """Point the pile at a firmware file of its station through a time-limited download URL."""
        place = await self.access.require_charge_point(viewer, Permission.OPERATE_PILES, charge_point_id)
        if retrieve_at.tzinfo is None:
            raise InvalidInput("retrieveAt needs a time zone")
        link = await self.files.firmware_link(viewer, place.station_id, file_id, retrieve_at)
        command = UpdateFirmware(link.url, retrieve_at, retries=3, retry_interval_s=300)
        return await self.sender.send(
            actor_of(require_viewer(viewer)), place, command, "pile.update_firmware", target=f"file {file_id}"
        )

    # -- availability: a connector, a pile, or a whole station ---------------------------------------

    async def set_station_availability(
        self, viewer: Viewer | None, station_id: int, operative: bool
    ) -> list[PileResult]:
        """Lock (or unlock) every pile of a station; offline piles are locked when they come back."""
        operator_id = await self.access.require_station(viewer, Permission.OPERATE_PILES, station_id)
        actor = actor_of(require_viewer(viewer))
        piles = await self.charge_points.list_for_stations([station_id])
        # all piles at once: one pile that times out must not hold up the others
        answers = await asyncio.gather(
            *(
                self._availability(actor, Place(cp.id, station_id, operator_id), 0, operative,
                                   action="station.availability")
                for cp in piles
            )
        )
        return [PileResult(cp.id, result) for cp, result in zip(piles, answers, strict=True)]

    async def _availability(
        self, actor: Actor, place: Place, connector_no: int, operative: bool, action: str = "pile.availability"
    ) -> CommandResult:
        wanted = Availability.OPERATIVE if operative else Availability.INOPERATIVE
        command = ChangeAvailability(connector_no, operative)
        self.commands.check(command)
        await self.charge_points.set_desired_availability(place.charge_point_id, connector_no, wanted)
        result = await self.sender.send(actor, place, command, action)
        if result.outcome == Outcome.ACCEPTED:
            await self.charge_points.note_availability_applied(place.charge_point_id, connector_no, wanted)
        return result

    # -- configuration -------------------------------------------------------------------------------

    async def _configure(self, actor: Actor, place: Place, command: ChangeConfiguration) -> CommandResult:
        self.commands.check(command)
        await self.charge_points.set_desired_configuration(place.charge_point_id, command.key, command.value)
        result = await self.sender.send(actor, place, command, "pile.change_configuration")
        if result.outcome in (Outcome.ACCEPTED, Outcome.REJECTED):
            await self.charge_points.note_configuration_result(
                place.charge_point_id, command.key, command.value, result.status or ""
            )
        return result

    async def forget_configuration(self, viewer: Viewer | None, charge_point_id: str, key: str) -> bool:
        """Drop a desired configuration value (say, one the pile rejects): it is no longer sent after boots."""
        place = await self.access.require_charge_point(viewer, Permission.OPERATE_PILES, charge_point_id)
        forgotten = await self.charge_points.forget_desired_configuration(charge_point_id, key)
        if not forgotten:
            raise NotFound(f"{key!r} is not a desired configuration key of {charge_point_id}")
        await self.sender.audit.record(AuditRecord(
            actor=actor_of(require_viewer(viewer)), action="pile.forget_configuration", outcome="done",
            operator_id=place.operator_id or None, station_id=place.station_id or None,
            charge_point_id=charge_point_id, target=f"{charge_point_id} {key}", details={"key": key},
        ))
        return True

    # -- security: the pile's password and profile -----------------------------------------------------

    async def set_password(
        self, viewer: Viewer | None, charge_point_id: str, password: str | None, *, apply_on_pile: bool = True
    ) -> PasswordChange:
        """Give the pile a new Basic auth password (a generated one when ``password`` is None). It is sent to
        the pile, and its hash stored only when the pile accepts it: until then the old one keeps working.
        ``apply_on_pile=False`` only stores it (a pile configured by hand, say at installation)."""
        place = await self.access.require_charge_point(viewer, Permission.OPERATE_PILES, charge_point_id)
        actor = actor_of(require_viewer(viewer))
        pile = await self.charge_points.get(charge_point_id)
        generated = password is None
        if password is None:
            password = pile_rules.generate_password(pile.protocol)
        elif problem := pile_rules.password_problem(password, pile.protocol):
            raise InvalidInput(problem)
        password_hash = await hash_password(password)
        if not apply_on_pile:
            await self.charge_points.set_password_hash(charge_point_id, password_hash)
            await self.sender.audit.record(AuditRecord(
                actor=actor, action="pile.set_password", outcome="stored", operator_id=place.operator_id or None,
                station_id=place.station_id or None, charge_point_id=charge_point_id, target=charge_point_id,
                details={"command": "SetBasicAuthPassword", "password": "(hidden)", "applied_on_pile": False},
            ))
            return PasswordChange(None, True, password if generated else None)
        result = await self.sender.send(actor, place, SetBasicAuthPassword(password), "pile.set_password")
        stored = result.outcome == Outcome.ACCEPTED
        if stored:
            await self.charge_points.set_password_hash(charge_point_id, password_hash)
        shown = generated and result.outcome in (Outcome.ACCEPTED, Outcome.TIMED_OUT)
        return PasswordChange(result, stored, password if shown else None)

    async def set_security_profile(self, viewer: Viewer | None, charge_point_id: str, profile: int) -> ChargePoint:
        """Require ``profile`` at the pile's next handshakes. The pile itself is configured apart (1.6
        SecurityProfile, 2.0.1 network profiles); a lower profile is the operator's decision, not a station's."""
        place = await self.access.require_charge_point(viewer, Permission.OPERATE_PILES, charge_point_id)
        actor = require_viewer(viewer)
        if not access_rules.runs_operator(actor, place.operator_id or None):
            raise Forbidden(f"{actor.name} ({actor.describe()}) may not set the security profile of {charge_point_id}: "
                            "operator admins only")
        before = await self.charge_points.get(charge_point_id)
        pile = await self.charge_points.set_security_profile(charge_point_id, profile)
        await self.sender.audit.record(AuditRecord(
            actor=actor_of(actor), action="pile.security_profile", outcome="done",
            operator_id=place.operator_id or None, station_id=place.station_id or None,
            charge_point_id=charge_point_id, target=charge_point_id,
            details={"from": before.security_profile, "to": profile},
        ))
        return pile

    # -- re-applying desired state after a boot ------------------------------------------------------

    async def reapply(self, charge_point_id: str) -> list[CommandResult]:
        """Send a pile what operators want it to be (locks, pending unlocks, changed configuration, and the
        local list its station's access policy calls for)."""
        state = await self.charge_points.desired_state(charge_point_id)
        place = await self.access.place_of(charge_point_id)
        results = []
        for item in state.availability_to_apply():
            operative = item.availability == Availability.OPERATIVE
            result = await self._availability(PLATFORM, place, item.connector_no, operative, action="pile.reapply")
            results.append(result)
            if result.outcome in (Outcome.OFFLINE, Outcome.TIMED_OUT):
                return results  # the pile went away again: the next boot tries again
        for key, value in state.configuration:
            if key in PASSWORD_KEYS:  # kept by hand before passwords were hashed: never re-sent in clear
                log.warning("%s: not re-applying desired %s (use setChargePointPassword)", charge_point_id, key)
                continue
            result = await self._configure(PLATFORM, place, ChangeConfiguration(key, value))
            results.append(result)
            if result.outcome in (Outcome.OFFLINE, Outcome.TIMED_OUT):
                return results
        listed = await self.station_access.after_boot(charge_point_id)
        if listed is not None:
            results.append(listed)
        return results

