"""Sending a command to a pile on someone's behalf, with an audit entry of what the pile answered."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from api.access.dto import Viewer
from api.access.service import Place
from api.audit.dto import Actor, AuditRecord
from api.audit.service import AuditService
from api.commands.dto import Command, CommandResult
from api.commands.service import CommandService


@dataclass(frozen=True)
class PileResult:
    charge_point_id: str
    result: CommandResult


def actor_of(viewer: Viewer) -> Actor:
    return Actor(viewer.user_id, viewer.name)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def describe(command: Command) -> dict[str, Any]:
    values: dict[str, Any] = _plain(dataclasses.asdict(command))
    for each in dataclasses.fields(command):
        if each.metadata.get("secret"):  # a password: the trail says it was set, never what it is
            values[each.name] = "(hidden)"
    if isinstance(values.get("location"), str):  # a signed link is a capability: keep it out of the trail
        values["location"] = values["location"].split("?", 1)[0]
    return values


def result_dict(result: CommandResult) -> dict[str, Any]:
    out: dict[str, Any] = {"status": result.status, "message": result.message}
    if result.list_version is not None:
        out["list_version"] = result.list_version
    if result.file_name is not None:
        out["file_name"] = result.file_name
    if result.unknown_keys:
        out["unknown_keys"] = list(result.unknown_keys)
    return out


class AuditedSender:
    """The one place that sends a command to a pile and records who did it and what the pile said."""

    def __init__(self, commands: CommandService, audit: AuditService) -> None:
        self.commands = commands
        self.audit = audit

    async def send(self, actor: Actor, place: Place, command: Command, action: str, target: str = "") -> CommandResult:
        result = await self.commands.send(place.charge_point_id, command)
        await self.audit.record(
            AuditRecord(
                actor=actor,
                action=action,
                outcome=result.outcome.value,
                operator_id=place.operator_id or None,
                station_id=place.station_id or None,
                charge_point_id=place.charge_point_id,
                target=target or _target(place.charge_point_id, command),
                details={"command": type(command).__name__, **describe(command)},
                result=result_dict(result),
            )
        )
        return result


def _target(charge_point_id: str, command: Command) -> str:
    connector = getattr(command, "connector_no", None)
    if connector:
        return f"{charge_point_id} connector {connector}"
    return charge_point_id
