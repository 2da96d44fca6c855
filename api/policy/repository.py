"""Every query of the access-policy domain."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tortoise.expressions import F, Q

from api.models import Fleet, IdTag, LocalListState, StationAccessPolicy, StationAccessRule, User, Vehicle
from api.models.enums import AccessMode, AccessRuleEffect, IdTagStatus
from api.policy import rules as policy_rules
from api.policy.dto import Card, Policy, Rule, Window

CARD_STATUS = {IdTagStatus.ACCEPTED: "Accepted", IdTagStatus.BLOCKED: "Blocked", IdTagStatus.EXPIRED: "Expired"}


def _policy(station_id: int, row: StationAccessPolicy | None) -> Policy:
    if row is None:
        return Policy(station_id)
    schedule = tuple(
        policy_rules.window(w["days"], w["from"], w["to"], AccessMode(w["mode"])) for w in row.schedule or []
    )
    return Policy(station_id, AccessMode(row.mode), schedule, row.revision, row.updated_at)


def _rule(row: StationAccessRule) -> Rule:
    return Rule(
        row.id, row.station_id, AccessRuleEffect(row.effect), row.id_tag, row.user_id, row.fleet_id, row.note,
        row.created_at,
    )


async def policy(station_id: int) -> Policy:
    return _policy(station_id, await StationAccessPolicy.get_or_none(station_id=station_id))


async def policies(station_ids: list[int]) -> dict[int, Policy]:
    rows = await StationAccessPolicy.filter(station_id__in=station_ids)
    found = {row.station_id: _policy(row.station_id, row) for row in rows}
    return {sid: found.get(sid, Policy(sid)) for sid in station_ids}


async def save_policy(station_id: int, mode: AccessMode, schedule: Iterable[Window]) -> None:
    values = {"mode": mode, "schedule": [w.as_json() for w in schedule]}
    row, created = await StationAccessPolicy.get_or_create(station_id=station_id, defaults=values)
    if not created:
        await StationAccessPolicy.filter(id=row.id).update(**values)
    await bump_revision(station_id)


async def bump_revision(station_id: int) -> None:
    await StationAccessPolicy.get_or_create(station_id=station_id)
    await StationAccessPolicy.filter(station_id=station_id).update(revision=F("revision") + 1)


async def rules(station_id: int) -> list[Rule]:
    return [_rule(r) for r in await StationAccessRule.filter(station_id=station_id).order_by("id")]


async def matching_rules(station_id: int, id_tag: str, user_id: int | None, fleet_id: int | None) -> list[Rule]:
    who = Q(id_tag=id_tag)
    if user_id is not None:
        who |= Q(user_id=user_id)
    if fleet_id is not None:
        who |= Q(fleet_id=fleet_id)
    return [_rule(r) for r in await StationAccessRule.filter(Q(station_id=station_id) & who).order_by("id")]


async def rule(rule_id: int) -> Rule | None:
    row = await StationAccessRule.get_or_none(id=rule_id)
    return _rule(row) if row else None


async def same_rule(
    station_id: int, effect: AccessRuleEffect, id_tag: str | None, user_id: int | None, fleet_id: int | None
) -> Rule | None:
    row = await StationAccessRule.filter(
        station_id=station_id, effect=effect, id_tag=id_tag, user_id=user_id, fleet_id=fleet_id
    ).first()
    return _rule(row) if row else None


async def add_rule(**values: Any) -> Rule:
    return _rule(await StationAccessRule.create(**values))


async def delete_rule(rule_id: int) -> None:
    await StationAccessRule.filter(id=rule_id).delete()


async def cards_for(listed: list[Rule]) -> list[Card]:
    """Every card (and known vehicle VIN) that one of the rules names, with its own status."""
    tags = {r.id_tag for r in listed if r.id_tag is not None}
    users = {r.user_id for r in listed if r.user_id is not None}
    fleets = {r.fleet_id for r in listed if r.fleet_id is not None}
    if not (tags or users or fleets):
        return []
    reach = Q(tag__in=list(tags)) | Q(user_id__in=list(users)) | Q(fleet_id__in=list(fleets))
    cards = [
        Card(t.tag, CARD_STATUS[IdTagStatus(t.status)], t.expires_at, t.parent_tag, t.user_id, t.fleet_id)
        for t in await IdTag.filter(reach)
    ]
    known = {c.id_tag for c in cards}
    vehicles = await Vehicle.filter(Q(vin__in=list(tags)) | Q(owner_id__in=list(users)), vin_charging=True).exclude(
        vin=None
    )
    cards += [Card(v.vin, "Accepted", None, None, v.owner_id, None) for v in vehicles if v.vin not in known]
    return cards


async def station_ids_naming(id_tag: str, user_id: int | None, fleet_id: int | None) -> list[int]:
    who = Q(id_tag=id_tag)
    if user_id is not None:
        who |= Q(user_id=user_id)
    if fleet_id is not None:
        who |= Q(fleet_id=fleet_id)
    return sorted(set(await StationAccessRule.filter(who).values_list("station_id", flat=True)))  # type: ignore[arg-type]


async def card(id_tag: str) -> IdTag | None:
    return await IdTag.get_or_none(tag=id_tag)


async def vehicle(vin: str) -> Vehicle | None:
    return await Vehicle.get_or_none(vin=vin)


async def user_exists(user_id: int) -> bool:
    return await User.filter(id=user_id).exists()


async def fleet_exists(fleet_id: int) -> bool:
    return await Fleet.filter(id=fleet_id).exists()


# -- what each pile holds ------------------------------------------------------------------------------


async def list_state(charge_point_id: str) -> LocalListState | None:
    return await LocalListState.get_or_none(charge_point_id=charge_point_id)


async def list_states(charge_point_ids: list[str]) -> list[LocalListState]:
    return await LocalListState.filter(charge_point_id__in=charge_point_ids)


async def save_list_state(charge_point_id: str, **values: Any) -> None:
    _, created = await LocalListState.get_or_create(charge_point_id=charge_point_id, defaults=values)
    if not created:
        await LocalListState.filter(charge_point_id=charge_point_id).update(**values)
