"""The one entry point for commands to piles."""

from __future__ import annotations

import logging
from datetime import datetime
from urllib.parse import urlsplit

from api.commands.dto import (
    LOCAL_LIST_STATUSES,
    TRIGGERABLE_MESSAGES,
    ChangeAvailability,
    ChangeConfiguration,
    Command,
    CommandGateway,
    CommandResult,
    GetConfiguration,
    GetDiagnostics,
    Outcome,
    RemoteStart,
    ReserveNow,
    SendLocalList,
    SetBasicAuthPassword,
    TriggerMessage,
    UnlockConnector,
    UpdateFirmware,
)
from api.core import metrics
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

    def check(self, command: Command) -> None:
        """Refuse bad arguments (InvalidInput) before anything is stored or sent."""
        _check(command)

    async def send(self, charge_point_id: str, command: Command) -> CommandResult:
        """Send ``command`` and return what the pile answered; bad arguments raise InvalidInput, nothing else does."""
        _check(command)
        result = await self._gateway.send(charge_point_id, command)
        metrics.commands.labels(type(command).__name__, result.outcome.value).inc()
        log.info("%s: %s -> %s %s", charge_point_id, command, result.outcome, result.status or "")
        return result


def _check(command: Command) -> None:
    match command:
        case RemoteStart():
            _id_tag(command.id_tag)
            if command.connector_no is not None and command.connector_no < 1:
                raise InvalidInput("remote start needs a connector number of 1 or more")
            if command.max_power_w is not None and command.max_power_w < 1:
                raise InvalidInput("a power limit is 1 W or more")
        case ChangeAvailability() if command.connector_no < 0:
            raise InvalidInput("connector number 0 (the whole pile) or more")
        case UnlockConnector() if command.connector_no < 1:
            raise InvalidInput("unlock needs a connector number of 1 or more")
        case GetConfiguration():
            for key in command.keys:
                _config_key(key)
        case ChangeConfiguration():
            _config_key(command.key)
            if len(command.value) > 500:
                raise InvalidInput("a configuration value has at most 500 characters")
        case TriggerMessage():
            if command.message not in TRIGGERABLE_MESSAGES:
                allowed = ", ".join(sorted(TRIGGERABLE_MESSAGES))
                raise InvalidInput(f"a pile can be asked for one of {allowed}")
            if command.connector_no is not None and command.connector_no < 1:
                raise InvalidInput("trigger message needs a connector number of 1 or more, or none")
        case ReserveNow():
            if command.connector_no < 0:
                raise InvalidInput("reserve needs connector number 0 (any connector) or more")
            _id_tag(command.id_tag)
            if command.parent_id_tag is not None:
                _id_tag(command.parent_id_tag)
            _aware(command.expires_at, "the reservation expiry")
        case SendLocalList():
            _local_list(command)
        case GetDiagnostics():
            _location(command.location)
            if command.start_time is not None:
                _aware(command.start_time, "the diagnostics start time")
            if command.stop_time is not None:
                _aware(command.stop_time, "the diagnostics stop time")
            if command.start_time and command.stop_time and command.start_time > command.stop_time:
                raise InvalidInput("the diagnostics start time is after its stop time")
            _retries(command.retries, command.retry_interval_s)
        case UpdateFirmware():
            _location(command.location)
            _aware(command.retrieve_at, "the retrieve time")
            _retries(command.retries, command.retry_interval_s)
        case SetBasicAuthPassword():
            if not 16 <= len(command.password) <= 40 or not command.password.isascii():
                raise InvalidInput("a pile's password has 16 to 40 ASCII characters")


def _id_tag(id_tag: str) -> None:
    if not 1 <= len(id_tag) <= 20:
        raise InvalidInput("an id tag has 1 to 20 characters")


def _config_key(key: str) -> None:
    if not 1 <= len(key) <= 50:
        raise InvalidInput("a configuration key has 1 to 50 characters")


def _aware(moment: datetime, what: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidInput(f"{what} needs a time zone")


def _location(location: str) -> None:
    try:
        parts = urlsplit(location)
        absolute = parts.scheme.lower() in {"http", "https", "ftp", "ftps"} and bool(parts.hostname)
    except ValueError:  # e.g. a broken IPv6 host
        absolute = False
    if not absolute:
        raise InvalidInput("a location is an absolute http, https, ftp or ftps URI")


def _retries(retries: int | None, retry_interval_s: int | None) -> None:
    if retries is not None and retries < 0:
        raise InvalidInput("retries are 0 or more")
    if retry_interval_s is not None and retry_interval_s < 0:
        raise InvalidInput("a retry interval is 0 s or more")


def _local_list(command: SendLocalList) -> None:
    if command.list_version < 1:
        raise InvalidInput("a local list version is 1 or more")
    seen: set[str] = set()
    for entry in command.entries:
        _id_tag(entry.id_tag)
        if entry.id_tag.casefold() in seen:  # id tags are case-insensitive
            raise InvalidInput(f"id tag {entry.id_tag} is in the local list twice")
        seen.add(entry.id_tag.casefold())
        if entry.status is None:
            if command.full:
                raise InvalidInput(
                    "a full local list gives every tag a status; removing a tag is a differential update"
                )
            if entry.expires_at is not None or entry.parent_id_tag is not None:
                raise InvalidInput(f"id tag {entry.id_tag} is removed, so it has no expiry or parent")
            continue
        if entry.status not in LOCAL_LIST_STATUSES:
            raise InvalidInput(f"a local list status is one of {', '.join(sorted(LOCAL_LIST_STATUSES))}")
        if entry.parent_id_tag is not None:
            _id_tag(entry.parent_id_tag)
        if entry.expires_at is not None:
            _aware(entry.expires_at, "a local list expiry")
