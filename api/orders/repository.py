"""Every query of the orders domain."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from tortoise.exceptions import IntegrityError

from api.models import ChargingOrder, Partner, PaymentInbox, RevenueShareRule, SettlementStep, TopUp
from api.orders.rules import out_trade_no


# -- orders --------------------------------------------------------------------------------------------------


async def create_order(**values: Any) -> ChargingOrder:
    order = await ChargingOrder.create(out_trade_no=uuid.uuid4().hex, **values)
    order.out_trade_no = out_trade_no("CO", order.id)
    await ChargingOrder.filter(id=order.id).update(out_trade_no=order.out_trade_no)
    return order


async def order(order_id: int) -> ChargingOrder | None:
    return await ChargingOrder.get_or_none(id=order_id)


async def order_by_trade_no(number: str) -> ChargingOrder | None:
    return await ChargingOrder.get_or_none(out_trade_no=number)


async def order_for_session(session_id: int) -> ChargingOrder | None:
    return await ChargingOrder.get_or_none(session_id=session_id)


async def move(order_id: int, from_statuses: Sequence[str], to: str, **values: Any) -> bool:
    """Change an order's status only if it is in one of ``from_statuses``: the one atomic way states change, so a
    notification, the worker and a driver racing each other apply a transition once."""
    changed = await ChargingOrder.filter(id=order_id, status__in=list(from_statuses)).update(status=to, **values)
    return changed == 1


async def update_order(order_id: int, **values: Any) -> None:
    await ChargingOrder.filter(id=order_id).update(**values)


async def open_on_connector(charge_point_id: str, connector_no: int, statuses: Sequence[str]) -> ChargingOrder | None:
    return await ChargingOrder.filter(
        charge_point_id=charge_point_id, connector_no=connector_no, status__in=list(statuses)
    ).first()


async def billed_sessions_since(since: datetime, statuses: Sequence[str]) -> list[tuple[int, str]]:
    """(session id, stop reason billed) of the orders finished since ``since`` in ``statuses``: the worker's
    start-up look for late stops whose event it missed. Reads two columns, not whole orders."""
    rows = await ChargingOrder.filter(
        finished_at__gte=since, status__in=list(statuses), session_id__isnull=False
    ).values_list("session_id", "cost_detail")
    return [(int(session_id), str((detail or {}).get("stop_reason", ""))) for session_id, detail in rows]


async def orders_in(statuses: Sequence[str], limit: int = 200) -> list[ChargingOrder]:
    return await ChargingOrder.filter(status__in=list(statuses)).order_by("id").limit(limit)



async def history(
    *, user_id: int | None, station_id: int | None, status: str | None, before_id: int | None, limit: int
) -> list[ChargingOrder]:
    """A driver's orders, or a station's, newest first."""
    query = ChargingOrder.filter(station_id=station_id) if station_id is not None else ChargingOrder.filter(
        user_id=user_id
    )
    if status is not None:
        query = query.filter(status=status)
    if before_id is not None:
        query = query.filter(id__lt=before_id)
    return await query.order_by("-id").limit(limit)


# -- settlement steps ------------------------------------------------------------------------------------------


async def add_steps(steps: Sequence[dict[str, Any]]) -> int:
    """Plan steps; a step whose key exists already is left as it is (planning is idempotent). Returns how many
    were new."""
    created = 0
    for values in steps:
        try:
            await SettlementStep.create(**values)
            created += 1
        except IntegrityError:
            pass
    return created


async def steps_of(order_id: int) -> list[SettlementStep]:
    return await SettlementStep.filter(order_id=order_id).order_by("id")


async def ask_again(order_id: int) -> None:
    """Let the order's pending steps ask their provider at once (a notification says something changed)."""
    await SettlementStep.filter(order_id=order_id, status="pending").update(not_before=None)


async def update_step(step_id: int, **values: Any) -> None:
    await SettlementStep.filter(id=step_id).update(**values)


# -- partners and their shares ---------------------------------------------------------------------------------


async def create_partner(**values: Any) -> Partner:
    return await Partner.create(**values)


async def partner(partner_id: int) -> Partner | None:
    return await Partner.get_or_none(id=partner_id)


async def partners(ids: Sequence[int]) -> list[Partner]:
    return await Partner.filter(id__in=list(ids))



async def share_rules(station_id: int) -> list[RevenueShareRule]:
    return await RevenueShareRule.filter(station_id=station_id).order_by("effective_from", "id")


async def add_share_rule(**values: Any) -> RevenueShareRule:
    return await RevenueShareRule.create(**values)




# -- top-ups -----------------------------------------------------------------------------------------------------


async def create_top_up(**values: Any) -> TopUp:
    top_up = await TopUp.create(out_trade_no=uuid.uuid4().hex, **values)
    top_up.out_trade_no = out_trade_no("TU", top_up.id)
    await TopUp.filter(id=top_up.id).update(out_trade_no=top_up.out_trade_no)
    return top_up


async def top_up_by_trade_no(number: str) -> TopUp | None:
    return await TopUp.get_or_none(out_trade_no=number)


async def move_top_up(top_up_id: int, from_status: str, to: str, **values: Any) -> bool:
    return await TopUp.filter(id=top_up_id, status=from_status).update(status=to, **values) == 1


async def top_ups_in(status: str, before: datetime) -> list[TopUp]:
    return await TopUp.filter(status=status, created_at__lt=before).order_by("id").limit(200)


# -- the inbox of provider notifications -----------------------------------------------------------------------


async def store_notification(provider: str, external_id: str, kind: str, number: str, payload: dict[str, Any]) -> bool:
    """Store a verified notification once; False if it was stored before (a duplicate delivery)."""
    try:
        await PaymentInbox.create(
            provider=provider, external_id=external_id, kind=kind, out_trade_no=number, payload=payload
        )
    except IntegrityError:
        return False
    return True


async def unhandled_notifications(limit: int = 100) -> list[PaymentInbox]:
    return await PaymentInbox.filter(handled_at=None).order_by("id").limit(limit)


async def mark_handled(row_id: int, at: datetime, outcome: str) -> bool:
    return await PaymentInbox.filter(id=row_id, handled_at=None).update(handled_at=at, outcome=outcome[:255]) == 1
