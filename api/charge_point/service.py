"""Charge point use cases: admission at the handshake (security profiles, passwords), connection, boot,
heartbeat and status."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from api.charge_point import repository, rules
from api.charge_point.dto import (
    Admission,
    BootInfo,
    BootResult,
    DesiredAvailability,
    DesiredState,
    HandshakeProof,
    PasswordVerifier,
    StatusReport,
)
from api.charge_point.errors import (
    ChargePointRejected,
    PileNotAuthenticated,
    RefusalReason,
    UnknownChargePoint,
    UnknownConnector,
)
from api.charge_point.events import ChargePointConnectionChanged, ConnectorStatusChanged
from api.core.bus import channels
from api.core.clock import Clock, as_utc, clamp_reported
from api.core.db import UnitOfWork
from api.core.errors import InvalidInput
from api.models import ChargePoint, ChargePointEvent, Connector, DesiredConfiguration, Reservation
from api.models.enums import Availability, ConnectorType, RegistrationStatus

log = logging.getLogger(__name__)


class ChargePointService:
    password_grace_s: int = 300
    """After a pile accepted a new password, its previous one still opens a connection for this long, or until
    the pile first connects with the new one (a pile answering RebootRequired switches only after a reboot)."""

    def __init__(
        self, uow: UnitOfWork, clock: Clock, *, auto_register: bool, heartbeat_interval_s: int, node: str = "",
        default_security_profile: int = 0,
    ) -> None:
        self.uow = uow
        self.clock = clock
        self.auto_register = auto_register
        self.default_security_profile = default_security_profile
        """The profile of piles an operator gave none of their own (CHARGEOPS_OCPP_DEFAULT_SECURITY_PROFILE)."""
        self.heartbeat_interval_s = heartbeat_interval_s
        self.node = node
        """This node's name: recorded on the piles it holds."""

    async def admit(
        self, charge_point_id: str, proof: HandshakeProof | None = None, verify: PasswordVerifier | None = None
    ) -> Admission:
        """Decide at the WebSocket handshake whether this identity may connect (DESIGN §4): it must be
        registered (or auto-registration on), not rejected, and show what its security profile asks for.
        Raises a ChargePointError saying why not; ``verify`` checks a password against its hash."""
        found = await repository.get(charge_point_id)
        created = False
        if found is None:
            if not self.auto_register:
                raise UnknownChargePoint(f"charge point {charge_point_id!r} is not registered")
            # registered even when the default profile refuses it below (it has no password yet): the operator
            # then sees it, with the refusal as its SecurityEvent, and can give it a password
            found, created = await repository.create_pending(charge_point_id)
            log.info("auto-registered charge point %s as pending", charge_point_id)
        elif found.registration_status == RegistrationStatus.REJECTED:
            raise ChargePointRejected(f"charge point {charge_point_id!r} is rejected")
        await self._authenticate(found, proof or HandshakeProof(), verify)
        return Admission(charge_point_id, found.registration_status, created)

    def effective_profile(self, cp: ChargePoint) -> int:
        """The security profile ``cp`` must meet at its handshakes: its own, else the deployment's default."""
        return rules.effective_profile(cp.security_profile, self.default_security_profile)

    async def _authenticate(self, cp: ChargePoint, proof: HandshakeProof, verify: PasswordVerifier | None) -> None:
        profile = self.effective_profile(cp)
        refusal = rules.handshake_refusal(cp.id, profile, cp.password_hash is not None, proof)
        if refusal is not None:
            raise refusal
        if profile == 3 or cp.password_hash is None:
            return
        assert proof.password is not None  # the rules refuse a missing password
        if verify is not None and await verify(cp.password_hash, proof.password):
            if cp.previous_password_hash is not None:  # it has switched: the old password is done
                await repository.drop_previous_password(cp.id, cp.previous_password_hash)
            return
        until = cp.previous_password_until
        if (
            verify is not None and cp.previous_password_hash is not None and until is not None
            and self.clock.now() < as_utc(until) and await verify(cp.previous_password_hash, proof.password)
        ):
            log.info("%s connected with its previous password (until %s)", cp.id, until.isoformat())
            return
        raise PileNotAuthenticated(RefusalReason.WRONG_CREDENTIALS, "wrong user name or password")

    async def record_security_event(self, charge_point_id: str, reason: str, details: dict[str, Any]) -> None:
        """Keep a refused handshake of a registered pile as its ``SecurityEvent``."""
        await repository.add_event(charge_point_id, "SecurityEvent", {"reason": reason, **details})

    async def set_password_hash(self, charge_point_id: str, password_hash: str) -> None:
        """The pile now uses a new password; the one it replaces stays valid for ``password_grace_s``."""
        cp = await self._require(charge_point_id)
        now = self.clock.now()
        keep_previous = cp.password_hash is not None and self.password_grace_s > 0
        await repository.update(
            cp.id, password_hash=password_hash, password_changed_at=now,
            previous_password_hash=cp.password_hash if keep_previous else None,
            previous_password_until=now + timedelta(seconds=self.password_grace_s) if keep_previous else None,
        )

    async def set_security_profile(self, charge_point_id: str, profile: int) -> ChargePoint:
        """Require ``profile`` at the pile's next handshakes (the open connection stays)."""
        if profile not in rules.PROFILES:
            raise InvalidInput(f"security profile {profile} does not exist (0, 1, 2 or 3)")
        if profile == 0 and self.default_security_profile > 0:
            raise InvalidInput(
                f"this deployment requires security profile {self.default_security_profile} or more of every pile "
                "(CHARGEOPS_OCPP_DEFAULT_SECURITY_PROFILE); profile 0 is a development setting"
            )
        cp = await self._require(charge_point_id)
        if profile in rules.PASSWORD_PROFILES and cp.password_hash is None:
            raise InvalidInput(
                f"{charge_point_id} has no password yet: set one (setChargePointPassword) before profile {profile}"
            )
        await repository.update(cp.id, security_profile=profile)
        return await self._require(charge_point_id)

    async def connected(self, charge_point_id: str, protocol: str) -> None:
        now = self.clock.now()
        async with self.uow.begin() as outbox:
            await repository.update(
                charge_point_id, online=True, node=self.node, protocol=protocol, connected_at=now, last_seen_at=now
            )
            cp = await self._require(charge_point_id)
            outbox.publish(
                channels.charge_point(charge_point_id),
                ChargePointConnectionChanged(charge_point_id, cp.station_id, True, now),
            )

    async def disconnected(self, charge_point_id: str) -> None:
        now = self.clock.now()
        async with self.uow.begin() as outbox:
            if not await repository.mark_offline_if_held_by(charge_point_id, self.node, last_seen_at=now):
                return  # it reconnected to another node meanwhile
            cp = await repository.get(charge_point_id)
            if cp is not None:
                outbox.publish(
                    channels.charge_point(charge_point_id),
                    ChargePointConnectionChanged(charge_point_id, cp.station_id, False, now),
                )

    async def mark_all_offline(self) -> int:
        """At start-up of the only node no pile is connected yet."""
        return await repository.mark_all_offline()

    async def holder(self, charge_point_id: str) -> str | None:
        """The node holding the pile's socket, if it is online."""
        return await repository.holder(charge_point_id)

    async def nodes_holding_piles(self) -> list[str]:
        return await repository.online_nodes()

    async def release_dead_nodes(self, nodes: list[str]) -> int:
        """Piles held by nodes that stopped (their liveness expired) are offline, with an event each."""
        now = self.clock.now()
        async with self.uow.begin() as outbox:
            released = await repository.mark_offline_held_by(nodes)
            for charge_point_id, station_id in released:
                outbox.publish(
                    channels.charge_point(charge_point_id),
                    ChargePointConnectionChanged(charge_point_id, station_id, False, now),
                )
        return len(released)

    async def boot(self, charge_point_id: str, info: BootInfo) -> BootResult:
        now = self.clock.now()
        cp = await self._require(charge_point_id)
        values: dict[str, Any] = {
            "vendor": info.vendor,
            "model": info.model,
            "serial_number": info.serial_number,
            "firmware_version": info.firmware_version,
            "iccid": info.iccid,
            "imsi": info.imsi,
            "meter_type": info.meter_type,
            "meter_serial_number": info.meter_serial_number,
            "last_seen_at": now,
        }
        if cp.registration_status == RegistrationStatus.ACCEPTED:
            values["booted_at"] = now
        await repository.update(charge_point_id, **values)
        return BootResult(cp.registration_status, self.heartbeat_interval_s, now)

    async def heartbeat(self, charge_point_id: str) -> datetime:
        now = self.clock.now()
        await repository.touch(charge_point_id, now)
        return now

    async def report_status(self, report: StatusReport) -> ConnectorStatusChanged:
        """Store a connector's (or, for connector 0, the pile's) status and publish the change."""
        now = self.clock.now()
        at = clamp_reported(report.at, now)
        async with self.uow.begin() as outbox:
            cp = await self._require(report.charge_point_id)
            connector_id: int | None = None
            if report.connector_no == 0:
                await repository.update(
                    cp.id, status=report.status, error_code=report.error_code, last_seen_at=now
                )
            else:
                connector = await repository.ensure_connector(cp.id, report.connector_no)
                connector_id = connector.id
                await repository.update_connector(
                    connector.id,
                    status=report.status,
                    error_code=report.error_code,
                    info=report.info,
                    vendor_error_code=report.vendor_error_code,
                    status_at=at,
                    status_received_at=now,
                )
                await repository.touch(cp.id, now)
            event = ConnectorStatusChanged(
                cp.id, cp.station_id, connector_id, report.connector_no, report.status, report.error_code, at
            )
            outbox.publish(channels.charge_point(cp.id), event)
            if cp.station_id is not None:
                outbox.publish(channels.station(cp.station_id), event)
        return event

    async def record_event(self, charge_point_id: str, kind: str, payload: dict[str, Any]) -> None:
        """Keep what a pile reported outside sessions (DataTransfer, firmware/diagnostics status)."""
        async with self.uow.begin():
            await repository.add_event(charge_point_id, kind, payload)
            if kind == "FirmwareStatusNotification":
                await repository.update(charge_point_id, firmware_status=str(payload.get("status", "")))
            elif kind == "DiagnosticsStatusNotification":
                await repository.update(charge_point_id, diagnostics_status=str(payload.get("status", "")))

    async def register(
        self, charge_point_id: str, station_id: int | None, connectors: list[tuple[ConnectorType, int]]
    ) -> ChargePoint:
        """Register an accepted pile with its connectors (numbered from 1) as (type, max power W)."""
        async with self.uow.begin():
            cp = await repository.create(charge_point_id, station_id)
            for number, (kind, max_power_w) in enumerate(connectors, start=1):
                await repository.create_connector(cp.id, number, kind, max_power_w)
        return cp

    async def connector(self, charge_point_id: str, connector_no: int) -> Connector:
        found = await repository.connector(charge_point_id, connector_no)
        if found is None:
            raise UnknownConnector(f"charge point {charge_point_id!r} has no connector {connector_no}")
        return found

    async def ensure_connector(self, charge_point_id: str, connector_no: int) -> Connector:
        return await repository.ensure_connector(charge_point_id, connector_no)

    async def get(self, charge_point_id: str) -> ChargePoint:
        return await self._require(charge_point_id)

    async def find(self, charge_point_id: str) -> ChargePoint | None:
        return await repository.get(charge_point_id)

    async def list_by_ids(self, ids: list[str]) -> list[ChargePoint]:
        return await repository.list_by_ids(ids)

    async def list_for_stations(self, station_ids: list[int]) -> list[ChargePoint]:
        return await repository.list_for_stations(station_ids)

    async def connectors_for(self, charge_point_ids: list[str]) -> list[Connector]:
        return await repository.connectors_for(charge_point_ids)

    async def connectors_by_ids(self, connector_ids: list[int]) -> list[Connector]:
        return await repository.connectors_by_ids(connector_ids)

    async def events(self, charge_point_id: str, limit: int = 50) -> list[ChargePointEvent]:
        return await repository.events(charge_point_id, limit)

    # -- desired state (what operators want; re-applied after every boot) -----------------------------

    async def set_desired_availability(
        self, charge_point_id: str, connector_no: int, availability: Availability
    ) -> None:
        """Record what operators want; it counts as not applied until the pile agrees."""
        cp = await self._require(charge_point_id)
        if connector_no == 0:
            await repository.update(cp.id, desired_availability=availability, availability_applied=False)
            return
        connector = await repository.connector(cp.id, connector_no)
        if connector is None:
            raise UnknownConnector(f"charge point {charge_point_id!r} has no connector {connector_no}")
        await repository.update_connector(connector.id, desired_availability=availability, availability_applied=False)

    async def note_availability_applied(
        self, charge_point_id: str, connector_no: int, availability: Availability
    ) -> None:
        """The pile agreed to ``availability``; only marks it applied if it is still what is desired."""
        if connector_no == 0:
            await repository.mark_pile_applied(charge_point_id, availability)
        else:
            await repository.mark_connector_applied(charge_point_id, connector_no, availability)

    async def desired_state(self, charge_point_id: str) -> DesiredState:
        cp = await self._require(charge_point_id)
        connectors = await repository.connectors_for([cp.id])
        configuration = await repository.desired_configuration(cp.id)
        return DesiredState(
            cp.id,
            DesiredAvailability(0, Availability(cp.desired_availability), cp.availability_applied),
            tuple(
                DesiredAvailability(c.connector_no, Availability(c.desired_availability), c.availability_applied)
                for c in connectors
            ),
            tuple((d.key, d.value) for d in configuration),
        )

    async def set_desired_configuration(self, charge_point_id: str, key: str, value: str) -> None:
        await self._require(charge_point_id)
        await repository.set_desired_configuration(charge_point_id, key, value)

    async def forget_desired_configuration(self, charge_point_id: str, key: str) -> bool:
        """Stop re-applying ``key`` after boots (the pile keeps whatever it has); False if it was not desired."""
        return await repository.delete_desired_configuration(charge_point_id, key) > 0

    async def note_configuration_result(self, charge_point_id: str, key: str, value: str, status: str) -> None:
        """The pile's answer to ChangeConfiguration(key, value); a stale value is left alone."""
        applied = self.clock.now() if status in ("Accepted", "RebootRequired") else None
        await repository.note_configuration(charge_point_id, key, value, status, applied)

    async def desired_configuration_for(self, charge_point_ids: list[str]) -> list[DesiredConfiguration]:
        return await repository.desired_configuration_for(charge_point_ids)

    async def store_reported_configuration(self, charge_point_id: str, entries: list[dict[str, Any]]) -> None:
        await repository.update(
            charge_point_id, reported_configuration=entries, reported_configuration_at=self.clock.now()
        )

    # -- reservations --------------------------------------------------------------------------------

    async def create_reservation(
        self, charge_point_id: str, connector_no: int, id_tag: str, expires_at: datetime, created_by_id: int | None
    ) -> Reservation:
        await self._require(charge_point_id)
        if connector_no != 0:
            await self.connector(charge_point_id, connector_no)
        return await repository.create_reservation(
            charge_point_id=charge_point_id, connector_no=connector_no, id_tag=id_tag, expires_at=expires_at,
            created_by_id=created_by_id,
        )

    async def reservation(self, reservation_id: int) -> Reservation | None:
        return await repository.reservation(reservation_id)

    async def set_reservation_status(self, reservation_id: int, status: str) -> None:
        await repository.update_reservation(reservation_id, status=status)

    async def _require(self, charge_point_id: str) -> ChargePoint:
        found = await repository.get(charge_point_id)
        if found is None:
            raise UnknownChargePoint(f"charge point {charge_point_id!r} is not registered")
        return found
