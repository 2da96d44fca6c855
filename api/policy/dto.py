"""Values of the access-policy domain: windows, policies, rules, who is asking, and the decision."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from api.models.enums import AccessMode, AccessRuleEffect


def hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True)
class Window:
    """A weekly time window in Asia/Shanghai time during which ``mode`` applies."""

    days: frozenset[int]
    """ISO weekdays, 1 = Monday to 7 = Sunday (the day the window starts on)."""
    start_min: int
    """Minutes after local midnight, 0..1439."""
    end_min: int
    """1..1440; at or before ``start_min`` the window runs past midnight into the next day."""
    mode: AccessMode

    def as_json(self) -> dict[str, object]:
        return {"days": sorted(self.days), "from": hhmm(self.start_min), "to": hhmm(self.end_min),
                "mode": self.mode.value}


@dataclass(frozen=True)
class Policy:
    station_id: int
    mode: AccessMode = AccessMode.PUBLIC
    schedule: tuple[Window, ...] = ()
    revision: int = 0
    updated_at: datetime | None = None


@dataclass(frozen=True)
class Credential:
    """Who presents an id tag: the tag, and the person and fleet it belongs to (if known)."""

    id_tag: str
    user_id: int | None = None
    fleet_id: int | None = None


@dataclass(frozen=True)
class Rule:
    id: int
    station_id: int
    effect: AccessRuleEffect
    id_tag: str | None = None
    user_id: int | None = None
    fleet_id: int | None = None
    note: str = ""
    created_at: datetime | None = None

    def matches(self, who: Credential) -> bool:
        return (
            (self.id_tag is not None and self.id_tag == who.id_tag)
            or (self.user_id is not None and self.user_id == who.user_id)
            or (self.fleet_id is not None and self.fleet_id == who.fleet_id)
        )

    def describe(self) -> str:
        if self.id_tag is not None:
            return f"id tag {self.id_tag}"
        if self.user_id is not None:
            return f"person {self.user_id}"
        return f"fleet {self.fleet_id}"


class Verdict(StrEnum):
    ADMITTED = "admitted"
    BLOCKED = "blocked"
    """On the station's block list."""
    NOT_ADMITTED = "not_admitted"
    """Not on the allow-list, not a card of an admitted fleet, or the station is closed now."""


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reason: str = ""
    mode: AccessMode = AccessMode.PUBLIC
    other_times: bool = False
    """Not admitted now, but the station's schedule admits this card at some other time: the refusal is one of
    time, not of place (OCPP 2.0.1 tells a pile ``NotAtThisTime`` rather than ``NotAtThisLocation``)."""

    @property
    def admitted(self) -> bool:
        return self.verdict == Verdict.ADMITTED


@dataclass(frozen=True)
class Card:
    """A card (or a known vehicle's VIN) as the local list needs it."""

    id_tag: str
    status: str
    """OCPP 1.6 AuthorizationStatus word of the card itself: Accepted, Blocked or Expired."""
    expires_at: datetime | None = None
    parent_tag: str | None = None
    user_id: int | None = None
    fleet_id: int | None = None


@dataclass(frozen=True)
class ListEntry:
    status: str
    expires: str | None = None
    """ISO 8601 in UTC, as stored (a string, so lists compare and store exactly)."""
    parent: str | None = None

    def as_json(self) -> dict[str, str | None]:
        return {"status": self.status, "expires": self.expires, "parent": self.parent}


@dataclass(frozen=True)
class ListDiff:
    """What turns one local list into another: entries to add or change, and tags to remove."""

    upserts: dict[str, ListEntry] = field(default_factory=dict)
    removals: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.upserts or self.removals)
