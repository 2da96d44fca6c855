"""The one entry point for commands to piles."""

from __future__ import annotations

import logging

from api.commands.dto import (
    ChangeAvailability,
    Command,
    CommandGateway,
    CommandResult,
    Outcome,
    RemoteStart,
    UnlockConnector,
)
from api.core.errors import InvalidInput

log = logging.getLogger(__name__)


class _NoGateway:
    async def send(self, charge_point_id: str, command: Command) -> CommandResult:
        return CommandResult(Outcome.OFFLINE, message="this process has no connection to any pile")


class CommandService:
    def __init__(self) -> None:
        self._gateway: CommandGateway = _NoGateway()

    def use(self, gateway: CommandGateway) -> None:
        """Plug in how commands reach piles (done once, when the app is composed)."""
        self._gateway = gateway

    async def send(self, charge_point_id: str, command: Command) -> CommandResult:
        """Send ``command`` and return what the pile answered; bad arguments raise InvalidInput, nothing else does."""
        _check(command)
        result = await self._gateway.send(charge_point_id, command)
        log.info("%s: %s -> %s %s", charge_point_id, command, result.outcome, result.status or "")
        return result


def _check(command: Command) -> None:
    if isinstance(command, RemoteStart):
        if not 1 <= len(command.id_tag) <= 20:
            raise InvalidInput("an id tag has 1 to 20 characters")
        if command.connector_no is not None and command.connector_no < 1:
            raise InvalidInput("remote start needs a connector number of 1 or more")
    elif isinstance(command, ChangeAvailability) and command.connector_no < 0:
        raise InvalidInput("connector number 0 (the whole pile) or more")
    elif isinstance(command, UnlockConnector) and command.connector_no < 1:
        raise InvalidInput("unlock needs a connector number of 1 or more")
