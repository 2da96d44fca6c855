"""What an audit entry says, and how the trail is filtered."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    name: str


PLATFORM = Actor(None, "platform")
"""The platform acting by itself (e.g. re-applying desired state after a pile boots)."""


@dataclass(frozen=True)
class AuditRecord:
    actor: Actor
    action: str
    outcome: str
    operator_id: int | None = None
    station_id: int | None = None
    charge_point_id: str | None = None
    target: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditFilter:
    station_id: int | None = None
    charge_point_id: str | None = None
    actor_id: int | None = None
    action_prefix: str | None = None
    """``pile.`` matches every pile command; ``station.lock`` one action."""
    outcome: str | None = None
    from_at: datetime | None = None
    to_at: datetime | None = None
