"""Protocol-neutral commands as OCPP 2.0.1 calls, and the pile's answers as command results.

The domain's commands speak 1.6 (it came first); here each becomes its 2.0.1 counterpart:

    RemoteStart          RequestStartTransaction (a power limit rides along as a TxProfile)
    RemoteStop           RequestStopTransaction with the pile's own transaction id (the handler finds it)
    ChangeAvailability   ChangeAvailability (operationalStatus; no EVSE for the whole pile)
    Reset                Reset: hard = Immediate, soft = OnIdle
    GetConfiguration     GetVariables       } 1.6 keys through ``CONFIGURATION``, or ``Component.Variable``
    ChangeConfiguration  SetVariables       }
    GetBaseReport        GetBaseReport (ConfigurationInventory or FullInventory); the NotifyReport parts that
                         follow become 1.6-shaped keys through ``report_entries``
    SetBasicAuthPassword SetVariables SecurityCtrlr.BasicAuthPassword (the password in clear, A01)
    GetDiagnostics       GetLog (DiagnosticsLog, uploaded to the same signed URL)
    UpdateFirmware       UpdateFirmware (firmware.location / retrieveDateTime)
    TriggerMessage       TriggerMessage (DiagnosticsStatusNotification = LogStatusNotification)
    SendLocalList, GetLocalListVersion, ReserveNow, CancelReservation, ClearCache, UnlockConnector: the same

Connector numbers become (EVSE, connector) by ``mapping.evse_of``. Id tags go out as idTokens of type
``Central`` for remote starts (the platform started it), and in local lists as ``ISO14443`` cards, or
``Local`` for VINs (how a pile reports a VIN it read from the car, see the handlers).
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ocpp.v201 import call, datatypes

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
from api.core.vehicle_ids import is_vin
from api.ocpp.v201.mapping import evse_of


@dataclass(frozen=True)
class Variable:
    component: str
    name: str
    instance: str | None = None
    readonly: bool = False
    """As 1.6 reports it; GetVariables does not say (write-only variables answer Rejected instead)."""


CONFIGURATION: dict[str, Variable] = {
    "HeartbeatInterval": Variable("OCPPCommCtrlr", "HeartbeatInterval"),
    "WebSocketPingInterval": Variable("OCPPCommCtrlr", "WebSocketPingInterval"),
    "ResetRetries": Variable("OCPPCommCtrlr", "ResetRetries"),
    "TransactionMessageAttempts": Variable("OCPPCommCtrlr", "MessageAttempts", "TransactionEvent"),
    "TransactionMessageRetryInterval": Variable("OCPPCommCtrlr", "MessageAttemptInterval", "TransactionEvent"),
    "UnlockConnectorOnEVSideDisconnect": Variable("OCPPCommCtrlr", "UnlockOnEVSideDisconnect"),
    "MeterValueSampleInterval": Variable("SampledDataCtrlr", "TxUpdatedInterval"),
    "MeterValuesSampledData": Variable("SampledDataCtrlr", "TxUpdatedMeasurands"),
    "StopTxnSampledData": Variable("SampledDataCtrlr", "TxEndedMeasurands"),
    "ClockAlignedDataInterval": Variable("AlignedDataCtrlr", "Interval"),
    "MeterValuesAlignedData": Variable("AlignedDataCtrlr", "Measurands"),
    "StopTxnAlignedData": Variable("AlignedDataCtrlr", "TxEndedMeasurands"),
    "ConnectionTimeOut": Variable("TxCtrlr", "EVConnectionTimeOut"),
    "StopTransactionOnEVSideDisconnect": Variable("TxCtrlr", "StopTxOnEVSideDisconnect"),
    "StopTransactionOnInvalidId": Variable("TxCtrlr", "StopTxOnInvalidId"),
    "MaxEnergyOnInvalidId": Variable("TxCtrlr", "MaxEnergyOnInvalidId"),
    "AuthorizeRemoteTxRequests": Variable("AuthCtrlr", "AuthorizeRemoteStart"),
    "LocalAuthorizeOffline": Variable("AuthCtrlr", "LocalAuthorizeOffline"),
    "LocalPreAuthorize": Variable("AuthCtrlr", "LocalPreAuthorize"),
    "AllowOfflineTxForUnknownId": Variable("AuthCtrlr", "OfflineTxForUnknownIdEnabled"),
    "AuthorizationCacheEnabled": Variable("AuthCacheCtrlr", "Enabled"),
    "LocalAuthListEnabled": Variable("LocalAuthListCtrlr", "Enabled"),
    "SendLocalListMaxLength": Variable("LocalAuthListCtrlr", "ItemsPerMessage", readonly=True),
    "AuthorizationKey": Variable("SecurityCtrlr", "BasicAuthPassword"),
    "GetConfigurationMaxKeys": Variable("DeviceDataCtrlr", "ItemsPerMessage", "GetVariables", readonly=True),
    "ChargeProfileMaxStackLevel": Variable("SmartChargingCtrlr", "ProfileStackLevel", readonly=True),
    "ChargingScheduleMaxPeriods": Variable("SmartChargingCtrlr", "PeriodsPerSchedule", readonly=True),
    "MaxChargingProfilesInstalled": Variable("SmartChargingCtrlr", "Entries", "ChargingProfiles", readonly=True),
}
"""1.6 configuration keys and the 2.0.1 component variables that hold the same setting (OCPP 2.0.1 part 2,
appendix 3). 1.6 keys without a 2.0.1 counterpart (NumberOfConnectors, LocalAuthListMaxLength: a maximum,
which 2.0.1 gives only as a characteristic in reports) are unknown here; any other variable is reached
as ``Component.Variable``."""

TRIGGERS = {"DiagnosticsStatusNotification": "LogStatusNotification"}
"""1.6 trigger names whose 2.0.1 message has another name."""

AGREED = {
    "RequestStartTransaction": {"Accepted"},
    "RequestStopTransaction": {"Accepted"},
    "ChangeAvailability": {"Accepted", "Scheduled"},
    "UnlockConnector": {"Unlocked"},
    "Reset": {"Accepted", "Scheduled"},
    "ClearCache": {"Accepted"},
    "TriggerMessage": {"Accepted"},
    "ReserveNow": {"Accepted"},
    "CancelReservation": {"Accepted"},
    "SendLocalList": {"Accepted"},
    "UpdateFirmware": {"Accepted", "AcceptedCanceled"},
    "GetLog": {"Accepted", "AcceptedCanceled"},
    "SetVariables": {"Accepted", "RebootRequired"},
    "GetBaseReport": {"Accepted"},
}

REMOTE_START_PROFILE_ID = 16_000
"""As for 1.6: the TxProfile of a remote start's power limit has this id plus the connector number."""

UNKNOWN_VARIABLE = frozenset({"UnknownComponent", "UnknownVariable", "NotSupportedAttributeType"})

_request_ids = itertools.count(int(time.time()) % 1_000_000_000)
"""remoteStartId / requestId of our requests: distinct within this process, and unlikely to repeat across
restarts (they only tie the pile's later reports to the request)."""


def request_id() -> int:
    return next(_request_ids)


def to_call(command: Command, pile_transaction_id: str | None = None) -> Any:
    """The 2.0.1 call for ``command``, or a CommandResult when there is nothing to send. A RemoteStop
    needs the pile's id of the transaction (``pile_transaction_id``)."""
    match command:
        case RemoteStart(id_tag=id_tag, connector_no=connector_no, max_power_w=max_power_w):
            profile = None if max_power_w is None else _tx_power_limit(max_power_w, connector_no)
            return call.RequestStartTransaction(
                id_token=_token(id_tag, "Central"),
                remote_start_id=request_id(),
                evse_id=evse_of(connector_no)[0] if connector_no else None,
                charging_profile=profile,
            )
        case RemoteStop():
            assert pile_transaction_id is not None, "the handler resolves the pile's transaction id"
            return call.RequestStopTransaction(transaction_id=pile_transaction_id)
        case ChangeAvailability(connector_no=connector_no, operative=operative):
            return call.ChangeAvailability(
                operational_status="Operative" if operative else "Inoperative",  # type: ignore[arg-type]
                evse=_evse(connector_no) if connector_no else None,
            )
        case UnlockConnector(connector_no=connector_no):
            evse_id, connector_id = evse_of(connector_no)
            return call.UnlockConnector(evse_id=evse_id, connector_id=connector_id)
        case Reset(hard=hard):
            return call.Reset(type="Immediate" if hard else "OnIdle")  # type: ignore[arg-type]
        case GetConfiguration(keys=keys):
            wanted = keys or tuple(CONFIGURATION)
            variables = [(key, variable) for key in wanted if (variable := _variable(key)) is not None]
            if not variables:
                return CommandResult(Outcome.ACCEPTED, "Accepted", unknown_keys=keys)
            return call.GetVariables(
                get_variable_data=[
                    datatypes.GetVariableDataType(component=_component(v), variable=_variable_type(v))
                    for _, v in variables
                ]
            )
        case GetBaseReport(full=full):
            return call.GetBaseReport(
                request_id=request_id(),
                report_base="FullInventory" if full else "ConfigurationInventory",  # type: ignore[arg-type]
            )
        case ChangeConfiguration(key=key, value=value):
            variable = _variable(key)
            if variable is None:
                return CommandResult(
                    Outcome.REJECTED, "NotSupported",
                    f"{key} has no OCPP 2.0.1 counterpart; name the variable as Component.Variable",
                )
            return call.SetVariables(
                set_variable_data=[
                    datatypes.SetVariableDataType(
                        attribute_value=value, component=_component(variable), variable=_variable_type(variable)
                    )
                ]
            )
        case SetBasicAuthPassword(password=password):
            variable = CONFIGURATION["AuthorizationKey"]  # SecurityCtrlr.BasicAuthPassword, in clear (A01)
            return call.SetVariables(
                set_variable_data=[
                    datatypes.SetVariableDataType(
                        attribute_value=password, component=_component(variable), variable=_variable_type(variable)
                    )
                ]
            )
        case ClearCache():
            return call.ClearCache()
        case TriggerMessage(message=message, connector_no=connector_no):
            return call.TriggerMessage(
                requested_message=TRIGGERS.get(message, message),  # type: ignore[arg-type]
                evse=_evse(connector_no) if connector_no else None,
            )
        case ReserveNow():
            return call.ReserveNow(
                id=command.reservation_id,
                expiry_date_time=_utc(command.expires_at),
                id_token=_token(command.id_tag, "Central"),
                evse_id=evse_of(command.connector_no)[0] if command.connector_no else None,
                group_id_token=_token(command.parent_id_tag, "Central") if command.parent_id_tag else None,
            )
        case CancelReservation(reservation_id=reservation_id):
            return call.CancelReservation(reservation_id=reservation_id)
        case SendLocalList(list_version=list_version, full=full, entries=entries):
            return call.SendLocalList(
                version_number=list_version,
                update_type="Full" if full else "Differential",  # type: ignore[arg-type]
                local_authorization_list=[_authorization_data(entry) for entry in entries] or None,
            )
        case GetLocalListVersion():
            return call.GetLocalListVersion()
        case GetDiagnostics():
            return call.GetLog(
                log=datatypes.LogParametersType(
                    remote_location=command.location,
                    oldest_timestamp=_utc(command.start_time) if command.start_time else None,
                    latest_timestamp=_utc(command.stop_time) if command.stop_time else None,
                ),
                log_type="DiagnosticsLog",  # type: ignore[arg-type]
                request_id=request_id(),
                retries=command.retries,
                retry_interval=command.retry_interval_s,
            )
        case UpdateFirmware():
            return call.UpdateFirmware(
                request_id=request_id(),
                firmware=datatypes.FirmwareType(
                    location=command.location, retrieve_date_time=_utc(command.retrieve_at)
                ),
                retries=command.retries,
                retry_interval=command.retry_interval_s,
            )
    raise TypeError(f"no OCPP 2.0.1 call for {command!r}")


def interpret(command: Command, action: str, answer: Any) -> CommandResult:
    match action:
        case "GetVariables":
            return _configuration(command, answer.get_variable_result)
        case "SetVariables":
            status = str(answer.set_variable_result[0]["attribute_status"])
            return CommandResult(Outcome.ACCEPTED if status in AGREED[action] else Outcome.REJECTED, status,
                                 _reason(answer.set_variable_result[0].get("attribute_status_info")))
        case "GetLocalListVersion":
            version = int(answer.version_number)
            if version < 0:
                return CommandResult(Outcome.ERROR, message=f"impossible local list version {version}",
                                     list_version=version)
            return CommandResult(Outcome.ACCEPTED, "Accepted", list_version=version)
        case "GetLog":
            status = str(answer.status)
            if status in AGREED[action]:
                return CommandResult(Outcome.ACCEPTED, status, file_name=answer.filename)
            return CommandResult(Outcome.REJECTED, status, _reason(answer.status_info))
    status = str(answer.status)
    outcome = Outcome.ACCEPTED if status in AGREED[action] else Outcome.REJECTED
    return CommandResult(outcome, status, _reason(getattr(answer, "status_info", None)))


def _configuration(command: Command, results: list[dict[str, Any]]) -> CommandResult:
    asked = command.keys if isinstance(command, GetConfiguration) else ()
    wanted = asked or tuple(CONFIGURATION)
    by_variable = {
        _identity(r["component"]["name"], r["variable"]["name"], r["variable"].get("instance")): r for r in results
    }
    known: list[ConfigurationKey] = []
    unknown: list[str] = []
    for key in wanted:
        variable = _variable(key)
        found = by_variable.get(_identity(variable.component, variable.name, variable.instance)) if variable else None
        if variable is not None and found is not None and found["attribute_status"] == "Accepted":
            known.append(ConfigurationKey(key, found.get("attribute_value"), variable.readonly))
        elif variable is not None and found is not None and found["attribute_status"] == "Rejected":
            known.append(ConfigurationKey(key, None, variable.readonly))  # write-only (a password): no value
        elif asked:  # asked for by name: say it is unknown; when listing everything, leave it out
            unknown.append(key)
    return CommandResult(Outcome.ACCEPTED, "Accepted", configuration=tuple(known), unknown_keys=tuple(unknown))


LIST_CAPACITY = ("localauthlistctrlr", "entries", "")
"""LocalAuthListCtrlr.Entries: its value counts the tokens held, its ``maxLimit`` is how many the pile can
hold (OCPP 2.0.1 part 2, appendix 3), which 1.6 calls LocalAuthListMaxLength."""

_BY_VARIABLE = {
    (v.component.lower(), v.name.lower(), (v.instance or "").lower()): key for key, v in CONFIGURATION.items()
}
"""The 1.6 key of each mapped variable, by its (case-insensitive) identity."""


def report_entries(report_data: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """NotifyReport ``reportData`` (snake-cased by the library) as reported configuration, in the shape a 1.6
    GetConfiguration answer is kept in (``[{"key", "value", "readonly"}]``), so readers need not know the
    protocol: a variable with a 1.6 counterpart takes the 1.6 key, any other is ``Component.Variable``, with
    ``(instance)`` after a name and ``@evse`` (``@evse/connector``) after the component where the pile gives
    them. The value is the Actual attribute's (none for write-only variables); the capacity of the local list
    (Entries' maxLimit) is kept as LocalAuthListMaxLength."""
    out: list[dict[str, Any]] = []
    for item in report_data:
        component, variable = item["component"], item["variable"]
        identity = _identity(component["name"], variable["name"], variable.get("instance"))
        attributes = item.get("variable_attribute") or []
        actual = next((a for a in attributes if a.get("type", "Actual") == "Actual"), None)
        evse = component.get("evse")
        mutability = (actual or {}).get("mutability", "ReadWrite")
        value = None if actual is None or mutability == "WriteOnly" else actual.get("value")
        if identity in _BY_VARIABLE and not evse and not component.get("instance"):
            key = _BY_VARIABLE[identity]
        else:
            key = _name(component["name"], component.get("instance"))
            if evse:
                key += f"@{evse['id']}" + (f"/{evse['connector_id']}" if evse.get("connector_id") else "")
            key += "." + _name(variable["name"], variable.get("instance"))
        out.append({"key": key, "value": value, "readonly": mutability == "ReadOnly"})
        limit = (item.get("variable_characteristics") or {}).get("max_limit")
        if identity == LIST_CAPACITY and not evse and limit is not None:
            out.append({"key": "LocalAuthListMaxLength", "value": str(int(limit)), "readonly": True})
    return out


def _name(name: str, instance: str | None) -> str:
    return f"{name}({instance})" if instance else name


def _identity(component: str, name: str, instance: str | None) -> tuple[str, str, str]:
    """Component and variable names are case-insensitive (CiString)."""
    return component.lower(), name.lower(), (instance or "").lower()


def _variable(key: str) -> Variable | None:
    if key in CONFIGURATION:
        return CONFIGURATION[key]
    component, dot, name = key.partition(".")
    if dot and component and name and "." not in name:
        return Variable(component, name)
    return None


def _component(variable: Variable) -> datatypes.ComponentType:
    return datatypes.ComponentType(name=variable.component)


def _variable_type(variable: Variable) -> datatypes.VariableType:
    return datatypes.VariableType(name=variable.name, instance=variable.instance)


def _evse(connector_no: int) -> datatypes.EVSEType:
    evse_id, connector_id = evse_of(connector_no)
    return datatypes.EVSEType(id=evse_id, connector_id=connector_id)


def _token(id_tag: str, kind: str) -> datatypes.IdTokenType:
    return datatypes.IdTokenType(id_token=id_tag, type=kind)  # type: ignore[arg-type]


def _reason(status_info: Any) -> str:
    if not status_info:
        return ""
    info = status_info if isinstance(status_info, dict) else vars(status_info)
    return " ".join(str(part) for part in (info.get("reason_code"), info.get("additional_info")) if part)


def _tx_power_limit(max_power_w: int, connector_no: int | None) -> datatypes.ChargingProfileType:
    profile_id = REMOTE_START_PROFILE_ID + (connector_no or 0)
    return datatypes.ChargingProfileType(
        id=profile_id,
        stack_level=0,
        charging_profile_purpose="TxProfile",  # type: ignore[arg-type]
        charging_profile_kind="Relative",  # type: ignore[arg-type]
        charging_schedule=[
            datatypes.ChargingScheduleType(
                id=profile_id,
                charging_rate_unit="W",  # type: ignore[arg-type]
                charging_schedule_period=[datatypes.ChargingSchedulePeriodType(start_period=0, limit=max_power_w)],
            )
        ],
    )


def _authorization_data(entry: LocalListEntry) -> datatypes.AuthorizationData:
    token = _token(entry.id_tag, "Local" if is_vin(entry.id_tag) else "ISO14443")
    if entry.status is None:  # a differential update without idTokenInfo removes the token
        return datatypes.AuthorizationData(id_token=token)
    info = datatypes.IdTokenInfoType(
        status=entry.status,  # type: ignore[arg-type]
        cache_expiry_date_time=_utc(entry.expires_at) if entry.expires_at else None,
        group_id_token=_token(entry.parent_id_tag, "Central") if entry.parent_id_tag else None,
    )
    return datatypes.AuthorizationData(id_token=token, id_token_info=info)


def _utc(moment: datetime) -> str:
    """RFC 3339 in UTC with ``Z``; milliseconds only when the moment has a fraction of a second."""
    spec = "milliseconds" if moment.microsecond else "seconds"
    return moment.astimezone(UTC).isoformat(timespec=spec).replace("+00:00", "Z")
