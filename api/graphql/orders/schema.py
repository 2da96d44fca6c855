"""Charging orders, wallets and partners over GraphQL: start charging with a payment, follow the order live,
history, top-ups and statements, and what operators do (review quarantined orders, revenue shares)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from api.core.bus import channels
from api.core.errors import DomainError, InvalidInput
from api.graphql.context import Info
from api.graphql.errors import maps_domain_errors, parse_int_id
from api.models import ChargingOrder as OrderModel
from api.models.enums import LedgerAccountKind
from api.orders.events import OrderChanged
from api.orders.rules import FailureCode as FailureCodeValue
from api.orders.rules import OrderStatus as OrderStatusValue
from api.orders.rules import PayMethod as PayMethodValue

FINAL = (OrderStatusValue.SETTLED, OrderStatusValue.CANCELLED, OrderStatusValue.SETTLEMENT_FAILED)


OrderStatus = strawberry.enum(
    OrderStatusValue, name="OrderStatus", description="Where an order is: paid, charging, settled..."
)
OrderFailureCode = strawberry.enum(
    FailureCodeValue, name="OrderFailureCode",
    description="Why an order was cancelled, did not charge or did not settle: what apps branch on (the "
    "order's failure text is the English detail).",
)
PayMethod = strawberry.enum(
    PayMethodValue, name="PayMethod",
    description="How a driver pays: a provider (prepaid cap, refunded by the original route) or the wallet.",
)


@strawberry.enum(description="An operator's decision on a quarantined order.")
class ReviewDecision(Enum):
    ACCEPT = "accept"
    CORRECT = "correct"
    WAIVE = "waive"


@strawberry.type(description="One step of settling an order, done once by its idempotency key.")
class SettlementStep:
    kind: str = strawberry.field(description="refund, share, finish, book (provider orders); capture, release (wallet); "
                                 "correct (re-settling after a late stop corrected the session).")
    key: str
    amount_fen: int
    status: str = strawberry.field(description="planned, pending, succeeded or failed.")
    attempts: int
    last_error: str


@strawberry.type(description="The money side of one charging session, as its driver and the operator see it.")
class ChargingOrder:
    model: strawberry.Private[OrderModel]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.model.id))

    @strawberry.field(description="Our number at the payment provider.")
    def out_trade_no(self) -> str:
        return self.model.out_trade_no

    @strawberry.field
    def status(self) -> OrderStatus:
        return OrderStatusValue(self.model.status)

    @strawberry.field
    def method(self) -> PayMethod:
        return PayMethodValue(self.model.method)

    @strawberry.field
    def charge_point_id(self) -> strawberry.ID:
        return strawberry.ID(self.model.charge_point_id)

    @strawberry.field
    def connector_no(self) -> int:
        return self.model.connector_no

    @strawberry.field
    def station_id(self) -> strawberry.ID:
        return strawberry.ID(str(self.model.station_id))

    @strawberry.field(description="The station's name, for order lists (one query for the whole page).")
    async def station_name(self, info: Info) -> str:
        station = await info.context.loaders.station.load(self.model.station_id)
        return station.name if station is not None else ""

    @strawberry.field(description="The prepaid cap: charging stops when the cost reaches it.")
    def cap_fen(self) -> int:
        return self.model.cap_fen

    @strawberry.field
    def paid_fen(self) -> int:
        return self.model.paid_fen

    @strawberry.field(description="The session's cost by the station's tariff (live while charging).")
    def cost_fen(self) -> int:
        return self.model.cost_fen

    @strawberry.field(description="What the driver pays in the end: min(cost, paid), or an operator's correction.")
    def due_fen(self) -> int | None:
        return self.model.due_fen

    @strawberry.field(description="Given back by the original route (or to the wallet).")
    def refund_fen(self) -> int:
        return self.model.refund_fen

    @strawberry.field(description="Sent to partners by the provider's profit sharing.")
    def shared_fen(self) -> int:
        return self.model.shared_fen

    @strawberry.field(description="Credited to partners' sub-accounts by allocation transfers.")
    def allocated_fen(self) -> int:
        return self.model.allocated_fen

    @strawberry.field(description="What a late correction of the session added to the amount owed and the platform "
                      "could not collect (a refund cannot be undone, a payment not raised): written off in the ledger.")
    def uncollected_fen(self) -> int:
        return int(((self.model.cost_detail or {}).get("correction") or {}).get("uncollected_fen", 0))

    @strawberry.field(description="The cost's breakdown by tariff period (fen parts sum to the total).")
    def cost_detail(self) -> JSON | None:
        return (self.model.cost_detail or {}).get("cost")

    @strawberry.field
    def session_id(self) -> strawberry.ID | None:
        return strawberry.ID(str(self.model.session_id)) if self.model.session_id else None

    @strawberry.field(description="Why the order waits for an operator's review.")
    def quarantine_reason(self) -> str:
        return self.model.quarantine_reason

    @strawberry.field
    def review_note(self) -> str:
        return self.model.review_note

    @strawberry.field(description="Why the order did not charge or did not settle.")
    def failure(self) -> str:
        return self.model.failure

    @strawberry.field(description="Why the order did not charge or did not settle, as a code; null while nothing "
                      "failed.")
    def failure_code(self) -> OrderFailureCode | None:
        return _failure_code(self.model.failure_code)

    @strawberry.field
    def created_at(self) -> datetime:
        return self.model.created_at

    @strawberry.field
    def paid_at(self) -> datetime | None:
        return self.model.paid_at

    @strawberry.field
    def finished_at(self) -> datetime | None:
        return self.model.finished_at

    @strawberry.field
    def settled_at(self) -> datetime | None:
        return self.model.settled_at

    @strawberry.field
    async def steps(self, info: Info) -> list[SettlementStep]:
        rows = await info.context.services.orders.steps(self.model.id)
        return [SettlementStep(kind=r.kind, key=r.key, amount_fen=r.amount_fen, status=r.status,
                               attempts=r.attempts, last_error=r.last_error) for r in rows]


@strawberry.type
class StartChargingResult:
    order: ChargingOrder
    payment_params: JSON | None = strawberry.field(
        description="Pass as is to wx.requestPayment (timeStamp, nonceStr, package, signType, paySign) or "
        "my.tradePay (tradeNO); the sandbox gives a payUrl. Null: paid from the wallet, the pile is starting."
    )


@strawberry.input(description="One payout of a partner's sub-account, as finance made it.")
class PayoutInput:
    partner_id: strawberry.ID
    amount_fen: int
    channel: str = strawberry.field(description="bank, alipay or wechatpay")
    reference: str = strawberry.field(description="The bank's (or provider's) reference: books it once.")


@strawberry.type
class TopUpResult:
    top_up_id: strawberry.ID
    out_trade_no: str
    amount_fen: int
    payment_params: JSON


@strawberry.type(description="One line of a statement: a movement of money with the balance after it.")
class StatementLine:
    line_id: strawberry.ID
    at: datetime
    kind: str
    memo: str
    reference: str
    amount_fen: int
    balance_after_fen: int


@strawberry.type
class Wallet:
    balance_fen: int
    held_fen: int = strawberry.field(description="Reserved for running orders paid from the wallet.")
    statement: list[StatementLine]


@strawberry.type
class OrderUpdate:
    order_id: strawberry.ID
    status: OrderStatus
    cap_fen: int
    paid_fen: int
    cost_fen: int
    due_fen: int | None
    refund_fen: int
    session_id: strawberry.ID | None
    failure: str
    failure_code: OrderFailureCode | None


def _order(model: OrderModel) -> ChargingOrder:
    return ChargingOrder(model=model)


def _lines(rows: list) -> list[StatementLine]:  # type: ignore[type-arg]
    return [StatementLine(line_id=strawberry.ID(str(r.line_id)), at=r.created_at, kind=str(r.entry_kind), memo=r.memo, reference=r.reference,
                          amount_fen=r.amount_fen, balance_after_fen=r.balance_after_fen) for r in rows]


@strawberry.type
class OrderQueries:
    @strawberry.field(description="One order (its driver, or staff who may read the station's sessions).")
    @maps_domain_errors
    async def order(self, info: Info, id: strawberry.ID) -> ChargingOrder:
        return _order(await info.context.services.orders.visible(await info.context.viewer(), parse_int_id(id, "order")))

    @strawberry.field(description="Orders, newest first: a driver's own, or those of the stations the viewer manages.")
    @maps_domain_errors
    async def orders(
        self, info: Info, station_id: strawberry.ID | None = None, status: OrderStatus | None = None,
        first: int = 20, before: strawberry.ID | None = None,
    ) -> list[ChargingOrder]:
        rows = await info.context.services.orders.history(
            await info.context.viewer(), station_id=parse_int_id(station_id, "station") if station_id else None,
            status=str(status) if status else None, first=first,
            before_id=parse_int_id(before, "order") if before else None,
        )
        return [_order(r) for r in rows]

    @strawberry.field(description="How a driver can pay here: the providers this platform has configured, then "
                      "WALLET. A mini-program offers its own app's provider when listed (SANDBOX in the demo). "
                      "No login needed.")
    def pay_methods(self, info: Info) -> list[PayMethod]:
        return info.context.services.orders.pay_methods()

    @strawberry.field(description="The viewer's wallet: balance, held caps and the latest movements.")
    @maps_domain_errors
    async def wallet(self, info: Info, first: int = 20) -> Wallet:
        viewer = await info.context.require_viewer()
        if not 1 <= first <= 200:
            raise InvalidInput("first must be between 1 and 200")
        ledger = info.context.services.ledger
        return Wallet(
            balance_fen=await ledger.wallet_balance(viewer.user_id),
            held_fen=await ledger.balance(LedgerAccountKind.WALLET_HOLD, viewer.user_id),
            statement=_lines(await ledger.statement(LedgerAccountKind.WALLET, viewer.user_id, limit=first)),
        )

    @strawberry.field(description="A partner's sub-account: shares received through providers, allocation "
                      "transfers and payouts, newest first (the partner's own staff, or the operator).")
    @maps_domain_errors
    async def partner_statement(
        self, info: Info, partner_id: strawberry.ID, first: int = 50,
        before: Annotated[strawberry.ID | None, strawberry.argument(description="The lineId of the last line seen.")]
        = None,
        since: Annotated[datetime | None, strawberry.argument(description="Period start (inclusive).")] = None,
        until: Annotated[datetime | None, strawberry.argument(description="Period end (exclusive).")] = None,
    ) -> list[StatementLine]:
        rows = await info.context.services.orders.partner_statement(
            await info.context.viewer(), parse_int_id(partner_id, "partner"), first,
            before_id=parse_int_id(before, "statement line") if before else None, since=since, until=until,
        )
        return _lines(rows)


@strawberry.type
class OrderMutations:
    @strawberry.mutation(description="Start charging at a connector: pay a cap (a provider) or hold it in the wallet.")
    @maps_domain_errors
    async def start_charging(
        self, info: Info, charge_point_id: strawberry.ID, connector_no: int, method: PayMethod,
        cap_fen: Annotated[int, strawberry.argument(description="1.00 to 1000.00 yuan, in fen.")],
    ) -> StartChargingResult:
        started = await info.context.services.orders.start_charging(
            await info.context.viewer(), str(charge_point_id), connector_no, PayMethodValue(method), cap_fen
        )
        return StartChargingResult(order=_order(started.order), payment_params=started.client_params)

    @strawberry.mutation(description="Stop charging (the driver); the order settles when the pile reports the end.")
    @maps_domain_errors
    async def stop_charging(self, info: Info, order_id: strawberry.ID) -> ChargingOrder:
        return _order(await info.context.services.orders.stop(await info.context.viewer(), parse_int_id(order_id, "order")))

    @strawberry.mutation(description="Decide a quarantined order: accept its cost, correct it, or waive it (with why).")
    @maps_domain_errors
    async def review_order(
        self, info: Info, order_id: strawberry.ID, decision: ReviewDecision, note: str, due_fen: int | None = None,
    ) -> ChargingOrder:
        order = await info.context.services.orders.review(
            await info.context.viewer(), parse_int_id(order_id, "order"), decision.value, due_fen, note
        )
        return _order(order)

    @strawberry.mutation(description="Refund part or all of a settled order (operator admins; with the reason, audited); "
                         "by the original route, or to the wallet.")
    @maps_domain_errors
    async def refund_order(self, info: Info, order_id: strawberry.ID, amount_fen: int, reason: str) -> ChargingOrder:
        order = await info.context.services.orders.refund(
            await info.context.viewer(), parse_int_id(order_id, "order"), amount_fen, reason
        )
        return _order(order)

    @strawberry.mutation(description="Top up the wallet through a provider; credited when the provider confirms.")
    @maps_domain_errors
    async def top_up_wallet(self, info: Info, method: PayMethod, amount_fen: int) -> TopUpResult:
        top_up, params = await info.context.services.orders.top_up(
            await info.context.viewer(), PayMethodValue(method), amount_fen
        )
        return TopUpResult(top_up_id=strawberry.ID(str(top_up.id)), out_trade_no=top_up.out_trade_no,
                           amount_fen=top_up.amount_fen, payment_params=params)

    @strawberry.mutation(description="A partner of an operator, with where it receives profit sharing.")
    @maps_domain_errors
    async def create_partner(
        self, info: Info, operator_id: strawberry.ID, name: str, wechat_account_type: str = "",
        wechat_account: str = "", wechat_name: str = "", alipay_account_type: str = "", alipay_account: str = "",
        alipay_name: str = "", user_id: strawberry.ID | None = None,
    ) -> strawberry.ID:
        partner = await info.context.services.orders.create_partner(
            await info.context.viewer(), parse_int_id(operator_id, "operator"), name,
            wechat=(wechat_account_type, wechat_account, wechat_name),
            alipay=(alipay_account_type, alipay_account, alipay_name),
            user_id=parse_int_id(user_id, "user") if user_id else None,
        )
        return strawberry.ID(str(partner.id))

    @strawberry.mutation(description="Book a payout of a partner's sub-account (finance paid it by bank or a "
                         "provider transfer); once per reference. Returns the balance left.")
    @maps_domain_errors
    async def record_partner_payout(
        self, info: Info, partner_id: strawberry.ID, amount_fen: int, channel: str, reference: str
    ) -> int:
        return await info.context.services.orders.record_payout(
            await info.context.viewer(), parse_int_id(partner_id, "partner"), amount_fen, channel, reference
        )

    @strawberry.mutation(description="Book a batch of payouts (a finance run): each once per reference; the batch "
                         "stops at the first that cannot be booked and says which. Returns each balance left.")
    @maps_domain_errors
    async def record_partner_payouts(self, info: Info, payouts: list[PayoutInput]) -> list[int]:
        viewer = await info.context.viewer()
        orders = info.context.services.orders
        if not 1 <= len(payouts) <= 500:
            raise InvalidInput("a batch has 1 to 500 payouts")
        left = []
        for number, p in enumerate(payouts, 1):
            try:
                left.append(await orders.record_payout(
                    viewer, parse_int_id(p.partner_id, "partner"), p.amount_fen, p.channel, p.reference
                ))
            except DomainError as error:  # the ones before it are booked; sending the batch again is safe
                failed = DomainError(f"payout {number} of {len(payouts)} ({p.reference}): {error.message}")
                failed.code = error.code
                raise failed from error
        return left

    @strawberry.mutation(description="Give a partner a share of a station's orders (basis points, 10000 = 100 %).")
    @maps_domain_errors
    async def add_revenue_share(
        self, info: Info, station_id: strawberry.ID, partner_id: strawberry.ID, share_bp: int,
        effective_from: datetime | None = None,
    ) -> strawberry.ID:
        rule = await info.context.services.orders.add_share(
            await info.context.viewer(), parse_int_id(station_id, "station"), parse_int_id(partner_id, "partner"),
            share_bp, effective_from,
        )
        return strawberry.ID(str(rule.id))


@strawberry.type
class OrderSubscriptions:
    @strawberry.subscription(description="An order's changes (status, live cost, refund) until it is final.")
    async def order_updates(self, info: Info, order_id: strawberry.ID) -> AsyncGenerator[OrderUpdate, None]:
        services = info.context.services
        number = parse_int_id(order_id, "order")
        await maps_domain_errors(services.orders.visible)(await info.context.viewer(), number)
        async with services.bus.subscribe(channels.order(number)) as events:
            current = await services.orders.get(number)
            yield _update(OrderChanged(current.id, current.status, current.cap_fen, current.paid_fen,
                                       current.cost_fen, current.due_fen, current.refund_fen, current.session_id,
                                       current.failure, current.failure_code))
            if current.status in FINAL:
                return
            async for event in events:
                if isinstance(event, OrderChanged):
                    yield _update(event)
                    if event.status in FINAL:
                        return


def _update(e: OrderChanged) -> OrderUpdate:
    return OrderUpdate(
        order_id=strawberry.ID(str(e.order_id)), status=OrderStatusValue(e.status), cap_fen=e.cap_fen, paid_fen=e.paid_fen,
        cost_fen=e.cost_fen, due_fen=e.due_fen, refund_fen=e.refund_fen,
        session_id=strawberry.ID(str(e.session_id)) if e.session_id else None, failure=e.failure,
        failure_code=_failure_code(e.failure_code),
    )


def _failure_code(value: str) -> FailureCodeValue | None:
    """Empty (nothing failed) is null; a code this version does not know (written by a newer node) too."""
    try:
        return FailureCodeValue(value) if value else None
    except ValueError:
        return None

