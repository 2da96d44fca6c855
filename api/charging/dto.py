"""Protocol-neutral values exchanged between pile adapters and the charging service."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from api.access.dto import Visibility
from api.models.enums import SessionStatus


class AuthorizationStatus(StrEnum):
    ACCEPTED = "accepted"
    BLOCKED = "blocked"
    EXPIRED = "expired"
    INVALID = "invalid"
    CONCURRENT_TX = "concurrent_tx"


@dataclass(frozen=True)
class Authorization:
    status: AuthorizationStatus
    expires_at: datetime | None = None
    parent_tag: str | None = None
    reason: str = ""
    """Why a card that is valid in itself was refused here (the station's access policy)."""


@dataclass(frozen=True)
class TransactionStart:
    charge_point_id: str
    connector_no: int
    id_tag: str
    meter_start_wh: int
    timestamp: datetime
    reservation_id: int | None = None


@dataclass(frozen=True)
class StartResult:
    transaction_id: int
    authorization: Authorization
    duplicate: bool


@dataclass(frozen=True)
class TransactionStop:
    charge_point_id: str
    transaction_id: int
    meter_stop_wh: int
    timestamp: datetime
    reason: str
    id_tag: str | None = None


@dataclass(frozen=True)
class VehicleReport:
    """Vehicle-side data a pile forwards (GB/T 27930 BMS messages by DataTransfer, or a VIN)."""

    charge_point_id: str
    connector_no: int | None
    transaction_id: int | None
    message: str
    """GB/T 27930 message name (BHM, BRM, BCP, BRO, BCL, BCS, BSM, BST, BSD, ...) or ``VIN``."""
    vin: str | None
    at: datetime | None


@dataclass(frozen=True)
class SessionFilter:
    station_id: int | None = None
    charge_point_id: str | None = None
    id_tag: str | None = None
    vin: str | None = None
    vehicle_id: int | None = None
    status: SessionStatus | None = None
    started_from: datetime | None = None
    started_to: datetime | None = None
    visible: Visibility | None = None
    """Only sessions the viewer may see (None: no restriction, for the platform's own use)."""
