"""The command gateway of this node: commands go to the pile's live socket here, if it has one."""

from __future__ import annotations

from api.commands.dto import Command, CommandResult, Outcome
from api.ocpp.connection import OcppConnection
from api.ocpp.registry import Registry


class LocalGateway:
    def __init__(self, registry: Registry[OcppConnection]) -> None:
        self.registry = registry

    async def send(self, charge_point_id: str, command: Command) -> CommandResult:
        connection = self.registry.get(charge_point_id)
        if connection is None:
            return CommandResult(Outcome.OFFLINE, message=f"{charge_point_id} is not connected")
        return await connection.execute(command)
