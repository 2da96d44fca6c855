"""Who is asking (the viewer), what they hold (grants), and what they may do (permissions)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from api.models.enums import Role


class Permission(StrEnum):
    OPERATE_PILES = "piles.operate"
    """Remote start/stop, lock/unlock, reset, configuration, reservations, diagnostics, firmware."""
    READ_PILE_DETAILS = "piles.read"
    """Serial numbers, SIM ids, configuration, desired vs reported state."""
    MANAGE_ACCESS = "access.manage"
    """Who may charge at a station: policy, allow-list, block list, local lists."""
    MANAGE_FILES = "files.manage"
    READ_FILES = "files.read"
    READ_SESSIONS = "sessions.read"
    """Every session at a station (drivers and fleets see their own without this)."""
    READ_AUDIT = "audit.read"
    READ_REVENUE = "revenue.read"
    MANAGE_STAFF = "staff.manage"
    MANAGE_ID_TAGS = "id_tags.manage"
    MANAGE_TARIFFS = "tariffs.manage"
    """Publish a station's tariffs (operator admins: prices are the operator's decision)."""
    MANAGE_ORDERS = "orders.manage"
    """Refund, review quarantined orders, see every order at a station."""


DESCRIPTION = {
    Permission.OPERATE_PILES: "operate the piles of",
    Permission.READ_PILE_DETAILS: "read the pile details of",
    Permission.MANAGE_ACCESS: "manage who may charge at",
    Permission.MANAGE_FILES: "change the files of",
    Permission.READ_FILES: "read the files of",
    Permission.READ_SESSIONS: "read the sessions of",
    Permission.READ_AUDIT: "read the audit trail of",
    Permission.READ_REVENUE: "read the revenue of",
    Permission.MANAGE_STAFF: "manage the staff of",
    Permission.MANAGE_ID_TAGS: "manage the cards of",
    Permission.MANAGE_TARIFFS: "set the tariffs of",
    Permission.MANAGE_ORDERS: "manage the orders of",
}


@dataclass(frozen=True)
class Grant:
    role: Role
    operator_id: int | None = None
    station_id: int | None = None
    fleet_id: int | None = None

    def describe(self) -> str:
        words = self.role.value.replace("_", " ")
        if self.station_id is not None:
            return f"{words} of station {self.station_id}"
        if self.fleet_id is not None:
            return f"{words} of fleet {self.fleet_id}"
        if self.operator_id is not None:
            return f"{words} of operator {self.operator_id}"
        return words


@dataclass(frozen=True)
class Viewer:
    """A logged-in person as the API sees them for one request."""

    user_id: int
    name: str
    grants: tuple[Grant, ...] = ()

    def has(self, role: Role) -> bool:
        return any(g.role == role for g in self.grants)

    @property
    def is_platform_admin(self) -> bool:
        return self.has(Role.PLATFORM_ADMIN)

    def describe(self) -> str:
        return ", ".join(g.describe() for g in self.grants) or "no role"


@dataclass(frozen=True)
class Visibility:
    """Which sessions (or audit entries) a viewer may see; ``everything`` overrides the sets."""

    everything: bool = False
    station_ids: frozenset[int] = frozenset()
    """Every station covered, including all stations of the operators below."""
    operator_ids: frozenset[int] = frozenset()
    id_tags: frozenset[str] = frozenset()
    """Sessions started with these cards (a driver's own, a fleet's)."""

    @property
    def nothing(self) -> bool:
        return not (self.everything or self.station_ids or self.operator_ids or self.id_tags)

    def allows(self, station_id: int | None, *id_tags: str | None) -> bool:
        """May a session at ``station_id`` started with (or by the vehicle of) ``id_tags`` be seen?"""
        if self.everything:
            return True
        if station_id is not None and station_id in self.station_ids:
            return True
        return any(tag is not None and tag in self.id_tags for tag in id_tags)


@dataclass(frozen=True)
class Token:
    token: str
    expires_in_s: int
    viewer: Viewer = field(compare=False)
