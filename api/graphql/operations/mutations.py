"""Mutations that drive piles. Each checks the caller's scope in the domain, is audited, and returns the
pile's answer as a typed result; a refused caller gets an UNAUTHENTICATED or FORBIDDEN error and nothing is sent."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from api.commands import dto
from api.core.errors import InvalidInput
from api.graphql.context import Info
from api.graphql.errors import maps_domain_errors, parse_int_id
from api.graphql.operations.types import (
    ChargePointPasswordResult,
    ChargePointSecurity,
    CommandResult,
    ConfigurationKey,
    ConfigurationReport,
    ConfigurationResult,
    LocalListEntryInput,
    LocalListVersionResult,
    ReservationResult,
    StationAvailabilityResult,
    TriggerableMessage,
)


async def _send(info: Info, charge_point_id: strawberry.ID, command: dto.Command) -> dto.CommandResult:
    viewer = await info.context.viewer()
    return await info.context.services.operations.send(viewer, str(charge_point_id), command)


def _entry(value: LocalListEntryInput) -> dto.LocalListEntry:
    # a time without an offset is refused by the command check (InvalidInput), before anything is sent
    return dto.LocalListEntry(
        value.id_tag, value.status.value if value.status else None, value.expires_at, value.parent_id_tag
    )


@strawberry.type
class OperationsMutations:
    @strawberry.mutation(description="Start charging remotely (OCPP RemoteStartTransaction).")
    @maps_domain_errors
    async def remote_start(
        self, info: Info, charge_point_id: strawberry.ID, id_tag: str, connector_no: int | None = None,
        max_power_w: Annotated[
            int | None, strawberry.argument(description="Limit this transaction's power (a TxProfile profile).")
        ] = None,
    ) -> CommandResult:
        result = await _send(info, charge_point_id, dto.RemoteStart(id_tag, connector_no, max_power_w))
        return CommandResult.of(str(charge_point_id), result)

    @strawberry.mutation(description="Stop a running session remotely (OCPP RemoteStopTransaction).")
    @maps_domain_errors
    async def stop_session(self, info: Info, session_id: strawberry.ID) -> CommandResult:
        done = await info.context.services.operations.stop_session(
            await info.context.viewer(), parse_int_id(session_id, "session")
        )
        return CommandResult.of(done.charge_point_id, done.result)

    @strawberry.mutation(description="Lock (operative=false) or unlock one connector; kept and re-applied after boots.")
    @maps_domain_errors
    async def set_connector_availability(
        self, info: Info, charge_point_id: strawberry.ID, connector_no: int, operative: bool
    ) -> CommandResult:
        if connector_no < 1:
            raise InvalidInput("connectorNo is 1 or more (use setChargePointAvailability for the whole pile)")
        result = await _send(info, charge_point_id, dto.ChangeAvailability(connector_no, operative))
        return CommandResult.of(str(charge_point_id), result)

    @strawberry.mutation(description="Lock or unlock a whole pile; kept and re-applied after boots.")
    @maps_domain_errors
    async def set_charge_point_availability(
        self, info: Info, charge_point_id: strawberry.ID, operative: bool
    ) -> CommandResult:
        result = await _send(info, charge_point_id, dto.ChangeAvailability(0, operative))
        return CommandResult.of(str(charge_point_id), result)

    @strawberry.mutation(description="Lock or unlock every pile of a station; offline piles follow when they boot.")
    @maps_domain_errors
    async def set_station_availability(
        self, info: Info, station_id: strawberry.ID, operative: bool
    ) -> StationAvailabilityResult:
        number = parse_int_id(station_id, "station")
        results = await info.context.services.operations.set_station_availability(
            await info.context.viewer(), number, operative
        )
        return StationAvailabilityResult(
            station_id=station_id, operative=operative,
            piles=[CommandResult.of(r.charge_point_id, r.result) for r in results],
        )

    @strawberry.mutation(description="Release the cable of a connector (OCPP UnlockConnector).")
    @maps_domain_errors
    async def unlock_connector(self, info: Info, charge_point_id: strawberry.ID, connector_no: int) -> CommandResult:
        result = await _send(info, charge_point_id, dto.UnlockConnector(connector_no))
        return CommandResult.of(str(charge_point_id), result)

    @strawberry.mutation(description="Reboot a pile: soft (after ending transactions) or hard.")
    @maps_domain_errors
    async def reset_charge_point(self, info: Info, charge_point_id: strawberry.ID, hard: bool = False) -> CommandResult:
        result = await _send(info, charge_point_id, dto.Reset(hard))
        return CommandResult.of(str(charge_point_id), result)

    @strawberry.mutation(description="Read a pile's configuration (all keys when none are given; then it is kept).")
    @maps_domain_errors
    async def read_configuration(
        self, info: Info, charge_point_id: strawberry.ID, keys: list[str] | None = None,
        report: Annotated[ConfigurationReport | None, strawberry.argument(
            description="Instead of keys: ask for a whole report (OCPP 2.0.1 GetBaseReport, answered in parts; "
                        "a 1.6 pile gives all its keys). It is kept, as arriving parts are.")] = None,
    ) -> ConfigurationResult:
        if report is not None and keys:
            raise InvalidInput("ask for keys or for a report, not both")
        command: dto.Command = dto.GetConfiguration(tuple(keys or ()))
        if report is not None:
            command = dto.GetBaseReport(full=report == ConfigurationReport.FULL)
        result = await _send(info, charge_point_id, command)
        return ConfigurationResult(
            result=CommandResult.of(str(charge_point_id), result),
            keys=[ConfigurationKey(key=c.key, value=c.value, readonly=c.readonly) for c in result.configuration],
            unknown_keys=list(result.unknown_keys),
        )

    @strawberry.mutation(description="Change a configuration key; it is kept and re-applied after boots.")
    @maps_domain_errors
    async def change_configuration(
        self, info: Info, charge_point_id: strawberry.ID, key: str, value: str
    ) -> CommandResult:
        result = await _send(info, charge_point_id, dto.ChangeConfiguration(key, value))
        return CommandResult.of(str(charge_point_id), result)

    @strawberry.mutation(
        description="Stop re-applying a configuration key after boots (e.g. one the pile rejects); nothing is sent."
    )
    @maps_domain_errors
    async def forget_desired_configuration(self, info: Info, charge_point_id: strawberry.ID, key: str) -> bool:
        return await info.context.services.operations.forget_configuration(
            await info.context.viewer(), str(charge_point_id), key
        )

    @strawberry.mutation(description="Empty a pile's authorization cache (OCPP ClearCache).")
    @maps_domain_errors
    async def clear_authorization_cache(self, info: Info, charge_point_id: strawberry.ID) -> CommandResult:
        result = await _send(info, charge_point_id, dto.ClearCache())
        return CommandResult.of(str(charge_point_id), result)

    @strawberry.mutation(description="Ask a pile to send a message now (OCPP TriggerMessage).")
    @maps_domain_errors
    async def trigger_message(
        self, info: Info, charge_point_id: strawberry.ID, message: TriggerableMessage, connector_no: int | None = None
    ) -> CommandResult:
        result = await _send(info, charge_point_id, dto.TriggerMessage(message.value, connector_no))
        return CommandResult.of(str(charge_point_id), result)

    @strawberry.mutation(description="Hold a connector (0: any) for a card until expiresAt (OCPP ReserveNow).")
    @maps_domain_errors
    async def reserve_connector(
        self, info: Info, charge_point_id: strawberry.ID, connector_no: int, id_tag: str, expires_at: datetime
    ) -> ReservationResult:
        reservation_id, result = await info.context.services.operations.reserve(
            await info.context.viewer(), str(charge_point_id), connector_no, id_tag, expires_at
        )
        return ReservationResult(
            reservation_id=strawberry.ID(str(reservation_id)) if reservation_id is not None else None,
            result=CommandResult.of(str(charge_point_id), result),
        )

    @strawberry.mutation(description="Cancel a reservation (OCPP CancelReservation).")
    @maps_domain_errors
    async def cancel_reservation(self, info: Info, reservation_id: strawberry.ID) -> CommandResult:
        done = await info.context.services.operations.cancel_reservation(
            await info.context.viewer(), parse_int_id(reservation_id, "reservation")
        )
        return CommandResult.of(done.charge_point_id, done.result)

    @strawberry.mutation(description="Send a pile a local authorization list (full, or a differential update).")
    @maps_domain_errors
    async def send_local_list(
        self, info: Info, charge_point_id: strawberry.ID, list_version: int, full: bool,
        entries: list[LocalListEntryInput],
    ) -> CommandResult:
        command = dto.SendLocalList(list_version, full, tuple(_entry(e) for e in entries))
        result = await _send(info, charge_point_id, command)
        return CommandResult.of(str(charge_point_id), result)

    @strawberry.mutation(description="Ask which version of the local authorization list a pile holds.")
    @maps_domain_errors
    async def read_local_list_version(self, info: Info, charge_point_id: strawberry.ID) -> LocalListVersionResult:
        result = await _send(info, charge_point_id, dto.GetLocalListVersion())
        return LocalListVersionResult(
            result=CommandResult.of(str(charge_point_id), result), list_version=result.list_version
        )

    @strawberry.mutation(
        description="Give a pile a new HTTP Basic auth password (OCPP 1.6 AuthorizationKey, hex-encoded; 2.0.1 "
        "SecurityCtrlr.BasicAuthPassword). Null: a random one is generated and returned once. It is stored, "
        "hashed, only when the pile accepts it; until then the old one keeps working."
    )
    @maps_domain_errors
    async def set_charge_point_password(
        self, info: Info, charge_point_id: strawberry.ID, password: str | None = None,
        apply_on_pile: Annotated[
            bool, strawberry.argument(description="False: only store it (a pile configured by hand); nothing is sent.")
        ] = True,
    ) -> ChargePointPasswordResult:
        change = await info.context.services.operations.set_password(
            await info.context.viewer(), str(charge_point_id), password, apply_on_pile=apply_on_pile
        )
        return ChargePointPasswordResult(
            charge_point_id=charge_point_id, stored=change.stored, password=change.password,
            result=CommandResult.of(str(charge_point_id), change.result) if change.result is not None else None,
        )

    @strawberry.mutation(
        description="Set the OCPP security profile a pile must meet at its next handshakes (operator admins). "
        "Profiles 1 and 2 need a password first; 2 and 3 need TLS (wss://). Configure the pile to match."
    )
    @maps_domain_errors
    async def set_charge_point_security_profile(
        self, info: Info, charge_point_id: strawberry.ID, profile: int
    ) -> ChargePointSecurity:
        pile = await info.context.services.operations.set_security_profile(
            await info.context.viewer(), str(charge_point_id), profile
        )
        return ChargePointSecurity(
            charge_point_id=strawberry.ID(pile.id), security_profile=pile.security_profile,
            has_password=pile.password_hash is not None, password_changed_at=pile.password_changed_at,
        )
