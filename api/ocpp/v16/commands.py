"""Protocol-neutral commands as OCPP 1.6 calls, and the pile's answers as command results."""

from __future__ import annotations

from typing import Any

from ocpp.v16 import call
from ocpp.v16.enums import AvailabilityType, ResetType

from api.commands.dto import (
    ChangeAvailability,
    Command,
    CommandResult,
    Outcome,
    RemoteStart,
    RemoteStop,
    Reset,
    UnlockConnector,
)

# the status words each answer may carry that mean the pile agreed
AGREED = {
    "RemoteStartTransaction": {"Accepted"},
    "RemoteStopTransaction": {"Accepted"},
    "ChangeAvailability": {"Accepted", "Scheduled"},
    "UnlockConnector": {"Unlocked"},
    "Reset": {"Accepted"},
}


def to_call(command: Command) -> Any:
    match command:
        case RemoteStart(id_tag=id_tag, connector_no=connector_no):
            return call.RemoteStartTransaction(id_tag=id_tag, connector_id=connector_no)
        case RemoteStop(transaction_id=transaction_id):
            return call.RemoteStopTransaction(transaction_id=transaction_id)
        case ChangeAvailability(connector_no=connector_no, operative=operative):
            kind = AvailabilityType.operative if operative else AvailabilityType.inoperative
            return call.ChangeAvailability(connector_id=connector_no, type=kind)
        case UnlockConnector(connector_no=connector_no):
            return call.UnlockConnector(connector_id=connector_no)
        case Reset(hard=hard):
            return call.Reset(type=ResetType.hard if hard else ResetType.soft)
    raise TypeError(f"no OCPP 1.6 call for {command!r}")


def interpret(action: str, answer: Any) -> CommandResult:
    status = str(answer.status)
    outcome = Outcome.ACCEPTED if status in AGREED[action] else Outcome.REJECTED
    return CommandResult(outcome, status)
