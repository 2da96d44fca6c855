"""Which role may do what over which scope: pure functions over grants, no I/O."""

from __future__ import annotations

from api.access.dto import Grant, Permission, Viewer
from api.models.enums import Role

P = Permission

STATION_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.PLATFORM_ADMIN: frozenset(Permission),
    Role.OPERATOR_ADMIN: frozenset(Permission),
    Role.STATION_MANAGER: frozenset(
        {
            P.OPERATE_PILES,
            P.READ_PILE_DETAILS,
            P.MANAGE_ACCESS,
            P.MANAGE_FILES,
            P.READ_FILES,
            P.READ_SESSIONS,
            P.READ_AUDIT,
        }
    ),
    Role.PARTNER: frozenset({P.READ_REVENUE}),
    Role.FLEET_MANAGER: frozenset(),
    Role.DRIVER: frozenset(),
}
"""What each role may do at a station its grant covers."""


def grant_covers_station(grant: Grant, station_id: int, operator_id: int) -> bool:
    if grant.role == Role.PLATFORM_ADMIN:
        return True
    if grant.station_id is not None:
        return grant.station_id == station_id
    return grant.operator_id is not None and grant.operator_id == operator_id and grant.fleet_id is None


def may_at_station(viewer: Viewer | None, permission: Permission, station_id: int, operator_id: int) -> bool:
    if viewer is None:
        return False
    return any(
        permission in STATION_PERMISSIONS[g.role] and grant_covers_station(g, station_id, operator_id)
        for g in viewer.grants
    )


def may_manage_card(viewer: Viewer | None, operator_id: int | None, fleet_id: int | None) -> bool:
    """Cards: the platform, the issuing operator's admins, and the managers of the fleet that owns it."""
    if viewer is None:
        return False
    for g in viewer.grants:
        if g.role == Role.PLATFORM_ADMIN:
            return True
        if g.role == Role.OPERATOR_ADMIN and operator_id is not None and g.operator_id == operator_id:
            return True
        if g.role == Role.FLEET_MANAGER and fleet_id is not None and g.fleet_id == fleet_id:
            return True
    return False


def runs_operator(viewer: Viewer, operator_id: int | None) -> bool:
    """The platform, or an admin of this operator: who may manage what belongs to the operator as a whole
    (fleets, partners, payouts)."""
    return viewer.is_platform_admin or any(
        g.role == Role.OPERATOR_ADMIN and g.operator_id == operator_id for g in viewer.grants
    )


def may_grant(
    viewer: Viewer | None, grant: Grant, station_operator_id: int | None, fleet_operator_id: int | None
) -> bool:
    """The platform grants anything; an operator admin grants roles inside its own operator only."""
    if viewer is None:
        return False
    if viewer.is_platform_admin:
        return True
    if grant.role in (Role.PLATFORM_ADMIN, Role.DRIVER):
        return False
    return runs_operator(viewer, grant.operator_id or station_operator_id or fleet_operator_id)


def check_grant_shape(grant: Grant) -> str | None:
    """A grant's scope must fit its role; returns what is wrong, or None."""
    scopes = [s for s in (grant.operator_id, grant.station_id, grant.fleet_id) if s is not None]
    match grant.role:
        case Role.PLATFORM_ADMIN | Role.DRIVER:
            return None if not scopes else f"{grant.role.value} takes no scope"
        case Role.OPERATOR_ADMIN:
            ok = grant.operator_id is not None and len(scopes) == 1
            return None if ok else "operator_admin needs exactly an operator"
        case Role.STATION_MANAGER | Role.PARTNER:
            ok = grant.station_id is not None and len(scopes) == 1
            return None if ok else f"{grant.role.value} needs exactly a station"
        case Role.FLEET_MANAGER:
            ok = grant.fleet_id is not None and len(scopes) == 1
            return None if ok else "fleet_manager needs exactly a fleet"
    return "unknown role"
