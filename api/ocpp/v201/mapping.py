"""Pure conversions between OCPP 2.0.1 payloads and protocol-neutral domain values. No I/O.

Connectors. 2.0.1 addresses a plug as (EVSE id, connector id); the domain numbers a pile's connectors
``connectorNo``, as 1.6 does. One connector per EVSE is the rule for the piles we meet (a dual-gun DC pile is
two EVSEs), so a pile's connector ``connectorNo`` is its EVSE id: (EVSE n, connector 1) is connector n. A
second or later connector c of EVSE n (an EVSE with a socket and a cable, of which only one can be used at
a time) is connector ``100·n + c``. EVSE and connector ids run from 1 to 99; EVSE 0 is the whole pile
(connector 0, as in 1.6).

Statuses. The domain speaks 1.6's richer connector vocabulary. 2.0.1 splits it across two messages:
StatusNotification says only Available / Occupied / Reserved / Unavailable / Faulted, and a transaction's
``chargingState`` says what an occupied connector does:

    chargingState   connector status                  DC phase
    EVConnected     Preparing (Finishing once ended)  handshake
    Charging        Charging                          charging
    SuspendedEV     SuspendedEV                       (unchanged)
    SuspendedEVSE   SuspendedEVSE                     (unchanged)
    Idle            Available (if it was occupied)    (unchanged)

Occupied alone is Preparing, and an Occupied report keeps the finer status a transaction gave. An ended
transaction is Finishing while the car is plugged in, Available once it left (Idle, EVDeparted,
EVDisconnected); the phases ending/ended follow the end as with 1.6's StopTransaction. A charging state
never hides Faulted or Unavailable, and Finishing/Available only replace an occupied status.

Meter values (2.0.1 SampledValueType): the value is a JSON number scaled by ``unitOfMeasure.multiplier``
(a power of ten) and normalised to the same integer columns as 1.6, with the same unit table. 2.0.1 has no
Temperature measurand, so the temperature column stays empty for 2.0.1 piles.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from ocpp.v201 import datatypes

from api.charging.dto import Authorization, AuthorizationStatus, Refusal
from api.core.vehicle_ids import is_vin
from api.metering.dto import MeterReading
from api.models.enums import ChargingPhase, ConnectorStatus, RegistrationStatus
from api.ocpp.frames import Fault, FrameError
from api.ocpp.readings import Sample, fits, readings
from api.ocpp.v16.mapping import COLUMN_LOCATIONS, COLUMNS, ENERGY, timestamp

MAX_ID = 99
SECOND_CONNECTORS = 100

STATUS = {
    "Available": ConnectorStatus.AVAILABLE,
    "Occupied": ConnectorStatus.PREPARING,
    "Reserved": ConnectorStatus.RESERVED,
    "Unavailable": ConnectorStatus.UNAVAILABLE,
    "Faulted": ConnectorStatus.FAULTED,
}

IN_USE = frozenset(
    {
        ConnectorStatus.PREPARING,
        ConnectorStatus.CHARGING,
        ConnectorStatus.SUSPENDED_EV,
        ConnectorStatus.SUSPENDED_EVSE,
        ConnectorStatus.FINISHING,
    }
)
"""The 1.6 statuses 2.0.1 calls Occupied."""

CHARGING_STATE: dict[str, tuple[ConnectorStatus | None, ChargingPhase | None]] = {
    "EVConnected": (ConnectorStatus.PREPARING, ChargingPhase.HANDSHAKE),
    "Charging": (ConnectorStatus.CHARGING, ChargingPhase.CHARGING),
    "SuspendedEV": (ConnectorStatus.SUSPENDED_EV, None),
    "SuspendedEVSE": (ConnectorStatus.SUSPENDED_EVSE, None),
    "Idle": (ConnectorStatus.AVAILABLE, None),
}

REGISTRATION = {
    RegistrationStatus.ACCEPTED: "Accepted",
    RegistrationStatus.PENDING: "Pending",
    RegistrationStatus.REJECTED: "Rejected",
}

AUTHORIZATION = {
    AuthorizationStatus.ACCEPTED: "Accepted",
    AuthorizationStatus.BLOCKED: "Blocked",
    AuthorizationStatus.EXPIRED: "Expired",
    AuthorizationStatus.INVALID: "Invalid",
    AuthorizationStatus.CONCURRENT_TX: "ConcurrentTx",
}

REFUSAL = {Refusal.LOCATION: "NotAtThisLocation", Refusal.TIME: "NotAtThisTime"}

NO_AUTHORIZATION = "NoAuthorization"
VIN_INFO = "VIN"
"""``additionalInfo.type`` naming a VIN beside the id token (2.0.1 leaves the type free; OCPP 2.1 calls it VIN)."""

FIRMWARE_STATUS = {
    "DownloadScheduled": "Downloading",
    "DownloadPaused": "Downloading",
    "SignatureVerified": "Installing",
    "InstallScheduled": "Installing",
    "InstallRebooting": "Installing",
    "InstallVerificationFailed": "InstallationFailed",
    "InvalidSignature": "InstallationFailed",
}
"""2.0.1 firmware statuses 1.6 has no word for, as the nearest 1.6 word; the others are spelled alike."""

LOG_STATUS = {
    "UploadFailure": "UploadFailed",
    "BadMessage": "UploadFailed",
    "NotSupportedOperation": "UploadFailed",
    "PermissionDenied": "UploadFailed",
}
"""2.0.1 log upload statuses as 1.6 diagnostics statuses (Idle, Uploaded, Uploading are spelled alike)."""


# -- connectors ---------------------------------------------------------------------------------------


def connector_no(evse_id: int, connector_id: int | None, unique_id: str) -> int:
    """Our connector number of (EVSE, connector); EVSE 0 is the pile itself (0)."""
    if evse_id == 0:
        return 0
    if not 1 <= evse_id <= MAX_ID or not (connector_id is None or 1 <= connector_id <= MAX_ID):
        raise FrameError(
            Fault.PROPERTY, f"EVSE {evse_id} connector {connector_id}: ids run from 1 to {MAX_ID}", unique_id
        )
    if connector_id is None or connector_id == 1:
        return evse_id
    return SECOND_CONNECTORS * evse_id + connector_id


def evse_of(number: int) -> tuple[int, int]:
    """(EVSE id, connector id) of our connector number (1 or more)."""
    if number < SECOND_CONNECTORS:
        return number, 1
    return number // SECOND_CONNECTORS, number % SECOND_CONNECTORS


def evse_connector(evse: dict[str, Any] | None, unique_id: str) -> int | None:
    """Our connector number of a payload's (snake-cased) EVSEType, or None when it names none."""
    if not evse:
        return None
    return connector_no(evse["id"], evse.get("connector_id"), unique_id)


# -- id tokens ------------------------------------------------------------------------------------------


def id_tag(id_token: dict[str, Any] | None) -> str | None:
    """The id tag of an IdTokenType: its value; "" for NoAuthorization (a pile charging without a token,
    which the platform does not accept); None when there is no token."""
    if id_token is None:
        return None
    if id_token["type"] == NO_AUTHORIZATION:
        return ""
    return str(id_token["id_token"])


def vin_beside(id_token: dict[str, Any] | None) -> str | None:
    """A VIN the pile names in ``additionalInfo`` (type ``VIN``) beside the id token."""
    for info in (id_token or {}).get("additional_info") or ():
        if str(info["type"]).upper() == VIN_INFO and is_vin(str(info["additional_id_token"]).upper()):
            return str(info["additional_id_token"]).upper()
    return None


def id_token_info(authorization: Authorization) -> datatypes.IdTokenInfoType:
    """2.0.1 says why a station refused a valid card (the station's access policy): not here, or not now."""
    status = REFUSAL[authorization.refusal] if authorization.refusal else AUTHORIZATION[authorization.status]
    return datatypes.IdTokenInfoType(
        status=status,  # type: ignore[arg-type]
        cache_expiry_date_time=utc(authorization.expires_at) if authorization.expires_at else None,
        group_id_token=(
            datatypes.IdTokenType(id_token=authorization.parent_tag, type="Central")  # type: ignore[arg-type]
            if authorization.parent_tag else None
        ),
    )


def utc(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


# -- meter values -----------------------------------------------------------------------------------------


def _number(sampled: dict[str, Any], unique_id: str) -> Decimal:
    try:
        value = Decimal(str(sampled["value"]))
    except (InvalidOperation, ValueError):
        raise FrameError(Fault.PROPERTY, f"sampled value {sampled['value']!r} is not a number", unique_id) from None
    if not value.is_finite():
        raise FrameError(Fault.PROPERTY, "sampled value is not finite", unique_id)
    multiplier = (sampled.get("unit_of_measure") or {}).get("multiplier", 0)
    return value.scaleb(multiplier)


def _to_column(measurand: str, unit: str | None, value: Decimal, unique_id: str) -> tuple[str, int] | None:
    spec = COLUMNS.get(measurand)
    if spec is None:
        return None
    column, factors, default_unit = spec
    factor = factors.get(unit or default_unit)
    if factor is None:
        raise FrameError(Fault.PROPERTY, f"unit {unit!r} does not fit measurand {measurand}", unique_id)
    return column, int((value * factor).to_integral_value())


def meter_readings(
    charge_point_id: str,
    connector: int,
    transaction_id: int | None,
    meter_value: list[dict[str, Any]],
    unique_id: str,
) -> list[MeterReading]:
    """One reading per (timestamp, reading context) of a (snake-cased) MeterValueType list."""
    return readings(charge_point_id, connector, transaction_id, (
        _sample(timestamp(item["timestamp"], unique_id), sampled, unique_id)
        for item in meter_value for sampled in item["sampled_value"]
    ))


def _sample(ts: datetime, sampled: dict[str, Any], unique_id: str) -> Sample:
    context = sampled.get("context") or "Sample.Periodic"
    measurand = sampled.get("measurand") or ENERGY
    phase, location = sampled.get("phase"), sampled.get("location")
    unit = (sampled.get("unit_of_measure") or {}).get("unit")
    label = "@".join(p for p in (measurand, phase, location) if p)
    signed = ((f"{label}#signed", sampled["signed_meter_value"]),) if sampled.get("signed_meter_value") else ()
    as_reported = (*signed, (label, {"value": sampled["value"], "unit": unit}))
    converted = _to_column(measurand, unit, _number(sampled, unique_id), unique_id)
    if converted is None or location not in COLUMN_LOCATIONS[measurand]:
        return Sample(ts, context, extra=as_reported)
    column, number = converted[0], fits(converted[0], converted[1], label, unique_id)
    if phase:
        return Sample(ts, context, column, number, phased=True, extra=as_reported)
    return Sample(ts, context, column, number, extra=signed)


def register_bounds(readings: list[MeterReading]) -> tuple[int | None, int | None]:
    """The first and last energy register readings: the Transaction.Begin / Transaction.End ones when
    given, else the earliest and the latest."""
    registers = sorted((r for r in readings if r.energy_wh is not None), key=lambda r: r.ts)
    if not registers:
        return None, None
    begin = [r for r in registers if r.context == "Transaction.Begin"]
    end = [r for r in registers if r.context == "Transaction.End"]
    return (begin or registers)[0].energy_wh, (end or registers)[-1].energy_wh
