"""Access-policy use cases: read and change a station's policy and lists (scoped and audited), decide whether
a card may charge, and keep track of what each pile's local authorization list holds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from api.access.dto import Permission, Viewer
from api.access.service import AccessService, require_viewer
from api.audit.dto import Actor, AuditRecord
from api.audit.service import AuditService
from api.core.clock import Clock
from api.core.errors import InvalidInput, NotFound
from api.models import LocalListState
from api.models.enums import AccessMode, AccessRuleEffect
from api.policy import repository, rules
from api.policy.dto import Credential, Decision, ListEntry, Policy, Rule, Window

MAX_NOTE = 128


@dataclass(frozen=True)
class HeldList:
    """What we believe a pile's local list holds."""

    charge_point_id: str
    version: int = 0
    entries: dict[str, ListEntry] | None = None
    in_sync: bool = False
    supported: bool = True
    last_status: str = ""
    synced_at: datetime | None = None

    @property
    def known(self) -> dict[str, ListEntry]:
        return self.entries or {}


class PolicyService:
    def __init__(self, clock: Clock, access: AccessService, audit: AuditService) -> None:
        self.clock = clock
        self.access = access
        self.audit = audit

    # -- reading and changing a station's policy -----------------------------------------------------

    async def policy(self, viewer: Viewer | None, station_id: int) -> tuple[Policy, list[Rule]]:
        await self.access.require_station(viewer, Permission.MANAGE_ACCESS, station_id)
        return await repository.policy(station_id), await repository.rules(station_id)

    async def set_policy(
        self, viewer: Viewer | None, station_id: int, mode: AccessMode, schedule: list[Window]
    ) -> Policy:
        operator_id = await self.access.require_station(viewer, Permission.MANAGE_ACCESS, station_id)
        try:
            rules.check_schedule(schedule)
        except ValueError as e:
            raise InvalidInput(str(e)) from None
        before = await repository.policy(station_id)
        await repository.save_policy(station_id, mode, schedule)
        after = await repository.policy(station_id)
        await self._audit(viewer, "station.access_policy", operator_id, station_id, f"station {station_id}", {
            "before": _describe(before), "after": _describe(after)})
        return after

    async def add_rule(
        self, viewer: Viewer | None, station_id: int, effect: AccessRuleEffect, *, id_tag: str | None = None,
        user_id: int | None = None, fleet_id: int | None = None, note: str = "",
    ) -> Rule:
        operator_id = await self.access.require_station(viewer, Permission.MANAGE_ACCESS, station_id)
        if sum(s is not None for s in (id_tag, user_id, fleet_id)) != 1:
            raise InvalidInput("a rule names exactly one of: an id tag, a person, a fleet")
        if len(note) > MAX_NOTE:
            raise InvalidInput(f"a note has at most {MAX_NOTE} characters")
        if id_tag is not None:
            id_tag = id_tag.strip()
            if await repository.card(id_tag) is None and await repository.vehicle(id_tag) is None:
                raise NotFound(f"id tag {id_tag!r} is neither an issued card nor a known vehicle's VIN")
        if user_id is not None and not await repository.user_exists(user_id):
            raise NotFound(f"user {user_id} does not exist")
        if fleet_id is not None and not await repository.fleet_exists(fleet_id):
            raise NotFound(f"fleet {fleet_id} does not exist")
        if await repository.same_rule(station_id, effect, id_tag, user_id, fleet_id) is not None:
            raise InvalidInput(f"this {effect.value} rule exists already")
        rule = await repository.add_rule(
            station_id=station_id, effect=effect, id_tag=id_tag, user_id=user_id, fleet_id=fleet_id,
            note=note.strip(), created_by_id=require_viewer(viewer).user_id,
        )
        await repository.bump_revision(station_id)
        await self._audit(viewer, f"station.access_rule.{effect.value}", operator_id, station_id, rule.describe(),
                          {"rule": rule.id, "note": rule.note})
        return rule

    async def remove_rule(self, viewer: Viewer | None, rule_id: int) -> Rule:
        found = await repository.rule(rule_id)
        if found is None:
            raise NotFound(f"access rule {rule_id} does not exist")
        operator_id = await self.access.require_station(viewer, Permission.MANAGE_ACCESS, found.station_id)
        await repository.delete_rule(rule_id)
        await repository.bump_revision(found.station_id)
        await self._audit(viewer, "station.access_rule.remove", operator_id, found.station_id, found.describe(),
                          {"rule": rule_id, "effect": found.effect.value})
        return found

    async def _audit(
        self, viewer: Viewer | None, action: str, operator_id: int, station_id: int, target: str,
        details: dict[str, object],
    ) -> None:
        actor = require_viewer(viewer)
        await self.audit.record(AuditRecord(
            actor=Actor(actor.user_id, actor.name), action=action, outcome="done", operator_id=operator_id,
            station_id=station_id, target=target, details=details,
        ))

    # -- deciding ------------------------------------------------------------------------------------

    async def decide(self, station_id: int, who: Credential, at: datetime | None = None) -> Decision:
        policy = await repository.policy(station_id)
        matching = await repository.matching_rules(station_id, who.id_tag, who.user_id, who.fleet_id)
        return rules.decide(policy, matching, who, at or self.clock.now())


    # -- local lists ---------------------------------------------------------------------------------

    async def wanted_list(self, station_id: int) -> dict[str, ListEntry]:
        policy = await repository.policy(station_id)
        station_rules = await repository.rules(station_id)
        cards = await repository.cards_for(rules.listed_rules(policy, station_rules))
        return rules.local_list(policy, station_rules, cards)

    async def stations_naming(
        self, id_tag: str, earlier_user_id: int | None = None, earlier_fleet_id: int | None = None
    ) -> list[int]:
        """Stations whose lists name this card, its person, its fleet or its vehicle's owner, or the person
        and fleet it belonged to before a reassignment."""
        card = await repository.card(id_tag)
        if card is not None:
            user_id, fleet_id = card.user_id, card.fleet_id
        else:
            vehicle = await repository.vehicle(id_tag)
            user_id, fleet_id = (vehicle.owner_id if vehicle else None), None
        now = await repository.station_ids_naming(id_tag, user_id, fleet_id)
        before = await repository.station_ids_naming(id_tag, earlier_user_id, earlier_fleet_id)
        return sorted(set(now) | set(before))

    async def held_list(self, charge_point_id: str) -> HeldList:
        row = await repository.list_state(charge_point_id)
        if row is None:
            return HeldList(charge_point_id)
        return _held(row)

    async def held_lists(self, charge_point_ids: list[str]) -> dict[str, HeldList]:
        found = {row.charge_point_id: _held(row) for row in await repository.list_states(charge_point_ids)}
        return {cp: found.get(cp, HeldList(cp)) for cp in charge_point_ids}

    async def note_list(
        self, charge_point_id: str, *, version: int | None = None, entries: dict[str, ListEntry] | None = None,
        in_sync: bool | None = None, supported: bool | None = None, status: str | None = None,
    ) -> None:
        values: dict[str, object] = {}
        if version is not None:
            values["version"] = version
        if entries is not None:
            values["entries"] = {tag: e.as_json() for tag, e in sorted(entries.items())}
            values["synced_at"] = self.clock.now()
        if in_sync is not None:
            values["in_sync"] = in_sync
        if supported is not None:
            values["supported"] = supported
        if status is not None:
            values["last_status"] = status[:32]
        await repository.save_list_state(charge_point_id, **values)


def _held(row: LocalListState) -> HeldList:
    entries = {tag: ListEntry(e["status"], e.get("expires"), e.get("parent")) for tag, e in (row.entries or {}).items()}
    return HeldList(
        row.charge_point_id, row.version, entries, row.in_sync, row.supported, row.last_status, row.synced_at
    )


def _describe(policy: Policy) -> dict[str, object]:
    return {"mode": policy.mode.value, "schedule": [w.as_json() for w in policy.schedule]}
