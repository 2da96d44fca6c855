"""Protocol-neutral values the pile adapters hand to the charge point service."""

from dataclasses import dataclass
from datetime import datetime

from api.models.enums import ConnectorStatus, RegistrationStatus


@dataclass(frozen=True)
class BootInfo:
    vendor: str
    model: str
    serial_number: str = ""
    firmware_version: str = ""
    iccid: str = ""
    imsi: str = ""
    meter_type: str = ""
    meter_serial_number: str = ""


@dataclass(frozen=True)
class BootResult:
    status: RegistrationStatus
    interval_s: int
    current_time: datetime


@dataclass(frozen=True)
class StatusReport:
    charge_point_id: str
    connector_no: int
    status: ConnectorStatus
    error_code: str
    at: datetime | None
    """When the pile says the status began; None when it did not say (then: now)."""
    info: str = ""
    vendor_error_code: str = ""


@dataclass(frozen=True)
class Admission:
    charge_point_id: str
    registration_status: RegistrationStatus
    newly_registered: bool
