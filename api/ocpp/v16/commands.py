"""Protocol-neutral commands as OCPP 1.6 calls, and the pile's answers as command results."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ocpp.v16 import call, datatypes
from ocpp.v16.enums import (
    AuthorizationStatus,
    AvailabilityType,
    ChargingProfileKindType,
    ChargingProfilePurposeType,
    ChargingRateUnitType,
    MessageTrigger,
    ResetType,
    UpdateType,
)

from api.commands.dto import (
    CancelReservation,
    ChangeAvailability,
    ChangeConfiguration,
    ClearCache,
    Command,
    CommandResult,
    ConfigurationKey,
    GetBaseReport,
    GetConfiguration,
    GetDiagnostics,
    GetLocalListVersion,
    LocalListEntry,
    Outcome,
    RemoteStart,
    RemoteStop,
    ReserveNow,
    Reset,
    SendLocalList,
    SetBasicAuthPassword,
    TriggerMessage,
    UnlockConnector,
    UpdateFirmware,
)

# the status words each answer may carry that mean the pile agreed
AGREED = {
    "RemoteStartTransaction": {"Accepted"},
    "RemoteStopTransaction": {"Accepted"},
    "ChangeAvailability": {"Accepted", "Scheduled"},
    "UnlockConnector": {"Unlocked"},
    "Reset": {"Accepted"},
    "ChangeConfiguration": {"Accepted", "RebootRequired"},
    "ClearCache": {"Accepted"},
    "TriggerMessage": {"Accepted"},
    "ReserveNow": {"Accepted"},
    "CancelReservation": {"Accepted"},
    "SendLocalList": {"Accepted"},
}

REMOTE_START_PROFILE_ID = 16_000
"""A remote start's power limit is the TxProfile with this id plus the connector number (0 when none is
given): the same command always carries the same id, and a later remote start on a connector replaces it."""


def to_call(command: Command) -> Any:
    match command:
        case RemoteStart(id_tag=id_tag, connector_no=connector_no, max_power_w=max_power_w):
            profile = None if max_power_w is None else _tx_power_limit(max_power_w, connector_no)
            return call.RemoteStartTransaction(
                id_tag=id_tag, connector_id=connector_no, charging_profile=profile
            )
        case RemoteStop(transaction_id=transaction_id):
            return call.RemoteStopTransaction(transaction_id=transaction_id)
        case ChangeAvailability(connector_no=connector_no, operative=operative):
            kind = AvailabilityType.operative if operative else AvailabilityType.inoperative
            return call.ChangeAvailability(connector_id=connector_no, type=kind)
        case UnlockConnector(connector_no=connector_no):
            return call.UnlockConnector(connector_id=connector_no)
        case Reset(hard=hard):
            return call.Reset(type=ResetType.hard if hard else ResetType.soft)
        case GetConfiguration(keys=keys):
            return call.GetConfiguration(key=list(keys) or None)
        case GetBaseReport():  # 1.6 has no reports: its whole configuration is the nearest thing
            return call.GetConfiguration()
        case ChangeConfiguration(key=key, value=value):
            return call.ChangeConfiguration(key=key, value=value)
        case SetBasicAuthPassword(password=password):
            # Security Whitepaper ed. 2: AuthorizationKey carries the password's bytes hex-encoded
            return call.ChangeConfiguration(key="AuthorizationKey", value=password.encode("ascii").hex())
        case ClearCache():
            return call.ClearCache()
        case TriggerMessage(message=message, connector_no=connector_no):
            return call.TriggerMessage(requested_message=MessageTrigger(message), connector_id=connector_no)
        case ReserveNow():
            return call.ReserveNow(
                connector_id=command.connector_no,
                expiry_date=_utc(command.expires_at),
                id_tag=command.id_tag,
                reservation_id=command.reservation_id,
                parent_id_tag=command.parent_id_tag,
            )
        case CancelReservation(reservation_id=reservation_id):
            return call.CancelReservation(reservation_id=reservation_id)
        case SendLocalList(list_version=list_version, full=full, entries=entries):
            return call.SendLocalList(
                list_version=list_version,
                update_type=UpdateType.full if full else UpdateType.differential,
                local_authorization_list=[_authorization_data(entry) for entry in entries],
            )
        case GetLocalListVersion():
            return call.GetLocalListVersion()
        case GetDiagnostics():
            return call.GetDiagnostics(
                location=command.location,
                retries=command.retries,
                retry_interval=command.retry_interval_s,
                start_time=_utc(command.start_time) if command.start_time else None,
                stop_time=_utc(command.stop_time) if command.stop_time else None,
            )
        case UpdateFirmware():
            return call.UpdateFirmware(
                location=command.location,
                retrieve_date=_utc(command.retrieve_at),
                retries=command.retries,
                retry_interval=command.retry_interval_s,
            )
    raise TypeError(f"no OCPP 1.6 call for {command!r}")


def interpret(action: str, answer: Any) -> CommandResult:
    match action:
        case "GetConfiguration":
            # the library snake-cases keys inside lists too: entries arrive as {"key", "readonly", "value"?}
            entries = tuple(
                ConfigurationKey(key=entry["key"], value=entry.get("value"), readonly=entry["readonly"])
                for entry in answer.configuration_key or ()
            )
            unknown = tuple(answer.unknown_key or ())
            return CommandResult(Outcome.ACCEPTED, "Accepted", configuration=entries, unknown_keys=unknown)
        case "GetLocalListVersion":
            version = int(answer.list_version)
            if version == -1:
                return CommandResult(Outcome.REJECTED, "NotSupported", "the pile has no local list",
                                     list_version=version)
            if version < -1:
                return CommandResult(Outcome.ERROR, message=f"impossible local list version {version}",
                                     list_version=version)
            return CommandResult(Outcome.ACCEPTED, "Accepted", list_version=version)
        case "GetDiagnostics":
            if answer.file_name:
                return CommandResult(Outcome.ACCEPTED, "Accepted", file_name=answer.file_name)
            return CommandResult(Outcome.REJECTED, "NoDiagnostics", "the pile has no diagnostics to upload")
        case "UpdateFirmware":  # the answer carries nothing: the pile took the request
            return CommandResult(Outcome.ACCEPTED, "Accepted")
    status = str(answer.status)
    outcome = Outcome.ACCEPTED if status in AGREED[action] else Outcome.REJECTED
    return CommandResult(outcome, status)


def _tx_power_limit(max_power_w: int, connector_no: int | None) -> datatypes.ChargingProfile:
    return datatypes.ChargingProfile(
        charging_profile_id=REMOTE_START_PROFILE_ID + (connector_no or 0),
        stack_level=0,
        charging_profile_purpose=ChargingProfilePurposeType.tx_profile,
        charging_profile_kind=ChargingProfileKindType.relative,
        charging_schedule=datatypes.ChargingSchedule(
            charging_rate_unit=ChargingRateUnitType.watts,
            charging_schedule_period=[datatypes.ChargingSchedulePeriod(start_period=0, limit=max_power_w)],
        ),
    )


def _authorization_data(entry: LocalListEntry) -> datatypes.AuthorizationData:
    if entry.status is None:  # a differential update without idTagInfo removes the tag
        return datatypes.AuthorizationData(id_tag=entry.id_tag)
    info = datatypes.IdTagInfo(
        status=AuthorizationStatus(entry.status),
        parent_id_tag=entry.parent_id_tag,
        expiry_date=_utc(entry.expires_at) if entry.expires_at else None,
    )
    return datatypes.AuthorizationData(id_tag=entry.id_tag, id_tag_info=info)


def _utc(moment: datetime) -> str:
    """RFC 3339 in UTC with ``Z``; milliseconds only when the moment has a fraction of a second."""
    spec = "milliseconds" if moment.microsecond else "seconds"
    return moment.astimezone(UTC).isoformat(timespec=spec).replace("+00:00", "Z")
