"""Protocol-neutral values exchanged between pile adapters and the charging service."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from api.access.dto import Visibility
from api.models.enums import ChargingPhase, SessionStatus


class AuthorizationStatus(StrEnum):
    ACCEPTED = "accepted"
    BLOCKED = "blocked"
    EXPIRED = "expired"
    INVALID = "invalid"
    CONCURRENT_TX = "concurrent_tx"


class Refusal(StrEnum):
    """Why the station's access policy refused a card that is valid in itself."""

    LOCATION = "location"
    """Not at this station (not on its allow-list, not a card of its fleets), whatever the time."""
    TIME = "time"
    """Not now: the station's schedule admits the card at other times."""


@dataclass(frozen=True)
class Authorization:
    status: AuthorizationStatus
    expires_at: datetime | None = None
    parent_tag: str | None = None
    reason: str = ""
    """Why a card that is valid in itself was refused here (the station's access policy)."""
    refusal: Refusal | None = None
    """Set when the station's policy (not its block list) refused the card; only OCPP 2.0.1 has words for it
    (``NotAtThisLocation``, ``NotAtThisTime``), 1.6 says ``Invalid``."""


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


class PileTransactionStage(StrEnum):
    STARTED = "started"
    UPDATED = "updated"
    ENDED = "ended"


@dataclass(frozen=True)
class PileTransactionReport:
    """One report about a transaction whose id the pile chose (OCPP 2.0.1 TransactionEvent).

    Reports may come late (after an outage), with gaps, or twice: the session is found by the pile's
    transaction id, so each is merged into the one session of that transaction."""

    charge_point_id: str
    pile_transaction_id: str
    stage: PileTransactionStage
    at: datetime
    connector_no: int | None
    """None when the report names no connector (a transaction authorized before the cable was plugged in)."""
    id_tag: str | None
    """The id tag the report carries, if any ("" for a pile that charges without authorization)."""
    register_first_wh: int | None
    """The report's earliest energy register reading (its Transaction.Begin reading, when it has one)."""
    register_last_wh: int | None
    """The report's latest energy register reading (its Transaction.End reading, when it has one)."""
    phase: ChargingPhase | None = None
    """The DC phase the pile's charging state implies, if any."""
    stop_reason: str | None = None
    reservation_id: int | None = None
    vin: str | None = None
    """A VIN the pile names beside the id tag."""


@dataclass(frozen=True)
class PileTransactionResult:
    session_id: int
    authorization: Authorization | None
    """What we say about the report's id tag (None when it carried none)."""
    created: bool


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
