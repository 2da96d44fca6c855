"""Who may charge where, carried to the piles: policy changes go out as SendLocalList updates.

A change of a station's policy or lists (or of a card those lists name) is pushed to every pile of the
station as a differential update against what the pile last accepted. A full list goes instead when we do
not know what the pile holds: the first push, after a rejected update, after the pile reports another list
version when it boots, or on request. Lists longer than a pile takes in one message go as a full first part
followed by differential parts, each with its own version.

Only one push per pile runs at a time (a lock per pile on this node; the scale-out issue routes commands to
the node that holds the pile).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from api.access.dto import Permission, Viewer
from api.access.service import AccessService, Place, require_viewer
from api.audit.dto import PLATFORM, Actor
from api.charge_point.service import ChargePointService
from api.commands.dto import CommandResult, GetLocalListVersion, LocalListEntry, Outcome, SendLocalList
from api.commands.operations import AuditedSender, PileResult, actor_of
from api.core.clock import Clock
from api.models.enums import AccessMode, AccessRuleEffect
from api.policy import rules
from api.policy.dto import ListDiff, ListEntry, Policy, Rule, Window
from api.policy.service import PolicyService

log = logging.getLogger(__name__)

DEFAULT_MESSAGE_ENTRIES = 100
"""Entries per SendLocalList when the pile has not told us its SendLocalListMaxLength."""
GONE = (Outcome.OFFLINE, Outcome.TIMED_OUT)


@dataclass(frozen=True)
class AccessChange:
    policy: Policy
    rules: list[Rule]
    piles: list[PileResult]
    """What each pile of the station answered to the local-list update (empty when no list changed)."""


def _entries(items: Sequence[tuple[str, ListEntry | None]]) -> tuple[LocalListEntry, ...]:
    out = []
    for tag, entry in items:
        if entry is None:
            out.append(LocalListEntry(tag, None))
        else:
            expires = _parse(entry.expires)
            out.append(LocalListEntry(tag, entry.status, expires, entry.parent))
    return tuple(out)


def _parse(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def list_limits(reported: object) -> tuple[int | None, int | None]:
    """How many cards a pile's local list holds, and how many one SendLocalList may carry, as its reported
    configuration says (1.6 LocalAuthListMaxLength and SendLocalListMaxLength; a 2.0.1 pile's report gives
    the same keys, from LocalAuthListCtrlr Entries' maxLimit and ItemsPerMessage); None where unknown."""
    return _setting(reported, "LocalAuthListMaxLength"), _setting(reported, "SendLocalListMaxLength")


def _setting(reported: object, key: str) -> int | None:
    for item in reported if isinstance(reported, list) else []:
        if isinstance(item, dict) and item.get("key") == key:
            try:
                return max(1, int(str(item.get("value"))))
            except ValueError:
                return None
    return None


class StationAccessService:
    def __init__(
        self, clock: Clock, access: AccessService, policies: PolicyService, charge_points: ChargePointService,
        sender: AuditedSender,
    ) -> None:
        self.clock = clock
        self.access = access
        self.policies = policies
        self.charge_points = charge_points
        self.sender = sender
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # -- changing a station's policy, then telling its piles ------------------------------------------

    async def set_policy(
        self, viewer: Viewer | None, station_id: int, mode: AccessMode, schedule: list[Window]
    ) -> AccessChange:
        await self.policies.set_policy(viewer, station_id, mode, schedule)
        return await self._pushed(viewer, station_id)

    async def add_rule(
        self, viewer: Viewer | None, station_id: int, effect: AccessRuleEffect, *, id_tag: str | None = None,
        user_id: int | None = None, fleet_id: int | None = None, note: str = "",
    ) -> AccessChange:
        await self.policies.add_rule(
            viewer, station_id, effect, id_tag=id_tag, user_id=user_id, fleet_id=fleet_id, note=note
        )
        return await self._pushed(viewer, station_id)

    async def remove_rule(self, viewer: Viewer | None, rule_id: int) -> AccessChange:
        removed = await self.policies.remove_rule(viewer, rule_id)
        return await self._pushed(viewer, removed.station_id)

    async def push(self, viewer: Viewer | None, station_id: int, *, full: bool) -> list[PileResult]:
        """Send the station's lists again (``full``: replace each pile's whole list)."""
        operator_id = await self.access.require_station(viewer, Permission.MANAGE_ACCESS, station_id)
        return await self._push_station(actor_of(require_viewer(viewer)), station_id, operator_id, full=full)

    async def _pushed(self, viewer: Viewer | None, station_id: int) -> AccessChange:
        operator_id = await self.access.station_operator(station_id)
        piles = await self._push_station(actor_of(require_viewer(viewer)), station_id, operator_id or 0)
        policy, station_rules = await self.policies.policy(viewer, station_id)
        return AccessChange(policy, station_rules, piles)

    async def _push_station(self, actor: Actor, station_id: int, operator_id: int, *, full: bool = False) -> list[PileResult]:
        wanted = await self.policies.wanted_list(station_id)
        piles = await self.charge_points.list_for_stations([station_id])
        # every pile at once: one that times out must not hold up the others
        answers = await asyncio.gather(
            *(self.sync_pile(actor, Place(cp.id, station_id, operator_id), wanted, full=full) for cp in piles)
        )
        return [PileResult(cp.id, result) for cp, result in zip(piles, answers, strict=True) if result is not None]

    # -- one pile --------------------------------------------------------------------------------------

    async def sync_pile(
        self, actor: Actor, place: Place, wanted: dict[str, ListEntry], *, full: bool = False,
        pile_version: int | None = None,
    ) -> CommandResult | None:
        """Bring one pile's list to ``wanted``; None when it already holds it (or has no local list)."""
        async with self._locks.setdefault(place.charge_point_id, asyncio.Lock()):
            return await self._sync(actor, place, wanted, full=full, pile_version=pile_version)

    async def _sync(
        self, actor: Actor, place: Place, wanted: dict[str, ListEntry], *, full: bool, pile_version: int | None
    ) -> CommandResult | None:
        held = await self.policies.held_list(place.charge_point_id)
        if not held.supported and not full:
            return None
        cp = await self.charge_points.get(place.charge_point_id)
        capacity, per_message_known = list_limits(cp.reported_configuration)
        wanted = rules.fit(wanted, capacity)
        per_message = per_message_known or DEFAULT_MESSAGE_ENTRIES
        full = full or not held.in_sync
        version = max(held.version, pile_version or 0)
        if full:
            items: list[tuple[str, ListEntry | None]] = sorted(wanted.items())
        else:
            change = rules.diff(held.known, wanted)
            if not change:
                return None
            items = [*change.upserts.items(), *((tag, None) for tag in sorted(change.removals))]
        parts = [items[i : i + per_message] for i in range(0, len(items), per_message)] or [[]]
        holding = {} if full else dict(held.known)
        result: CommandResult | None = None
        for index, part in enumerate(parts):
            version += 1
            replace = full and index == 0
            command = SendLocalList(version, replace, _entries(part))
            result = await self.sender.send(actor, place, command, "pile.local_list")
            if result.outcome != Outcome.ACCEPTED:
                return await self._refused(actor, place, wanted, result, retried=full)
            upserts = {tag: entry for tag, entry in part if entry is not None}
            removals = frozenset(tag for tag, entry in part if entry is None)
            holding = rules.apply(holding, ListDiff(upserts, removals))
            await self.policies.note_list(
                place.charge_point_id, version=version, entries=holding, in_sync=True, supported=True,
                status="Accepted",
            )
        return result

    async def _refused(
        self, actor: Actor, place: Place, wanted: dict[str, ListEntry], result: CommandResult, *, retried: bool
    ) -> CommandResult:
        status = result.status or result.outcome.value
        cp = place.charge_point_id
        if result.outcome in GONE:  # unknown whether it arrived: the next push (or boot) sends it all
            await self.policies.note_list(cp, in_sync=False, status=status)
            return result
        if status == "NotSupported":
            await self.policies.note_list(cp, in_sync=False, supported=False, status=status)
            return result
        await self.policies.note_list(cp, in_sync=False, status=status)
        if status == "VersionMismatch" and not retried:
            log.info("%s holds another list version: sending the whole list", cp)
            return await self._sync(actor, place, wanted, full=True, pile_version=None) or result
        return result

    # -- after a boot ----------------------------------------------------------------------------------

    async def after_boot(self, charge_point_id: str) -> CommandResult | None:
        """Ask a pile which list it holds and bring it up to date (only piles whose lists we manage)."""
        place = await self.access.place_of(charge_point_id)
        held = await self.policies.held_list(charge_point_id)
        wanted = await self.policies.wanted_list(place.station_id) if place.station_id else {}
        if not held.supported or (not wanted and held.version == 0 and not held.known):
            return None
        asked = await self.sender.send(PLATFORM, place, GetLocalListVersion(), "pile.get_local_list_version")
        if asked.outcome != Outcome.ACCEPTED or asked.list_version is None:
            return asked
        if asked.list_version < 0:
            await self.policies.note_list(charge_point_id, in_sync=False, supported=False, status="NotSupported")
            return asked
        mismatch = asked.list_version != held.version
        if mismatch:
            await self.policies.note_list(charge_point_id, in_sync=False, status="VersionMismatch")
        return await self.sync_pile(PLATFORM, place, wanted, full=mismatch, pile_version=asked.list_version)

    # -- cards that lists name -------------------------------------------------------------------------

    def card_changed(self, id_tag: str, before: tuple[int | None, int | None] = (None, None)) -> None:
        """A card was issued, blocked, unblocked, re-dated or reassigned: update the lists naming it (in the
        background, so the card's own change does not wait for piles)."""
        task = asyncio.get_running_loop().create_task(self._card_changed(id_tag, before))
        self._tasks.add(task)
        task.add_done_callback(self._done)

    async def _card_changed(self, id_tag: str, before: tuple[int | None, int | None]) -> None:
        stations = await self.policies.stations_naming(id_tag, *before)
        for station_id in stations:
            operator_id = await self.access.station_operator(station_id)
            await self._push_station(PLATFORM, station_id, operator_id or 0)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("local list update failed", exc_info=task.exception())

    async def drain(self) -> None:
        """Wait for background list updates (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # -- lists an operator sent by hand ----------------------------------------------------------------

    async def note_sent_by_hand(self, charge_point_id: str, command: SendLocalList, result: CommandResult) -> None:
        """A raw SendLocalList changes what the pile holds: track it, so the next push diffs against it."""
        if result.outcome != Outcome.ACCEPTED:
            await self.policies.note_list(charge_point_id, in_sync=False, status=result.status or result.outcome.value)
            return
        held = await self.policies.held_list(charge_point_id)
        upserts = {
            e.id_tag: ListEntry(e.status, e.expires_at.isoformat() if e.expires_at else None, e.parent_id_tag)
            for e in command.entries if e.status is not None
        }
        removals = frozenset(e.id_tag for e in command.entries if e.status is None)
        holding = rules.apply({} if command.full else held.known, ListDiff(upserts, removals))
        await self.policies.note_list(
            charge_point_id, version=command.list_version, entries=holding, in_sync=command.full or held.in_sync,
            supported=True, status="Accepted",
        )
