"""Protocol-neutral commands and their results."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    """The pile agreed (its own word may be more precise: Scheduled, Unlocked…, see ``status``)."""
    REJECTED = "rejected"
    OFFLINE = "offline"
    """No live connection to the pile: nothing was sent."""
    TIMED_OUT = "timed_out"
    """Sent, but no answer within the call timeout: the pile may or may not have acted."""
    ERROR = "error"
    """The pile answered with a CALLERROR or an answer that breaks the protocol."""


@dataclass(frozen=True)
class CommandResult:
    outcome: Outcome
    status: str | None = None
    """The pile's own status word (``Accepted``, ``Scheduled``, ``UnlockFailed``…), or the CALLERROR code."""
    message: str = ""


@dataclass(frozen=True)
class RemoteStart:
    id_tag: str
    connector_no: int | None = None


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


Command = RemoteStart | RemoteStop | ChangeAvailability | UnlockConnector | Reset


class CommandGateway(Protocol):
    async def send(self, charge_point_id: str, command: Command) -> CommandResult: ...
