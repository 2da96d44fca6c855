"""Who may charge where: a station's access policy, its allow- and block-list, and the piles' local lists."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from api.commands.station_access import AccessChange as AccessChangeDto
from api.core.errors import InvalidInput
from api.graphql.enums import AccessMode, AccessRuleEffect
from api.graphql.errors import maps_domain_errors, parse_int_id
from api.graphql.operations.types import CommandResult
from api.models.enums import AccessMode as AccessModeValue
from api.models.enums import AccessRuleEffect as EffectValue
from api.policy import rules as policy_rules
from api.policy.dto import Policy, Rule, Window, hhmm
from api.policy.service import HeldList


@strawberry.type(description="A weekly time window (Asia/Shanghai) during which another mode applies.")
class AccessWindow:
    days: list[int] = strawberry.field(description="ISO weekdays the window starts on: 1 = Monday … 7 = Sunday.")
    start: str = strawberry.field(description="HH:MM local time.")
    end: str = strawberry.field(description="HH:MM local time; at or before start: runs past midnight.")
    mode: AccessMode

    @classmethod
    def of(cls, w: Window) -> AccessWindow:
        return cls(days=sorted(w.days), start=hhmm(w.start_min), end=hhmm(w.end_min), mode=w.mode)


@strawberry.input(description="A weekly time window (Asia/Shanghai); the first window that matches wins.")
class AccessWindowInput:
    days: list[int] = strawberry.field(description="ISO weekdays: 1 = Monday … 7 = Sunday.")
    start: str = strawberry.field(description="HH:MM (00:00 to 23:59).")
    end: str = strawberry.field(description="HH:MM (00:01 to 24:00); at or before start: runs past midnight.")
    mode: AccessMode


@strawberry.type(description="One line of a station's allow-list or block list.")
class AccessRule:
    id: strawberry.ID
    effect: AccessRuleEffect
    id_tag: str | None = strawberry.field(description="A card or a vehicle's VIN.")
    user_id: strawberry.ID | None = strawberry.field(description="A person: all their cards and vehicles.")
    fleet_id: strawberry.ID | None = strawberry.field(description="A fleet: all its cards.")
    note: str
    created_at: datetime | None

    @classmethod
    def of(cls, rule: Rule) -> AccessRule:
        return cls(
            id=strawberry.ID(str(rule.id)), effect=rule.effect, id_tag=rule.id_tag,
            user_id=strawberry.ID(str(rule.user_id)) if rule.user_id is not None else None,
            fleet_id=strawberry.ID(str(rule.fleet_id)) if rule.fleet_id is not None else None,
            note=rule.note, created_at=rule.created_at,
        )


@strawberry.type(description="What a pile's local authorization list holds, as far as the platform knows.")
class PileLocalList:
    charge_point_id: strawberry.ID
    version: int = strawberry.field(description="The list version the pile last accepted from us.")
    entries: int = strawberry.field(description="How many cards that list holds.")
    in_sync: bool = strawberry.field(description="False: the next update replaces the whole list.")
    supported: bool = strawberry.field(description="False: the pile said it has no local list.")
    last_status: str = strawberry.field(description="The pile's last answer (Accepted, Failed, VersionMismatch…).")
    synced_at: datetime | None

    @classmethod
    def of(cls, held: HeldList) -> PileLocalList:
        return cls(
            charge_point_id=strawberry.ID(held.charge_point_id), version=held.version, entries=len(held.known),
            in_sync=held.in_sync, supported=held.supported, last_status=held.last_status, synced_at=held.synced_at,
        )


@strawberry.type(description="Who may charge at a station.")
class StationAccess:
    station_id: strawberry.ID
    mode: AccessMode = strawberry.field(description="Who is admitted outside every time window.")
    schedule: list[AccessWindow]
    mode_now: AccessMode = strawberry.field(description="The mode in force right now.")
    revision: int = strawberry.field(description="Bumped by every change of the policy or its lists.")
    updated_at: datetime | None
    rules: list[AccessRule]

    @classmethod
    def of(cls, policy: Policy, rules: list[Rule], now: datetime) -> StationAccess:
        return cls(
            station_id=strawberry.ID(str(policy.station_id)), mode=policy.mode,
            schedule=[AccessWindow.of(w) for w in policy.schedule], mode_now=policy_rules.mode_at(policy, now),
            revision=policy.revision, updated_at=policy.updated_at, rules=[AccessRule.of(r) for r in rules],
        )

    @strawberry.field(description="Each pile's local list, as far as the platform knows.")
    async def local_lists(self, info: Info) -> list[PileLocalList]:
        services = info.context.services
        piles = await services.charge_points.list_for_stations([int(self.station_id)])
        held = await services.policies.held_lists([cp.id for cp in piles])
        return [PileLocalList.of(held[cp.id]) for cp in piles]


@strawberry.type(description="A changed access policy, and what each pile answered to its local-list update.")
class AccessChange:
    access: StationAccess
    piles: list[CommandResult] = strawberry.field(
        description="One answer per pile whose list changed; offline piles get the whole list when they boot."
    )

    @classmethod
    def of(cls, change: AccessChangeDto, now: datetime) -> AccessChange:
        return cls(
            access=StationAccess.of(change.policy, change.rules, now),
            piles=[CommandResult.of(p.charge_point_id, p.result) for p in change.piles],
        )


def _windows(values: list[AccessWindowInput]) -> list[Window]:
    out = []
    for number, value in enumerate(values, 1):
        try:
            out.append(policy_rules.window(value.days, value.start, value.end, AccessModeValue(value.mode.value)))
        except ValueError as e:
            raise InvalidInput(f"time window {number}: {e}") from None
    return out


@strawberry.type
class StationAccessQueries:
    @strawberry.field(description="A station's access policy and lists (needs the right to manage its access).")
    @maps_domain_errors
    async def station_access(self, info: Info, station_id: strawberry.ID) -> StationAccess:
        services = info.context.services
        policy, rules = await services.policies.policy(
            await info.context.viewer(), parse_int_id(station_id, "station")
        )
        return StationAccess.of(policy, rules, services.clock.now())


@strawberry.type
class StationAccessMutations:
    @strawberry.mutation(description="Set who a station admits, and when; pushed to its piles' local lists.")
    @maps_domain_errors
    async def set_station_access(
        self, info: Info, station_id: strawberry.ID, mode: AccessMode,
        schedule: Annotated[
            list[AccessWindowInput] | None, strawberry.argument(description="Empty or absent: no windows.")
        ] = None,
    ) -> AccessChange:
        services = info.context.services
        change = await services.station_access.set_policy(
            await info.context.viewer(), parse_int_id(station_id, "station"), AccessModeValue(mode.value),
            _windows(schedule or []),
        )
        return AccessChange.of(change, services.clock.now())

    @strawberry.mutation(description="Put a card, a person or a fleet on a station's allow-list or block list.")
    @maps_domain_errors
    async def add_access_rule(
        self, info: Info, station_id: strawberry.ID, effect: AccessRuleEffect, id_tag: str | None = None,
        user_id: strawberry.ID | None = None, fleet_id: strawberry.ID | None = None, note: str = "",
    ) -> AccessChange:
        services = info.context.services
        change = await services.station_access.add_rule(
            await info.context.viewer(), parse_int_id(station_id, "station"), EffectValue(effect.value),
            id_tag=id_tag, user_id=parse_int_id(user_id, "user") if user_id is not None else None,
            fleet_id=parse_int_id(fleet_id, "fleet") if fleet_id is not None else None, note=note,
        )
        return AccessChange.of(change, services.clock.now())

    @strawberry.mutation(description="Take a line off a station's allow-list or block list.")
    @maps_domain_errors
    async def remove_access_rule(self, info: Info, rule_id: strawberry.ID) -> AccessChange:
        services = info.context.services
        change = await services.station_access.remove_rule(
            await info.context.viewer(), parse_int_id(rule_id, "access rule")
        )
        return AccessChange.of(change, services.clock.now())

    @strawberry.mutation(description="Send a station's local lists to its piles again (full: replace each whole list).")
    @maps_domain_errors
    async def push_local_lists(self, info: Info, station_id: strawberry.ID, full: bool = True) -> list[CommandResult]:
        piles = await info.context.services.station_access.push(
            await info.context.viewer(), parse_int_id(station_id, "station"), full=full
        )
        return [CommandResult.of(p.charge_point_id, p.result) for p in piles]
