"""Pure conversions between OCPP 1.6 payloads and protocol-neutral domain values. No I/O.

Meter values (OCPP 1.6 §7.31 SampledValue) are normalised to integers in named units. The common
measurands become columns when measured where the column means (``COLUMN_LOCATIONS``); when only per-phase values are
reported, current takes the largest phase and voltage the mean of the phases. Every value, including
the ones folded into columns, is also kept verbatim in ``extra`` when it is not a plain single value.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from ocpp.v16 import datatypes
from ocpp.v16.enums import AuthorizationStatus as V16AuthorizationStatus
from ocpp.v16.enums import RegistrationStatus as V16RegistrationStatus

from api.charging.dto import Authorization, AuthorizationStatus
from api.core.clock import parse_ocpp_datetime
from api.metering.dto import MeterReading
from api.models.enums import ConnectorStatus, RegistrationStatus
from api.ocpp.frames import Fault, FrameError
from api.ocpp.readings import Sample, fits, readings

STATUS = {
    "Available": ConnectorStatus.AVAILABLE,
    "Preparing": ConnectorStatus.PREPARING,
    "Charging": ConnectorStatus.CHARGING,
    "SuspendedEV": ConnectorStatus.SUSPENDED_EV,
    "SuspendedEVSE": ConnectorStatus.SUSPENDED_EVSE,
    "Finishing": ConnectorStatus.FINISHING,
    "Reserved": ConnectorStatus.RESERVED,
    "Unavailable": ConnectorStatus.UNAVAILABLE,
    "Faulted": ConnectorStatus.FAULTED,
}

REGISTRATION = {
    RegistrationStatus.ACCEPTED: V16RegistrationStatus.accepted,
    RegistrationStatus.PENDING: V16RegistrationStatus.pending,
    RegistrationStatus.REJECTED: V16RegistrationStatus.rejected,
}

AUTHORIZATION = {
    AuthorizationStatus.ACCEPTED: V16AuthorizationStatus.accepted,
    AuthorizationStatus.BLOCKED: V16AuthorizationStatus.blocked,
    AuthorizationStatus.EXPIRED: V16AuthorizationStatus.expired,
    AuthorizationStatus.INVALID: V16AuthorizationStatus.invalid,
    AuthorizationStatus.CONCURRENT_TX: V16AuthorizationStatus.concurrent_tx,
}

ENERGY = "Energy.Active.Import.Register"
OUTLET = frozenset({None, "Outlet"})
COLUMN_LOCATIONS: dict[str, frozenset[str | None]] = {
    ENERGY: OUTLET,
    "Power.Active.Import": OUTLET,
    "Current.Import": OUTLET,
    "Voltage": OUTLET,
    "SoC": frozenset({None, "EV", "Outlet"}),
    "Temperature": frozenset({None, "Outlet", "Body", "Cable"}),
}
"""Where a measurand must be measured to fill its column; from elsewhere it is kept in ``extra``."""

# measurand -> (column, {unit: multiplier to the column's unit}, default unit)
COLUMNS: dict[str, tuple[str, dict[str, Decimal], str]] = {
    ENERGY: ("energy_wh", {"Wh": Decimal(1), "kWh": Decimal(1000)}, "Wh"),
    "Power.Active.Import": ("power_w", {"W": Decimal(1), "kW": Decimal(1000)}, "W"),
    "Current.Import": ("current_ma", {"A": Decimal(1000)}, "A"),
    "Voltage": ("voltage_mv", {"V": Decimal(1000)}, "V"),
    "SoC": ("soc_pct", {"Percent": Decimal(1)}, "Percent"),
    "Temperature": ("temperature_decic", {"Celsius": Decimal(10), "Celcius": Decimal(10)}, "Celsius"),
}


def timestamp(raw: str, unique_id: str) -> datetime:
    try:
        return parse_ocpp_datetime(raw)
    except ValueError:
        raise FrameError(Fault.TYPE, f"{raw!r} is not an RFC 3339 dateTime", unique_id) from None


def id_tag_info(authorization: Authorization) -> datatypes.IdTagInfo:
    return datatypes.IdTagInfo(
        status=AUTHORIZATION[authorization.status],
        parent_id_tag=authorization.parent_tag,
        expiry_date=authorization.expires_at.isoformat() if authorization.expires_at else None,
    )


def _number(sampled: dict[str, Any], unique_id: str) -> Decimal:
    try:
        value = Decimal(str(sampled["value"]).strip())
    except (InvalidOperation, ValueError):
        raise FrameError(
            Fault.PROPERTY, f"sampled value {sampled['value']!r} of {sampled.get('measurand', ENERGY)} is not a number",
            unique_id,
        ) from None
    if not value.is_finite():
        raise FrameError(Fault.PROPERTY, "sampled value is not finite", unique_id)
    return value


def _to_column(measurand: str, unit: str | None, value: Decimal, unique_id: str) -> tuple[str, int] | None:
    spec = COLUMNS.get(measurand)
    if spec is None:
        return None
    column, factors, default_unit = spec
    unit = unit or default_unit
    if measurand == "Temperature" and unit in ("K", "Fahrenheit"):
        celsius = value - Decimal("273.15") if unit == "K" else (value - 32) * 5 / 9
        return column, int((celsius * 10).to_integral_value())
    factor = factors.get(unit)
    if factor is None:
        raise FrameError(Fault.PROPERTY, f"unit {unit!r} does not fit measurand {measurand}", unique_id)
    return column, int((value * factor).to_integral_value())


def meter_readings(
    charge_point_id: str,
    connector_id: int,
    transaction_id: int | None,
    meter_value: list[dict[str, Any]],
    unique_id: str,
) -> list[MeterReading]:
    """One reading per (timestamp, reading context) found in a MeterValues / transactionData list."""
    return readings(charge_point_id, connector_id, transaction_id, (
        _sample(timestamp(item["timestamp"], unique_id), sampled, unique_id)
        for item in meter_value for sampled in item["sampled_value"]
    ))


def _sample(ts: datetime, sampled: dict[str, Any], unique_id: str) -> Sample:
    context = sampled.get("context") or "Sample.Periodic"
    measurand = sampled.get("measurand") or ENERGY
    phase, location = sampled.get("phase"), sampled.get("location")
    label = "@".join(p for p in (measurand, phase, location) if p)
    fmt = sampled.get("format") or "Raw"
    if fmt == "SignedData":
        return Sample(ts, context, extra=((label, {"value": sampled["value"], "format": fmt}),))
    as_reported = ((label, {"value": sampled["value"], "unit": sampled.get("unit")}),)
    converted = _to_column(measurand, sampled.get("unit"), _number(sampled, unique_id), unique_id)
    if converted is None or location not in COLUMN_LOCATIONS[measurand]:
        return Sample(ts, context, extra=as_reported)
    column, number = converted[0], fits(converted[0], converted[1], label, unique_id)
    if phase:
        return Sample(ts, context, column, number, phased=True, extra=as_reported)
    return Sample(ts, context, column, number)


def connector_status(raw: str) -> ConnectorStatus:
    return STATUS[raw]
