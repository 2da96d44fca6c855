"""Protocol-neutral commands and their results."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    """The pile agreed (its own word may be more precise: Scheduled, Unlocked…, see ``status``)."""
    REJECTED = "rejected"
    OFFLINE = "offline"
    """No live connection to the pile: nothing was sent, or the connection closed before the pile answered (it
    may have acted: read the pile's state again)."""
    TIMED_OUT = "timed_out"
    """Sent, but no answer within the call timeout: the pile may or may not have acted."""
    ERROR = "error"
    """The pile answered with a CALLERROR or an answer that breaks the protocol."""


@dataclass(frozen=True)
class ConfigurationKey:
    key: str
    value: str | None
    """None when the pile reports the key without a value."""
    readonly: bool


@dataclass(frozen=True)
class CommandResult:
    outcome: Outcome
    status: str | None = None
    """The pile's own status word (``Accepted``, ``Scheduled``, ``UnlockFailed``…), or the CALLERROR code."""
    message: str = ""
    configuration: tuple[ConfigurationKey, ...] = ()
    """GetConfiguration: the keys the pile knows."""
    unknown_keys: tuple[str, ...] = ()
    """GetConfiguration: the requested keys the pile does not know."""
    list_version: int | None = None
    """GetLocalListVersion: the pile's local list version (0 = empty list, -1 = no local list support)."""
    file_name: str | None = None
    """GetDiagnostics: the file the pile will upload."""


@dataclass(frozen=True)
class RemoteStart:
    id_tag: str
    connector_no: int | None = None
    max_power_w: int | None = None
    """When set, the transaction is limited to this power (a charging profile for this transaction only)."""


@dataclass(frozen=True)
class RemoteStop:
    transaction_id: int


@dataclass(frozen=True)
class ChangeAvailability:
    connector_no: int
    """0 = the whole pile."""
    operative: bool


@dataclass(frozen=True)
class UnlockConnector:
    connector_no: int


@dataclass(frozen=True)
class Reset:
    hard: bool = False


@dataclass(frozen=True)
class GetConfiguration:
    keys: tuple[str, ...] = ()
    """Empty = every key the pile has."""


@dataclass(frozen=True)
class GetBaseReport:
    """The pile's whole configuration, as a report: OCPP 2.0.1 GetBaseReport (ConfigurationInventory, or with
    ``full`` FullInventory: every variable of its device model), which the pile answers in NotifyReport parts;
    a 1.6 pile, which has no reports, is asked GetConfiguration for every key. Either way the result is kept as
    the pile's reported configuration, in the same shape."""

    full: bool = False


@dataclass(frozen=True)
class ChangeConfiguration:
    key: str
    value: str


@dataclass(frozen=True)
class ClearCache:
    """Empty the pile's authorization cache."""


TRIGGERABLE_MESSAGES = frozenset(
    {
        "BootNotification",
        "DiagnosticsStatusNotification",
        "FirmwareStatusNotification",
        "Heartbeat",
        "MeterValues",
        "StatusNotification",
    }
)


@dataclass(frozen=True)
class TriggerMessage:
    message: str
    """One of TRIGGERABLE_MESSAGES."""
    connector_no: int | None = None


@dataclass(frozen=True)
class ReserveNow:
    connector_no: int
    """0 = any connector of the pile."""
    id_tag: str
    expires_at: datetime
    reservation_id: int
    parent_id_tag: str | None = None


@dataclass(frozen=True)
class CancelReservation:
    reservation_id: int


LOCAL_LIST_STATUSES = frozenset({"Accepted", "Blocked", "Expired", "Invalid"})


@dataclass(frozen=True)
class LocalListEntry:
    id_tag: str
    status: str | None
    """One of LOCAL_LIST_STATUSES, or None: remove the tag (differential updates only)."""
    expires_at: datetime | None = None
    parent_id_tag: str | None = None


@dataclass(frozen=True)
class SendLocalList:
    list_version: int
    full: bool
    """True = replace the pile's whole list; False = a differential update."""
    entries: tuple[LocalListEntry, ...]


@dataclass(frozen=True)
class GetLocalListVersion:
    """Ask which version of the local authorization list the pile holds."""


@dataclass(frozen=True)
class GetDiagnostics:
    location: str
    """Where the pile uploads the file: an absolute http, https, ftp or ftps URI."""
    start_time: datetime | None = None
    stop_time: datetime | None = None
    retries: int | None = None
    retry_interval_s: int | None = None


@dataclass(frozen=True)
class UpdateFirmware:
    location: str
    """Where the pile downloads the firmware: an absolute http, https, ftp or ftps URI."""
    retrieve_at: datetime
    retries: int | None = None
    retry_interval_s: int | None = None


@dataclass(frozen=True)
class SetBasicAuthPassword:
    """Give the pile a new HTTP Basic auth password (OCPP 1.6 AuthorizationKey, 2.0.1
    SecurityCtrlr.BasicAuthPassword); the pile uses it from its next connection."""

    password: str = field(repr=False, metadata={"secret": True})
    """Never logged, never audited."""


Command = (
    RemoteStart
    | RemoteStop
    | ChangeAvailability
    | UnlockConnector
    | Reset
    | GetConfiguration
    | GetBaseReport
    | ChangeConfiguration
    | ClearCache
    | TriggerMessage
    | ReserveNow
    | CancelReservation
    | SendLocalList
    | GetLocalListVersion
    | GetDiagnostics
    | UpdateFirmware
    | SetBasicAuthPassword
)


class CommandGateway(Protocol):
    async def send(self, charge_point_id: str, command: Command) -> CommandResult: ...
