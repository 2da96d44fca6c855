"""Access use cases: staff logins and tokens, role grants, scope checks, and the life of id tags (cards)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from api.access import passwords, repository, rules
from api.access.dto import DESCRIPTION, Grant, Permission, Token, Viewer, Visibility
from api.access.errors import AccountLocked, Forbidden, LoginFailed, Unauthenticated
from api.access.tokens import TokenCodec
from api.core.clock import Clock, as_utc
from api.core.errors import InvalidInput, NotFound
from api.core.vehicle_ids import is_vin, normalize_plate
from api.models import DriverVehicle, Fleet, IdTag, RoleGrant, User
from api.models.enums import IdTagKind, IdTagStatus, Role

log = logging.getLogger(__name__)

PAYER_FIELDS = {"wechatpay": "wechat_openid", "alipay": "alipay_user_id"}
"""Where a person's identity at each payment provider (their mini-program account) is kept."""
MAX_DRIVER_VEHICLES = 10
LOCK_AFTER_FAILURES = 5
LOCK_FOR = timedelta(minutes=15)
MAX_TAG_PAGE = 200


@dataclass(frozen=True)
class Place:
    """Where a pile is: the scope its commands are checked against."""

    charge_point_id: str
    station_id: int
    operator_id: int


def require_viewer(viewer: Viewer | None) -> Viewer:
    if viewer is None:
        raise Unauthenticated("log in first: send 'Authorization: Bearer <token>' (from the login mutation)")
    return viewer


def forbidden(viewer: Viewer, permission: Permission, what: str) -> Forbidden:
    return Forbidden(f"{viewer.name} ({viewer.describe()}) may not {DESCRIPTION[permission]} {what}")


class AccessService:
    def __init__(self, clock: Clock, tokens: TokenCodec) -> None:
        self.clock = clock
        self.tokens = tokens
        self.card_listeners: list[Callable[[str, tuple[int | None, int | None]], None]] = []
        """Told (tag, (earlier user id, earlier fleet id)) after a card is issued or changed."""

    # -- people and logins ---------------------------------------------------------------------------

    async def create_user(
        self, actor: Viewer | None, name: str, login: str | None, password: str | None,
        grants: list[Grant] | None = None,
    ) -> User:
        """Create a person; ``actor`` None means the platform itself (CLI, demo seed)."""
        grants = grants or []
        if actor is not None:
            for grant in grants:
                await self._check_may_grant(actor, grant)
            if not grants:
                raise InvalidInput("a staff account needs at least one role")
        name = name.strip()
        if not 1 <= len(name) <= 64:
            raise InvalidInput("a name has 1 to 64 characters")
        password_hash = None
        if login is not None:
            login = login.strip().lower()
            if not 3 <= len(login) <= 64 or not login.replace("_", "").replace(".", "").replace("-", "").replace(
                "@", ""
            ).isalnum():
                raise InvalidInput("a login has 3 to 64 letters, digits, '.', '-', '_' or '@'")
            if await repository.user_by_login(login) is not None:
                raise InvalidInput(f"the login {login!r} is taken")
            if password is None or (why := passwords.weakness(password)):
                raise InvalidInput(why if password is not None else "a staff account needs a password")
            password_hash = await passwords.hash_password(password)
        user = await repository.create_user(name=name, login=login, password_hash=password_hash)
        for grant in grants:
            await self._store_grant(user.id, grant, actor)
        return user

    async def grant(self, actor: Viewer | None, user_id: int, grant: Grant) -> RoleGrant:
        if actor is not None:
            await self._check_may_grant(actor, grant)
        if await repository.user(user_id) is None:
            raise NotFound(f"user {user_id} does not exist")
        return await self._store_grant(user_id, grant, actor)

    async def revoke(self, actor: Viewer, grant_id: int) -> None:
        found = await repository.grant_by_id(grant_id)
        if found is None:
            raise NotFound(f"grant {grant_id} does not exist")
        await self._check_may_grant(actor, _grant_of(found))
        await repository.revoke(grant_id)

    async def _store_grant(self, user_id: int, grant: Grant, actor: Viewer | None) -> RoleGrant:
        if (why := rules.check_grant_shape(grant)) is not None:
            raise InvalidInput(why)
        return await repository.grant(
            user_id, grant.role, grant.operator_id, grant.station_id, grant.fleet_id,
            actor.user_id if actor else None,
        )

    async def _check_may_grant(self, actor: Viewer, grant: Grant) -> None:
        station_operator = (
            await repository.station_operator(grant.station_id) if grant.station_id is not None else None
        )
        if grant.station_id is not None and station_operator is None:
            raise NotFound(f"station {grant.station_id} does not exist")
        fleet_operator = None
        if grant.fleet_id is not None:
            fleet = await repository.fleet(grant.fleet_id)
            if fleet is None:
                raise NotFound(f"fleet {grant.fleet_id} does not exist")
            fleet_operator = fleet.operator_id
        if not rules.may_grant(actor, grant, station_operator, fleet_operator):
            raise Forbidden(f"{actor.name} ({actor.describe()}) may not grant {grant.describe()}")

    async def login(self, login: str, password: str) -> Token:
        now = self.clock.now()
        user = await repository.user_by_login(login.strip().lower())
        # verify even for an unknown login, so timing does not tell which logins exist
        ok = await passwords.verify_password(user.password_hash if user else None, password)
        if user is None or not user.active:
            raise LoginFailed("unknown login or wrong password")
        if user.locked_until is not None and user.locked_until > now:
            raise AccountLocked(
                f"too many failed logins: try again after {user.locked_until.isoformat(timespec='seconds')}"
            )
        if not ok:
            count = await repository.count_failed_login(user.id, LOCK_AFTER_FAILURES, now + LOCK_FOR)
            log.warning("failed login for %s (%d in a row)", user.login, count)
            raise LoginFailed("unknown login or wrong password")
        changes: dict[str, object] = {"failed_logins": 0, "locked_until": None}
        if user.password_hash and passwords.needs_rehash(user.password_hash):
            changes["password_hash"] = await passwords.hash_password(password)
        await repository.update_user(user.id, **changes)
        viewer = await self._viewer_of(user)
        return Token(self.tokens.issue(user.id, user.token_version, now), self.tokens.ttl_s, viewer)

    async def token_for(self, user_id: int) -> Token:
        """A token for a person who proved who they are elsewhere (a mini-program login)."""
        user = await repository.user(user_id)
        if user is None or not user.active:
            raise NotFound(f"user {user_id} does not exist or is inactive")
        viewer = await self._viewer_of(user)
        return Token(self.tokens.issue(user.id, user.token_version, self.clock.now()), self.tokens.ttl_s, viewer)

    async def change_password(self, viewer: Viewer, old: str, new: str) -> None:
        user = await repository.user(viewer.user_id)
        if user is None or not await passwords.verify_password(user.password_hash, old):
            raise LoginFailed("the current password is wrong")
        if why := passwords.weakness(new):
            raise InvalidInput(why)
        await repository.update_user(
            user.id, password_hash=await passwords.hash_password(new), token_version=user.token_version + 1
        )

    async def viewer_from_token(self, token: str) -> Viewer:
        claims = self.tokens.read(token, self.clock.now())
        user = await repository.user(claims.user_id)
        if user is None or not user.active:
            raise Unauthenticated("the account of this token no longer exists or is deactivated")
        if user.token_version != claims.token_version:
            raise Unauthenticated("the token was revoked (password changed); log in again")
        return await self._viewer_of(user)

    async def _viewer_of(self, user: User) -> Viewer:
        grants = tuple(_grant_of(g) for g in await repository.grants_of(user.id))
        return Viewer(user.id, user.name, grants)

    async def create_fleet(self, actor: Viewer | None, operator_id: int, name: str) -> Fleet:
        if actor is not None and not rules.runs_operator(actor, operator_id):
            raise Forbidden(f"{actor.name} ({actor.describe()}) may not create fleets of operator {operator_id}")
        if not name.strip():
            raise InvalidInput("a fleet needs a name")
        return await repository.create_fleet(operator_id, name.strip())

    # -- scope checks --------------------------------------------------------------------------------

    async def require_station(self, viewer: Viewer | None, permission: Permission, station_id: int) -> int:
        """The station's operator id, if the viewer may do ``permission`` there; else a clear error."""
        viewer = require_viewer(viewer)
        operator_id = await repository.station_operator(station_id)
        if operator_id is None:
            raise NotFound(f"station {station_id} does not exist")
        if not rules.may_at_station(viewer, permission, station_id, operator_id):
            raise forbidden(viewer, permission, f"station {station_id}")
        return operator_id

    async def place_of(self, charge_point_id: str) -> Place:
        """Where a pile is (station and operator 0 while it belongs to no station), in one query; no check."""
        found = await repository.charge_point_place(charge_point_id)
        if found is None:
            raise NotFound(f"charge point {charge_point_id!r} does not exist")
        station_id, operator_id = found
        return Place(charge_point_id, station_id or 0, operator_id or 0)

    async def require_charge_point(self, viewer: Viewer | None, permission: Permission, charge_point_id: str) -> Place:
        viewer = require_viewer(viewer)
        place = await self.place_of(charge_point_id)
        if not place.station_id:
            if not viewer.is_platform_admin:  # a pending pile belongs to no station yet: platform only
                raise forbidden(viewer, permission, f"charge point {charge_point_id} (not yet placed at a station)")
            return place
        if not rules.may_at_station(viewer, permission, place.station_id, place.operator_id):
            raise forbidden(viewer, permission, f"station {place.station_id} (charge point {charge_point_id})")
        return place

    async def station_operator(self, station_id: int) -> int | None:
        return await repository.station_operator(station_id)

    async def visibility(self, viewer: Viewer | None, permission: Permission = Permission.READ_SESSIONS) -> Visibility:
        """What the viewer may see of sessions (or, with READ_AUDIT, of the audit trail)."""
        if viewer is None:
            return Visibility()
        if viewer.is_platform_admin:
            return Visibility(everything=True)
        stations: set[int] = set()
        operators: set[int] = set()
        fleets: set[int] = set()
        for g in viewer.grants:
            if permission not in rules.STATION_PERMISSIONS[g.role]:
                if g.role == Role.FLEET_MANAGER and g.fleet_id is not None:
                    fleets.add(g.fleet_id)
                continue
            if g.station_id is not None:
                stations.add(g.station_id)
            elif g.operator_id is not None:
                operators.add(g.operator_id)
        tags: frozenset[str] = frozenset()
        if permission == Permission.READ_SESSIONS:
            own = viewer.user_id if viewer.has(Role.DRIVER) else None
            if own is not None or fleets:
                tags = frozenset(await repository.tags_of(own, frozenset(fleets)))
                if own is not None:
                    tags |= frozenset(await repository.vins_of(own))
        stations.update(await repository.station_ids_of_operators(frozenset(operators)))
        return Visibility(False, frozenset(stations), frozenset(operators), tags)

    # -- id tags (cards) -----------------------------------------------------------------------------

    async def issue_id_tag(
        self, actor: Viewer | None, tag: str, *, kind: IdTagKind = IdTagKind.RFID, operator_id: int | None = None,
        fleet_id: int | None = None, user_id: int | None = None, expires_at: datetime | None = None,
        parent_tag: str | None = None,
    ) -> IdTag:
        tag = tag.strip()
        if not 1 <= len(tag) <= 20 or not tag.isprintable():
            raise InvalidInput("an id tag has 1 to 20 printable characters (OCPP 1.6 IdToken)")
        fleet = await repository.fleet(fleet_id) if fleet_id is not None else None
        if fleet_id is not None and fleet is None:
            raise NotFound(f"fleet {fleet_id} does not exist")
        if fleet is not None:
            operator_id = operator_id or fleet.operator_id
        if actor is not None and not rules.may_manage_card(actor, operator_id, fleet_id):
            raise forbidden(actor, Permission.MANAGE_ID_TAGS, _card_owner(operator_id, fleet_id))
        if user_id is not None and await repository.user(user_id) is None:
            raise NotFound(f"user {user_id} does not exist")
        if expires_at is not None and expires_at.tzinfo is None:
            raise InvalidInput("expiresAt needs a time zone")
        if await repository.id_tag(tag) is not None:
            raise InvalidInput(f"id tag {tag!r} already exists")
        expires_at = as_utc(expires_at) if expires_at is not None else None  # MySQL keeps no offset: store UTC
        card = await repository.create_id_tag(
            tag=tag, kind=kind, operator_id=operator_id, fleet_id=fleet_id, user_id=user_id,
            expires_at=expires_at, parent_tag=parent_tag,
        )
        self._changed(card)
        return card

    async def app_tag(self, user_id: int) -> str:
        """The driver's app token (an APP id tag of their own), issued on first use; piles are started with it."""
        tag = f"APP{user_id:010d}"
        if await repository.id_tag(tag) is None:
            try:
                await self.issue_id_tag(None, tag, kind=IdTagKind.APP, user_id=user_id)
            except InvalidInput:
                pass  # issued meanwhile by a concurrent request
        return tag

    async def payer_id(self, user_id: int, provider: str) -> str | None:
        """Who the person is at a payment provider (their mini-program identity), if linked. Providers without
        accounts of their own (the sandbox) know the person by our id."""
        user = await repository.user(user_id)
        if user is None:
            raise NotFound(f"user {user_id} does not exist")
        field = PAYER_FIELDS.get(provider)
        return getattr(user, field) if field is not None else f"user-{user_id}"

    async def user_by_payer(self, provider: str, payer_id: str) -> int | None:
        """The person whose identity at ``provider`` is ``payer_id``, if any."""
        return await repository.user_id_where(**{_payer_field(provider): payer_id})

    async def link_payer(self, user_id: int, provider: str, payer_id: str) -> None:
        """Remember the person's identity at a provider (set by the mini-program logins)."""
        await repository.update_user(user_id, **{_payer_field(provider): payer_id})

    # -- a driver's own vehicles (declared in the mini-program) ---------------------------------------

    async def driver_vehicles(self, viewer: Viewer | None) -> list[DriverVehicle]:
        return await repository.driver_vehicles(require_viewer(viewer).user_id)

    async def add_driver_vehicle(self, viewer: Viewer | None, plate: str | None, vin: str | None) -> DriverVehicle:
        """List a vehicle (a plate, a VIN or both). It grants nothing: see ``DriverVehicle``."""
        viewer = require_viewer(viewer)
        plate = plate.strip() if plate else None
        vin = vin.strip().upper() if vin else None
        if not plate and not vin:
            raise InvalidInput("give the number plate, the VIN or both")
        if plate:
            normalized = normalize_plate(plate)
            if normalized is None:
                raise InvalidInput(f"{plate!r} is not a number plate (e.g. 浙A12345, 浙AD12345)")
            plate = normalized
        if vin and not is_vin(vin):
            raise InvalidInput(f"{vin!r} is not a VIN (17 characters, no I, O or Q)")
        mine = await repository.driver_vehicles(viewer.user_id)
        if any((plate and v.plate == plate) or (vin and v.vin == vin) for v in mine):
            raise InvalidInput("this vehicle is already in your list")
        if len(mine) >= MAX_DRIVER_VEHICLES:
            raise InvalidInput(f"at most {MAX_DRIVER_VEHICLES} vehicles per person")
        return await repository.create_driver_vehicle(viewer.user_id, plate, vin)

    async def remove_driver_vehicle(self, viewer: Viewer | None, vehicle_id: int) -> None:
        if not await repository.delete_driver_vehicle(require_viewer(viewer).user_id, vehicle_id):
            raise NotFound(f"vehicle {vehicle_id} is not in your list")

    async def _card_for_change(self, actor: Viewer, tag: str) -> IdTag:
        found = await repository.id_tag(tag)
        if found is None:
            raise NotFound(f"id tag {tag!r} does not exist")
        if not rules.may_manage_card(actor, found.operator_id, found.fleet_id):
            raise forbidden(
                actor, Permission.MANAGE_ID_TAGS, f"{_card_owner(found.operator_id, found.fleet_id)} (id tag {tag})"
            )
        return found

    async def block_id_tag(self, actor: Viewer, tag: str, reason: str) -> IdTag:
        found = await self._card_for_change(actor, tag)
        await repository.update_id_tag(found.id, status=IdTagStatus.BLOCKED, blocked_reason=reason.strip()[:128])
        return await self._reload(tag, found)

    async def unblock_id_tag(self, actor: Viewer, tag: str) -> IdTag:
        found = await self._card_for_change(actor, tag)
        await repository.update_id_tag(found.id, status=IdTagStatus.ACCEPTED, blocked_reason="")
        return await self._reload(tag, found)

    async def set_id_tag_expiry(self, actor: Viewer, tag: str, expires_at: datetime | None) -> IdTag:
        found = await self._card_for_change(actor, tag)
        if expires_at is not None and expires_at.tzinfo is None:
            raise InvalidInput("expiresAt needs a time zone")
        expires_at = as_utc(expires_at) if expires_at is not None else None  # MySQL keeps no offset: store UTC
        status = found.status
        if status == IdTagStatus.EXPIRED and (expires_at is None or expires_at > self.clock.now()):
            status = IdTagStatus.ACCEPTED
        await repository.update_id_tag(found.id, expires_at=expires_at, status=status)
        return await self._reload(tag, found)

    async def assign_id_tag(
        self, actor: Viewer, tag: str, *, user_id: int | None, fleet_id: int | None
    ) -> IdTag:
        found = await self._card_for_change(actor, tag)
        if fleet_id is not None:
            fleet = await repository.fleet(fleet_id)
            if fleet is None:
                raise NotFound(f"fleet {fleet_id} does not exist")
            if not rules.may_manage_card(actor, fleet.operator_id, fleet_id):
                raise forbidden(actor, Permission.MANAGE_ID_TAGS, f"fleet {fleet_id}")
        if user_id is not None and await repository.user(user_id) is None:
            raise NotFound(f"user {user_id} does not exist")
        await repository.update_id_tag(found.id, user_id=user_id, fleet_id=fleet_id)
        return await self._reload(tag, found)

    async def id_tags(
        self, viewer: Viewer | None, status: IdTagStatus | None, kind: IdTagKind | None, limit: int
    ) -> list[IdTag]:
        viewer = require_viewer(viewer)
        if not 1 <= limit <= MAX_TAG_PAGE:
            raise InvalidInput(f"first must be between 1 and {MAX_TAG_PAGE}")
        if viewer.is_platform_admin:
            return await repository.id_tags(None, frozenset(), None, status, kind, limit)
        operators = frozenset(g.operator_id for g in viewer.grants if g.role == Role.OPERATOR_ADMIN and g.operator_id)
        fleets = frozenset(g.fleet_id for g in viewer.grants if g.role == Role.FLEET_MANAGER and g.fleet_id)
        own = viewer.user_id if viewer.has(Role.DRIVER) else None
        return await repository.id_tags(operators, fleets, own, status, kind, limit)

    async def _reload(self, tag: str, before: IdTag) -> IdTag:
        found = await repository.id_tag(tag)
        assert found is not None
        self._changed(found, before)
        return found

    def _changed(self, card: IdTag, before: IdTag | None = None) -> None:
        for listener in self.card_listeners:
            listener(card.tag, (before.user_id, before.fleet_id) if before is not None else (None, None))


def _grant_of(row: RoleGrant) -> Grant:
    return Grant(Role(row.role), row.operator_id, row.station_id, row.fleet_id)


def _payer_field(provider: str) -> str:
    field = PAYER_FIELDS.get(provider)
    if field is None:
        raise InvalidInput(f"no payer identity at {provider!r}")
    return field


def _card_owner(operator_id: int | None, fleet_id: int | None) -> str:
    if fleet_id is not None:
        return f"fleet {fleet_id}"
    if operator_id is not None:
        return f"operator {operator_id}"
    return "the platform"
