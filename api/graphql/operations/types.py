"""Answers of piles to operator commands, as types clients branch on (never strings in errors)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from api.commands.dto import CommandResult as CommandResultDto
from api.commands.dto import Outcome


@strawberry.enum(description="What became of a command to a pile.")
class CommandOutcome(Enum):
    ACCEPTED = Outcome.ACCEPTED.value
    REJECTED = Outcome.REJECTED.value
    OFFLINE = Outcome.OFFLINE.value
    TIMED_OUT = Outcome.TIMED_OUT.value
    ERROR = Outcome.ERROR.value


@strawberry.enum(description="Messages a pile can be asked to send now (OCPP 1.6 TriggerMessage).")
class TriggerableMessage(Enum):
    BOOT_NOTIFICATION = "BootNotification"
    DIAGNOSTICS_STATUS_NOTIFICATION = "DiagnosticsStatusNotification"
    FIRMWARE_STATUS_NOTIFICATION = "FirmwareStatusNotification"
    HEARTBEAT = "Heartbeat"
    METER_VALUES = "MeterValues"
    STATUS_NOTIFICATION = "StatusNotification"


@strawberry.enum(description="A card's entry in a pile's local authorization list.")
class LocalAuthorizationStatus(Enum):
    ACCEPTED = "Accepted"
    BLOCKED = "Blocked"
    EXPIRED = "Expired"
    INVALID = "Invalid"


@strawberry.type(description="A pile's answer to one command.")
class CommandResult:
    charge_point_id: strawberry.ID
    outcome: CommandOutcome = strawberry.field(
        description="ACCEPTED/REJECTED: the pile answered; OFFLINE: nothing was sent; TIMED_OUT: sent, no answer "
        "within the call timeout (the pile may have acted); ERROR: a CALLERROR or an answer that breaks the protocol."
    )
    status: str | None = strawberry.field(
        description="The pile's own word (Accepted, Scheduled, RebootRequired, UnlockFailed...) or the CALLERROR code."
    )
    message: str

    @classmethod
    def of(cls, charge_point_id: str, result: CommandResultDto) -> CommandResult:
        return cls(
            charge_point_id=strawberry.ID(charge_point_id),
            outcome=CommandOutcome(result.outcome.value),
            status=result.status,
            message=result.message,
        )


@strawberry.type
class ConfigurationKey:
    key: str
    value: str | None
    readonly: bool


@strawberry.enum(description="A whole-configuration report to ask a pile for (OCPP 2.0.1 GetBaseReport).")
class ConfigurationReport(Enum):
    CONFIGURATION = "configuration"
    """ConfigurationInventory: every configurable variable."""
    FULL = "full"
    """FullInventory: every variable of the pile's device model."""


@strawberry.type
class ConfigurationResult:
    result: CommandResult
    keys: list[ConfigurationKey]
    unknown_keys: list[str]


@strawberry.type
class LocalListVersionResult:
    result: CommandResult
    list_version: int | None = strawberry.field(description="0: empty list; -1: the pile has no local list.")


@strawberry.type
class ReservationResult:
    reservation_id: strawberry.ID | None
    result: CommandResult


@strawberry.type(description="A station locked or unlocked: the desired state is kept; each pile's answer.")
class StationAvailabilityResult:
    station_id: strawberry.ID
    operative: bool
    piles: list[CommandResult] = strawberry.field(
        description="Offline piles are locked (or unlocked) as soon as they boot again."
    )


@strawberry.input
class LocalListEntryInput:
    id_tag: str
    status: LocalAuthorizationStatus | None = strawberry.field(
        default=None, description="Null removes the card (differential updates only)."
    )
    expires_at: datetime | None = strawberry.field(default=None, description="With a time zone.")
    parent_id_tag: str | None = None


@strawberry.type(description="A pile's new Basic auth password: sent to the pile, stored (hashed) once it accepted.")
class ChargePointPasswordResult:
    charge_point_id: strawberry.ID
    stored: bool = strawberry.field(
        description="The new password opens the pile's next connections (the previous one for a short grace "
        "period, or until the pile first uses the new one). False: the old password stays."
    )
    password: str | None = strawberry.field(
        description="The generated password, shown only this once (when stored, or when the pile may have taken "
        "it: TIMED_OUT); null when the caller chose it."
    )
    result: CommandResult | None = strawberry.field(
        description="The pile's answer (AuthorizationKey / BasicAuthPassword); null when only stored."
    )


@strawberry.type(description="What a pile must show at its WebSocket handshake.")
class ChargePointSecurity:
    charge_point_id: strawberry.ID
    security_profile: int = strawberry.field(
        description="0: nothing (but a password, when set); 1: HTTP Basic auth; 2: TLS and Basic auth; "
        "3: TLS with a client certificate naming the pile."
    )
    has_password: bool
    password_changed_at: datetime | None
