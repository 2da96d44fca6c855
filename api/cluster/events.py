"""What nodes tell each other over the bus about commands (the command itself travels as codec JSON)."""

from __future__ import annotations

from dataclasses import dataclass

from api.core.bus import Event


@dataclass(frozen=True)
class CommandRequested(Event):
    request_id: str
    reply_to: str
    """The asking node."""
    charge_point_id: str
    command: str


@dataclass(frozen=True)
class CommandAnswered(Event):
    request_id: str
    result: str
