"""Charging orders: pay a cap, start the pile, follow the cost, stop at the cap, settle; and wallet top-ups.

How an order moves (each move is one conditional update, so racing paths apply it once):

    created ─paid─▶ paid ─remote start accepted─▶ starting ─session seen─▶ charging ─session ended─▶ finished
       │                 └─refused/offline─┐         └─no session in time─┐                         │
       └─closed/expired─▶ cancelled        └──────────────▶ finished (nothing due: full refund) ◀────┘
    finished ─meter data looks wrong─▶ quarantined ─operator review─▶ settling
    finished ─▶ settling ─every step done─▶ settled        (a step refused for good: settlement_failed)

Settlement steps (planned once, each with its idempotency key, executed in order by the worker, resumed after
any crash): provider orders refund the unused part, share the partners' part through the provider (at least
61 s after payment), finish the sharing (release the frozen rest), and book the platform's and the allocated
parts; wallet orders capture the amount due from the hold (crediting partners' sub-accounts) and release the
rest to the wallet. Money moves in the ledger only when the provider has confirmed the step.

Provider notifications are verified, stored in the inbox once, acknowledged, and applied by the worker.

A session the sweep closed by a rule (StaleClosed, PileRebooted) is billed on what was known then; when the
pile's own late stop corrects it, the worker sees the session end again and re-settles the order by one more
step (``correct``, keyed ``<out_trade_no>C1``): the corrected cost priced by the same tariff, only the difference
moved (``_resettle``). A failed or operator-reviewed order is left to a person.

Why an order failed is kept as a ``rules.FailureCode`` next to the English ``failure`` detail.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from api.access.dto import Permission, Viewer
from api.access.rules import runs_operator
from api.access.service import AccessService, forbidden, require_viewer
from api.audit.dto import PLATFORM, Actor, AuditRecord
from api.audit.service import AuditService
from api.charge_point.service import ChargePointService
from api.charging.dto import AuthorizationStatus
from api.charging.events import SessionEnded
from api.charging.rules import CLOSED_BY_RULE
from api.charging.service import ChargingService
from api.commands.dto import Outcome
from api.commands.operations import OperationsService
from api.core.bus import EventBus, SubscriberDropped, channels
from api.core.clock import Clock, as_utc
from api.core.errors import InvalidInput, NotFound
from api.core.money import split_by_bp
from api.ledger.dto import AccountRef, Line, revenue, uncollected, wallet
from api.ledger.errors import InsufficientFunds
from api.ledger.service import LedgerService
from api.metering.service import MeteringService
from api.models import ChargingOrder, Partner, RevenueShareRule, SettlementStep, TopUp
from api.models.enums import ConnectorStatus, JournalEntryKind, LedgerAccountKind, SessionStatus
from api.orders import repository, rules
from api.orders.errors import ConnectorBusy, OrderStateError, PaymentNotPossible
from api.orders.events import OrderChanged, SessionCostChanged
from api.orders.rules import FailureCode, OrderStatus, PayMethod
from api.payments.provider import (
    NotificationKind,
    NotifyAnswer,
    PaymentProvider,
    PaymentStatus,
    PrepayRequest,
    Receiver,
    SharePart,
    StepStatus,
)
from api.payments.providers.errors import BadSignature, ProviderError
from api.policy.errors import NotAdmitted
from api.tariff.dto import AnomalyKind, Cost, Reading
from api.tariff.service import TariffService

log = logging.getLogger(__name__)

S = OrderStatus
F = FailureCode
STARTABLE = (ConnectorStatus.AVAILABLE, ConnectorStatus.PREPARING)


@dataclass(frozen=True)
class OrderTiming:
    payment_window_s: int = 900
    """How long a driver has to pay before the order is closed."""
    query_after_s: int = 10
    """Ask the provider about an unpaid order after this long (a notification may be lost)."""
    start_timeout_s: int = 120
    """How long after an accepted remote start the pile's transaction may take before the order is refunded."""
    retry_s: int = 30
    """Wait before retrying a settlement step the provider could not do now."""
    share_delay_s: int = 61
    """WeChat Pay shares only a minute after payment (PAYMENTS.md A10); Alipay has no such rule, we wait anyway."""


@dataclass(frozen=True)
class Started:
    order: ChargingOrder
    client_params: dict[str, str] | None
    """What the mini-program passes to wx.requestPayment / my.tradePay (None: paid from the wallet)."""


class OrderService:
    def __init__(
        self, bus: EventBus, clock: Clock, *, access: AccessService, audit: AuditService,
        charge_points: ChargePointService, charging: ChargingService, metering: MeteringService,
        operations: OperationsService, tariffs: TariffService, ledger: LedgerService,
        providers: Mapping[str, PaymentProvider], notify_base_url: str, timing: OrderTiming = OrderTiming(),
    ) -> None:
        self.bus = bus
        self.clock = clock
        self.access = access
        self.audit = audit
        self.charge_points = charge_points
        self.charging = charging
        self.metering = metering
        self.operations = operations
        self.tariffs = tariffs
        self.ledger = ledger
        self.providers = dict(providers)
        self.notify_base_url = notify_base_url.rstrip("/")
        self.timing = timing
        self.wake = asyncio.Event()
        """Set when something happened that the worker should look at now (a notification, a session)."""
        self.ended: set[int] = set()
        """Sessions reported ended since the worker last looked: a late stop may have corrected one whose order
        was settled already (``_follow_corrections``)."""

    # -- a driver starts charging ---------------------------------------------------------------------------

    async def start_charging(
        self, viewer: Viewer | None, charge_point_id: str, connector_no: int, method: PayMethod, cap_fen: int
    ) -> Started:
        driver = require_viewer(viewer)
        if not rules.MIN_CAP_FEN <= cap_fen <= rules.MAX_CAP_FEN:
            raise InvalidInput(
                f"a cap is between {rules.MIN_CAP_FEN / 100:.2f} and {rules.MAX_CAP_FEN / 100:.2f} yuan"
            )
        provider = self._provider(method) if method != PayMethod.WALLET else None
        cp = await self.charge_points.get(charge_point_id)
        connector = await self.charge_points.connector(charge_point_id, connector_no)
        if not cp.online or connector.status not in STARTABLE:
            raise ConnectorBusy(
                f"connector {connector_no} of {charge_point_id} is {'offline' if not cp.online else connector.status.value}"
            )
        if await repository.open_on_connector(charge_point_id, connector_no, rules.ACTIVE) is not None:
            raise ConnectorBusy(f"connector {connector_no} of {charge_point_id} is in use by another order")
        id_tag = await self.access.app_tag(driver.user_id)
        admitted = await self.charging.authorize(id_tag, charge_point_id, log_refusal=False)
        if admitted.status != AuthorizationStatus.ACCEPTED:
            raise NotAdmitted(f"you may not charge here: {admitted.reason or admitted.status.value}")
        place = await self.access.place_of(charge_point_id)
        if await self.tariffs.in_force(place.station_id) is None:
            raise PaymentNotPossible("this station has no tariff yet: it cannot take orders")
        shares = await self._shares(place.station_id, self.clock.now())
        receivers = await self._receivers(method, list(shares))
        payer = None
        if provider is not None:
            payer = await self.access.payer_id(driver.user_id, provider.name)
            if payer is None:
                raise PaymentNotPossible(f"log in with the {_app_name(method)} mini-program first to pay with it")
        elif await self.ledger.wallet_balance(driver.user_id) < cap_fen:
            raise PaymentNotPossible("the wallet balance is below the cap: top it up or choose a smaller cap")
        order = await repository.create_order(
            user_id=driver.user_id, station_id=place.station_id, operator_id=place.operator_id,
            charge_point_id=charge_point_id, connector_no=connector_no, id_tag=id_tag, method=method.value,
            status=S.CREATED.value, cap_fen=cap_fen, profit_sharing=bool(receivers) and provider is not None,
        )
        if provider is None:
            try:
                await self.ledger.reserve(driver.user_id, cap_fen, key=f"{order.out_trade_no}-hold",
                                          reference=_ref(order))
            except InsufficientFunds:  # a concurrent payment got there first
                await repository.move(order.id, [S.CREATED], S.CANCELLED, failure="wallet balance too low",
                                      failure_code=F.WALLET_BALANCE_LOW)
                raise PaymentNotPossible("the wallet balance is below the cap") from None
            await repository.move(order.id, [S.CREATED], S.PAID, paid_fen=cap_fen, paid_at=self.clock.now())
            await self._changed(order.id)
            self.wake.set()  # the worker starts the pile: this request does not wait for it
            return Started(await self.get(order.id), None)
        try:
            prepared = await provider.prepay(PrepayRequest(
                out_trade_no=order.out_trade_no, description=f"充电 {charge_point_id}-{connector_no}",
                amount_fen=cap_fen, payer_id=payer or "", profit_sharing=order.profit_sharing,
                notify_url=f"{self.notify_base_url}/pay/notify/{provider.name}",
                expires_at=self.clock.now() + timedelta(seconds=self.timing.payment_window_s),
            ))
        except ProviderError as e:
            await repository.move(order.id, [S.CREATED], S.CANCELLED, failure=f"payment not created: {e.message}"[:255],
                                  failure_code=F.PAYMENT_NOT_CREATED)
            raise PaymentNotPossible(f"the payment could not be created: {e.message}") from e
        await self._changed(order.id)
        return Started(order, prepared.client_params)

    def use(self, provider: PaymentProvider) -> None:
        """Plug in a payment provider (done when the app is composed; tests plug in ones that reach local fakes)."""
        self.providers[provider.name] = provider

    def pay_methods(self) -> list[PayMethod]:
        """The configured providers (in the order of ``PayMethod``), then the wallet."""
        return [m for m in PayMethod if m in self.providers] + [PayMethod.WALLET]

    def _provider(self, method: PayMethod | str) -> PaymentProvider:
        provider = self.providers.get(str(method))
        if provider is None:
            raise PaymentNotPossible(f"paying with {method} is not configured on this platform")
        return provider

    async def _shares(self, station_id: int, at: datetime) -> dict[int, int]:
        rows = await repository.share_rules(station_id)
        return rules.shares_at(
            [rules.ShareRule(r.partner_id, r.share_bp, r.effective_from, r.effective_to) for r in rows], at
        )

    async def _receivers(self, method: PayMethod | str, partner_ids: list[int]) -> dict[int, Receiver]:
        if not partner_ids or str(method) == PayMethod.WALLET:
            return {}
        out = {}
        for p in await repository.partners(partner_ids):
            if str(method) == PayMethod.WECHATPAY and p.wechat_account:
                out[p.id] = Receiver(p.wechat_account_type, p.wechat_account, p.wechat_name)
            elif str(method) == PayMethod.ALIPAY and p.alipay_account:
                out[p.id] = Receiver(p.alipay_account_type, p.alipay_account, p.alipay_name)
            elif str(method) == PayMethod.SANDBOX:
                out[p.id] = Receiver("SANDBOX", f"partner-{p.id}", p.name)
        return out

    # -- money coming in -------------------------------------------------------------------------------------

    async def receive_notification(self, provider_name: str, headers: Mapping[str, str], body: bytes) -> NotifyAnswer:
        """Verify, store once, acknowledge. Applying it is the worker's job (exactly once)."""
        provider = self.providers.get(provider_name)
        if provider is None:
            return NotifyAnswer(404, b"unknown provider", "text/plain")
        try:
            note = provider.parse_notification(headers, body)
        except BadSignature as e:
            log.warning("refused a %s notification: %s", provider_name, e.message)
            return provider.answer(False, "signature")
        except ProviderError as e:  # verified, but says something we cannot read: let the provider retry
            log.error("unreadable %s notification: %s", provider_name, e.message)
            return provider.answer(False, "unreadable")
        stored = await repository.store_notification(
            provider_name, note.external_id, note.kind.value, note.out_trade_no, {
                "status": note.status, "amount_fen": note.amount_fen, "transaction_id": note.transaction_id,
                "out_refund_no": note.out_refund_no, "at": note.at.isoformat() if note.at else None,
            },
        )
        if not stored:
            log.info("duplicate %s notification %s", provider_name, note.external_id)
        self.wake.set()
        return provider.answer(True)

    async def _apply_inbox(self) -> None:
        for row in await repository.unhandled_notifications():
            try:
                outcome = await self._apply(row.provider, row.kind, row.out_trade_no, row.payload)
            except ProviderError as e:  # a query behind it failed: try again on the next round
                log.warning("notification %s not applied yet: %s", row.id, e.message)
                continue
            except Exception:  # a bug must not block the notifications behind this one
                log.exception("notification %s could not be applied", row.id)
                continue
            await repository.mark_handled(row.id, self.clock.now(), outcome)

    async def _apply(self, provider: str, kind: str, number: str, payload: dict[str, Any]) -> str:
        amount = int(payload["amount_fen"])
        if kind == NotificationKind.PAYMENT:
            if payload["status"] != PaymentStatus.PAID:
                return f"ignored: {payload['status']}"
            paid_at = self.clock.now()  # when we learned it (the provider's clock is not ours)
            top_up = await repository.top_up_by_trade_no(number)
            if top_up is not None:
                return await self._top_up_paid(top_up, amount, payload.get("transaction_id"), provider)
            order = await repository.order_by_trade_no(number)
            if order is None or order.method != provider:
                log.error("a %s payment notification for unknown order %s", provider, number)
                return "unknown order"
            if amount != order.cap_fen:
                log.error("order %s: %s says %d fen were paid, the order asked %d", number, provider, amount, order.cap_fen)
                return "amount mismatch: not applied"
            return await self._paid(order, amount, payload.get("transaction_id"), paid_at)
        # refunds: the step's own query confirms them; the notification makes it ask now
        order = await repository.order_by_trade_no(number)
        if order is not None:
            await repository.ask_again(order.id)
        return "refund noted"

    async def _paid(self, order: ChargingOrder, amount_fen: int, transaction_id: str | None, at: datetime) -> str:
        if order.method != PayMethod.WALLET:
            await self.ledger.record_payment(
                order.method, amount_fen, key=f"{order.out_trade_no}-pay", reference=_ref(order)
            )
        if await repository.move(
            order.id, [S.CREATED], S.PAID, paid_fen=amount_fen, transaction_id=transaction_id, paid_at=at
        ):
            await self._changed(order.id)
            self.wake.set()  # this round starts the pile right after the inbox (never while holding it up)
            return "paid"
        fresh = await self.get(order.id)
        if fresh.status == S.CANCELLED:  # paid after we gave up on it: give it all back
            await repository.update_order(order.id, paid_fen=amount_fen, transaction_id=transaction_id, paid_at=at)
            await repository.move(order.id, [S.CANCELLED], S.FINISHED, due_fen=0, finished_at=self.clock.now(),
                                  failure="paid after the payment window closed", failure_code=F.PAID_TOO_LATE)
            await self._changed(order.id)
            return "paid late: refunding"
        return f"already {fresh.status}"

    # -- the pile ---------------------------------------------------------------------------------------------

    async def _start(self, order: ChargingOrder) -> None:
        if not await repository.move(order.id, [S.PAID], S.STARTING, start_requested_at=self.clock.now()):
            return
        await self._changed(order.id)
        actor = Actor(order.user_id, f"order {order.id}")
        try:
            result = await self.operations.start_for_order(
                actor, order.charge_point_id, order.connector_no, order.id_tag, _ref(order)
            )
        except NotAdmitted as e:
            await self._start_failed(order, e.message, F.NOT_ADMITTED)
            return
        if result.outcome != Outcome.ACCEPTED:
            await self._start_failed(order, f"the pile did not start: {result.outcome.value} {result.status or ''}",
                                     rules.START_FAILURES.get(result.outcome.value, F.PILE_REFUSED))

    async def _start_failed(self, order: ChargingOrder, why: str, code: rules.FailureCode) -> None:
        if await repository.move(order.id, [S.STARTING, S.PAID], S.FINISHED, due_fen=0, cost_fen=0,
                                 finished_at=self.clock.now(), failure=why[:255], failure_code=code):
            log.info("order %s did not start: %s", order.id, why)
            await self._changed(order.id)
            self.wake.set()

    async def _follow_starting(self, order: ChargingOrder) -> None:
        since = (order.start_requested_at or order.created_at) - timedelta(seconds=5)
        sessions = await self.charging.sessions_for_tag_since(order.charge_point_id, order.id_tag, since)
        session = None
        for candidate in sessions:
            if await repository.order_for_session(candidate.id) is None:
                session = candidate
                break
        if session is not None:
            if await repository.move(order.id, [S.STARTING], S.CHARGING, session_id=session.id):
                await self._changed(order.id)
            return
        if (self.clock.now() - (order.start_requested_at or order.created_at)).total_seconds() > self.timing.start_timeout_s:
            await self._start_failed(order, "no charging began in time (is the vehicle plugged in?)",
                                     F.NO_SESSION_IN_TIME)

    async def _follow_charging(self, order: ChargingOrder) -> None:
        assert order.session_id is not None
        session = await self.charging.get(order.session_id)
        cost = await self._cost(order, session)
        if cost.total_fen != order.cost_fen:
            await repository.update_order(order.id, cost_fen=cost.total_fen)
            await self.charging_cost_changed(order, session.id, cost.total_fen, session.energy_wh)
        if session.status != SessionStatus.ACTIVE:
            await self._finish(order, session, cost)
        elif cost.total_fen >= order.cap_fen and self._may_ask_to_stop(order):
            await repository.update_order(order.id, cost_detail={"stop_requested": self.clock.now().isoformat()})
            result = await self.operations.stop_for_order(PLATFORM, session.id, f"{_ref(order)} reached its cap")
            log.info("order %s reached its cap: stop %s", order.id, result.outcome.value)

    def _may_ask_to_stop(self, order: ChargingOrder) -> bool:
        """Ask the pile to stop once, and again each minute it goes on (it was offline, or lost the request)."""
        asked = (order.cost_detail or {}).get("stop_requested")
        return asked is None or (self.clock.now() - datetime.fromisoformat(asked)).total_seconds() > 60

    async def charging_cost_changed(self, order: ChargingOrder, session_id: int, cost_fen: int, energy_wh: int) -> None:
        # the change is committed already (each order update is its own statement): publish straight away
        await self.bus.publish(channels.session(session_id),
                               SessionCostChanged(session_id, order.id, cost_fen, order.cap_fen, energy_wh))
        await self._changed(order.id)

    async def _cost(self, order: ChargingOrder, session: Any) -> Cost:
        readings = [Reading(session.started_at, session.meter_start_wh)]
        readings += [Reading(at, wh) for at, wh in await self.metering.energy_readings(session.id)]
        if session.stopped_at is not None and session.meter_stop_wh is not None:
            readings.append(Reading(session.stopped_at, session.meter_stop_wh))
        end = session.stopped_at or self.clock.now()
        # while charging, no idle fee yet; after the stop, charging ended when the register stopped rising
        return await self.tariffs.cost(
            order.station_id, readings, end=end, charging_ended_at=None if session.stopped_at else end
        )

    async def _finish(self, order: ChargingOrder, session: Any, cost: Any) -> None:
        connector = await self.charge_points.connector(order.charge_point_id, order.connector_no)
        seconds = ((session.stopped_at or self.clock.now()) - session.started_at).total_seconds()
        reasons = rules.quarantine_reasons(
            session_anomaly=session.anomaly,
            cost_anomalies=[a.detail for a in cost.anomalies if a.kind != AnomalyKind.READING_AFTER_END],
            energy_wh=session.energy_wh,
            seconds=seconds, max_power_w=connector.max_power_w, meter_start_wh=session.meter_start_wh,
        )
        # the stop reason billed: a late stop of the pile replacing a rule's close is seen by it changing
        detail = {**(order.cost_detail or {}), "cost": cost_json(cost), "stop_reason": session.stop_reason or ""}
        if reasons:
            moved = await repository.move(order.id, [S.CHARGING], S.QUARANTINED, cost_fen=cost.total_fen,
                                          cost_detail=detail, finished_at=self.clock.now(),
                                          quarantine_reason="; ".join(reasons)[:255])
        else:
            moved = await repository.move(order.id, [S.CHARGING], S.FINISHED, cost_fen=cost.total_fen,
                                          due_fen=min(cost.total_fen, order.paid_fen), cost_detail=detail,
                                          finished_at=self.clock.now())
        if moved:
            await self._changed(order.id)

    # -- settlement ---------------------------------------------------------------------------------------------

    async def _plan(self, order: ChargingOrder) -> None:
        """Plan the settlement steps of a finished order (once: the keys make it idempotent)."""
        due = order.due_fen if order.due_fen is not None else min(order.cost_fen, order.paid_fen)
        shares = await self._shares(order.station_id, order.created_at) if due > 0 else {}  # the rules the driver saw
        receivers = await self._receivers(order.method, list(shares)) if order.profit_sharing else {}
        provider = self.providers.get(order.method) if order.method != PayMethod.WALLET else None
        plan = rules.plan(
            order.paid_fen, due, shares, max_share_bp=provider.max_share_bp if provider and order.profit_sharing else None,
            receivers=frozenset(receivers),
        )
        no = order.out_trade_no
        parts = [{"partner_id": s.partner_id, "via_provider_fen": s.via_provider_fen, "allocated_fen": s.allocated_fen}
                 for s in plan.shares]
        steps: list[dict[str, Any]] = []
        if order.method == PayMethod.WALLET:
            steps.append(_step(order, "capture", f"{no}-cap", plan.due_fen, {"parts": parts, "platform_fen": plan.platform_fen}))
            steps.append(_step(order, "release", f"{no}-rel", plan.refund_fen, {}))
        else:
            if plan.refund_fen > 0:
                steps.append(_step(order, "refund", f"{no}R1", plan.refund_fen, {}))
            via = [
                {"partner_id": s.partner_id, "amount_fen": s.via_provider_fen,
                 "receiver": [receivers[s.partner_id].account_type, receivers[s.partner_id].account,
                              receivers[s.partner_id].name]}
                for s in plan.shares if s.via_provider_fen > 0
            ]
            not_before = (order.paid_at or self.clock.now()) + timedelta(seconds=self.timing.share_delay_s)
            if via:
                steps.append(_step(order, "share", f"{no}S1", plan.via_provider_fen, {"parts": via}, not_before))
            if order.profit_sharing:
                steps.append(_step(order, "finish", f"{no}F1", 0, {}, not_before))
            steps.append(_step(order, "book", f"{no}-book", plan.due_fen - plan.via_provider_fen,
                               {"parts": parts, "platform_fen": plan.platform_fen}))
        await repository.add_steps(steps)
        if await repository.move(order.id, [S.FINISHED], S.SETTLING, due_fen=plan.due_fen):
            await self._changed(order.id)

    async def _advance(self, order: ChargingOrder) -> None:
        now = self.clock.now()
        for step in await repository.steps_of(order.id):
            if step.status == "succeeded":
                continue
            if step.status == "failed":
                if await repository.move(order.id, [S.SETTLING], S.SETTLEMENT_FAILED,
                                         failure=f"{step.kind}: {step.last_error}"[:255],
                                         failure_code=rules.step_failure(step.kind)):
                    await self._changed(order.id)
                return
            if step.not_before is not None and now < step.not_before:
                return
            try:
                done = await self._run(order, step)
            except ProviderError as e:
                final = not e.retryable and step.kind in ("share", "refund", "finish") and step.attempts >= 2
                await repository.update_step(
                    step.id, attempts=step.attempts + 1, last_error=e.message[:255],
                    status="failed" if final else step.status,
                    not_before=now + timedelta(seconds=self.timing.retry_s * (step.attempts + 1)),
                )
                log.warning("order %s step %s: %s", order.id, step.key, e.message)
                return
            if not done:
                return
        if await repository.move(order.id, [S.SETTLING], S.SETTLED, settled_at=now):
            await self._changed(order.id)

    async def _run(self, order: ChargingOrder, step: SettlementStep) -> bool:
        """Do (or check) one step; True when it is done."""
        ref = _ref(order)
        if step.kind == "capture":
            if step.amount_fen > 0:
                await self.ledger.capture(order.user_id, step.amount_fen, _allocations(step), key=step.key,
                                          owner=order.operator_id, reference=ref)
            await repository.update_order(order.id, allocated_fen=sum(_allocations(step).values()))
            return await self._step_done(step)
        if step.kind == "release":
            if step.amount_fen > 0:
                await self.ledger.release(order.user_id, step.amount_fen, key=step.key, reference=ref)
            return await self._step_done(step)
        if step.kind == "book":
            if step.amount_fen > 0:
                await self.ledger.release_to_revenue(step.amount_fen, _allocations(step), key=step.key,
                                                     owner=order.operator_id, reference=ref)
            allocated = sum(_allocations(step).values())
            await repository.update_order(order.id, allocated_fen=allocated)
            return await self._step_done(step)
        if step.kind == "correct":
            return await self._resettle(await self.get(order.id), step)
        if step.kind == "wallet_refund":  # an operator's refund of a wallet order: back to the wallet
            await self.ledger.post(step.key, JournalEntryKind.REFUND, [
                Line(revenue(order.operator_id), -step.amount_fen), Line(wallet(order.user_id), step.amount_fen)
            ], reference=ref, memo=(step.detail or {}).get("reason", ""))
            await repository.update_order(order.id, refund_fen=order.refund_fen + step.amount_fen)
            return await self._step_done(step)
        provider = self._provider(order.method)
        if step.kind == "refund":
            state = (
                await provider.query_refund(order.out_trade_no, step.key) if step.status == "pending"
                else await provider.refund(order.out_trade_no, step.key, step.amount_fen, order.paid_fen,
                                           "未用完的预付金额原路退回")
            )
            if state.status == StepStatus.SUCCEEDED:
                after = (step.detail or {}).get("from") == "revenue"  # an operator's refund after settlement
                await self.ledger.refund(order.method, step.amount_fen, key=step.key, reference=ref,
                                         source=revenue(order.operator_id) if after else None)
                await repository.update_order(order.id, refund_fen=order.refund_fen + step.amount_fen)
                return await self._step_done(step)
            return await self._step_waiting(step, state.status, "refund")
        if step.kind == "share":
            parts = tuple(
                SharePart(Receiver(*p["receiver"]), p["amount_fen"], "充电服务分成") for p in step.detail["parts"]
            )
            if step.status == "planned":
                for part in parts:
                    await provider.bind_receiver(part.receiver)
            state = (
                await provider.query_share(order.transaction_id or "", order.out_trade_no, step.key)
                if step.status == "pending"
                else await provider.share(order.transaction_id or "", order.out_trade_no, step.key, parts)
            )
            if state.status == StepStatus.SUCCEEDED:
                shared = {p["partner_id"]: p["amount_fen"] for p in step.detail["parts"]}
                await self.ledger.share(order.method, shared, key=step.key, reference=ref)
                await repository.update_order(order.id, shared_fen=sum(shared.values()))
                return await self._step_done(step)
            return await self._step_waiting(step, state.status, "profit sharing")
        if step.kind == "finish":
            state = (
                await provider.query_share(order.transaction_id or "", order.out_trade_no, step.key)
                if step.status == "pending"
                else await provider.finish_sharing(order.transaction_id or "", order.out_trade_no, step.key)
            )
            if state.status == StepStatus.SUCCEEDED:
                return await self._step_done(step)
            return await self._step_waiting(step, state.status, "release of the frozen rest")
        raise AssertionError(step.kind)

    async def _step_done(self, step: SettlementStep) -> bool:
        await repository.update_step(step.id, status="succeeded", attempts=step.attempts + 1, last_error="")
        return True

    async def _step_waiting(self, step: SettlementStep, status: StepStatus, what: str) -> bool:
        if status == StepStatus.FAILED:
            await repository.update_step(step.id, status="failed", last_error=f"the provider refused the {what}")
        else:
            # back off: a WeChat ABNORMAL refund may wait for a person at the merchant platform for days
            wait = min(self.timing.retry_s * (step.attempts + 1), 600)
            await repository.update_step(step.id, status="pending", attempts=step.attempts + 1,
                                         not_before=self.clock.now() + timedelta(seconds=wait))
        return False

    # -- a late stop corrects a session closed by a rule -------------------------------------------------------

    async def _follow_corrections(self) -> None:
        """Orders whose session ended again: the pile's own late stop replaced the figures of a session we had
        closed by a rule (``api.charging.rules.CLOSED_BY_RULE``) and billed. A session is kept for the next
        round while its order is still finishing."""
        for session_id in sorted(self.ended):
            self.ended.discard(session_id)
            order = await repository.order_for_session(session_id)
            if order is None:
                continue
            try:
                if not await self._note_correction(order):
                    self.ended.add(session_id)
            except Exception:  # one order's failure must not hold up the others
                log.exception("order %s: could not follow the correction of session %s", order.id, session_id)
                self.ended.add(session_id)

    async def _look_for_missed_corrections(self, days: int = 30) -> None:
        """A late stop's event is published after its commit; one published while no worker listened (a node
        stopped, the worker moved to another node) is found here, when the worker starts: the orders billed in
        the last ``days`` (the providers' sharing window) on a session closed by a rule are looked at again."""
        since = self.clock.now() - timedelta(days=days)
        for session_id, billed in await repository.billed_sessions_since(since, (S.SETTLING, S.SETTLED)):
            if billed in CLOSED_BY_RULE:
                self.ended.add(session_id)

    def note_correction(self, session_id: int) -> None:
        """Look at an order whose session was (maybe) corrected on the next round (tests, and operators'
        tools that know of a late stop whose event was lost)."""
        self.ended.add(session_id)
        self.wake.set()

    async def _note_correction(self, order: ChargingOrder) -> bool:
        """Plan the re-settlement of an order whose billed session a late stop corrected (once: the step's key
        is the correction's idempotency key). False: look again later (the order is still finishing)."""
        if order.status in (S.CREATED, S.PAID, S.STARTING, S.CHARGING, S.CANCELLED):
            return True  # not billed yet: the order follows the session as it is now
        if order.status == S.FINISHED:
            return False  # planned on this round: correct it after
        billed = (order.cost_detail or {}).get("stop_reason")
        if billed not in CLOSED_BY_RULE or order.session_id is None:
            return True  # billed from the pile's own stop (or before stop reasons were kept): nothing to correct
        session = await self.charging.get(order.session_id)
        if session.stop_reason in CLOSED_BY_RULE or session.stop_reason == billed:
            return True
        if order.status == S.QUARANTINED:  # not settled yet: the operator reviews the corrected figures
            cost = await self._cost(order, session)
            detail = {**(order.cost_detail or {}), "cost": cost_json(cost), "stop_reason": session.stop_reason}
            if await repository.move(order.id, [S.QUARANTINED], S.QUARANTINED, cost_fen=cost.total_fen,
                                     cost_detail=detail):
                await self._changed(order.id)
            return True
        if order.status not in (S.SETTLING, S.SETTLED) or order.quarantine_reason:
            # a failed settlement, or an amount an operator decided on review: a person decides again
            log.warning("order %s (%s) was billed before its session %s was corrected by a late stop: an operator "
                        "must look", order.id, order.status, session.id)
            return True
        created = await repository.add_steps([_step(order, "correct", f"{order.out_trade_no}C1", 0, {
            "stop_reason": session.stop_reason, "energy_wh": session.energy_wh,
        })])
        if created and await repository.move(order.id, [S.SETTLED], S.SETTLING):
            await self._changed(order.id)
        self.wake.set()
        return True

    async def _resettle(self, order: ChargingOrder, step: SettlementStep) -> bool:
        """Re-settle an order after its session's correction: price the corrected session by the same tariff
        rules, then move only the difference. The plan is worked out once and kept with the step, so a retry
        posts the same entry (its key is the step's): what the driver owes less goes back by the original route
        (a refund step of its own) or to the wallet; what the driver owes more is taken from the wallet where it
        is a wallet order and the balance allows, never above the cap, and the rest is written off as
        uncollected (a provider takes no more than was paid and undoes no refund). Partners' parts follow the
        amount collected (``_correction_figures``)."""
        detail = dict(step.detail or {})
        figures = detail.get("figures")
        if figures is None:
            assert order.session_id is not None
            session = await self.charging.get(order.session_id)
            cost = await self._cost(order, session)
            figures = await self._correction_figures(order, cost)
            detail["figures"] = figures
            detail["cost"] = cost_json(cost)
            await repository.update_step(step.id, detail=detail, amount_fen=cost.total_fen, status="pending")
        lines = [Line(AccountRef(LedgerAccountKind(kind), key), amount) for kind, key, amount in figures["lines"]]
        if lines:
            try:
                await self.ledger.post(step.key, JournalEntryKind.ADJUSTMENT, lines, reference=_ref(order),
                                       memo=f"a late stop corrected the session: cost {figures['cost_fen']} fen")
            except InsufficientFunds:  # a wallet or a partner's sub-account moved since: work it out again
                detail.pop("figures")
                await repository.update_step(step.id, detail=detail, status="planned")
                return False
        refund_fen = figures["refund_fen"]
        if refund_fen > 0 and order.method != PayMethod.WALLET:
            await repository.add_steps([_step(order, "refund", f"{step.key}R", refund_fen, {
                "from": "revenue", "reason": "充电记录更正，多收部分原路退回"})])
        updates: dict[str, Any] = {
            "cost_fen": figures["cost_fen"], "due_fen": figures["collected_fen"],
            "allocated_fen": figures["allocated_fen"],
            "cost_detail": {**(order.cost_detail or {}), "cost": detail["cost"],
                            "stop_reason": detail.get("stop_reason", ""), "correction": {
                                k: figures[k] for k in ("previous_cost_fen", "previous_due_fen", "cost_fen",
                                                        "owed_fen", "collected_fen", "refund_fen", "uncollected_fen")
                            }},
        }
        if order.method == PayMethod.WALLET:
            updates["refund_fen"] = order.refund_fen + refund_fen
        await repository.update_order(order.id, **updates)
        await repository.update_step(step.id, status="succeeded", attempts=step.attempts + 1, last_error="")
        log.info("order %s re-settled after a late stop: %s", order.id, figures)
        await self._changed(order.id)
        return not (refund_fen > 0 and order.method != PayMethod.WALLET)  # a refund step to run first

    async def _correction_figures(self, order: ChargingOrder, cost: Cost) -> dict[str, Any]:
        """The money of a correction, from the order as settled and the corrected cost (module docstring of
        ``api.ledger.service`` for the accounts). Lines are [kind, key, fen]."""
        paid, before = order.paid_fen, order.due_fen or 0
        owed = min(cost.total_fen, paid)  # never above what the driver authorised
        refundable = paid - order.refund_fen
        is_wallet = order.method == PayMethod.WALLET
        refund = take = 0
        if owed < before:
            refund = min(before - owed, refundable)
        elif owed > before and is_wallet:
            take = min(owed - before, await self.ledger.wallet_balance(order.user_id))
        collected = before - refund + take
        lost = max(0, owed - collected)
        # partners' parts follow what was collected: a partner's allocation transfers (划拨) are adjusted, and a
        # share paid through a provider beyond the new part is taken back from the partner's sub-account as far
        # as it holds money (the provider's own split is not reversed); what cannot be taken back stays paid
        steps = await repository.steps_of(order.id)
        via: dict[int, int] = {}
        allocated: dict[int, int] = {}
        for s in steps:
            if s.status != "succeeded":
                continue
            if s.kind == "share":
                for p in (s.detail or {}).get("parts", []):
                    via[int(p["partner_id"])] = via.get(int(p["partner_id"]), 0) + int(p["amount_fen"])
            elif s.kind in ("book", "capture"):
                for pid, fen in _allocations(s).items():
                    allocated[int(pid)] = allocated.get(int(pid), 0) + fen
        shares = await self._shares(order.station_id, order.created_at)
        parts = split_by_bp(collected, shares) if collected > 0 and shares else {}
        moves: dict[int, int] = {}
        for pid in sorted(set(parts) | set(allocated) | set(via)):
            change = parts.get(pid, 0) - via.get(pid, 0) - allocated.get(pid, 0)
            if change < 0:  # take back no more than the sub-account holds (a payout may have emptied it)
                change = -min(-change, await self.ledger.balance(LedgerAccountKind.PARTNER, pid))
            if change:
                moves[pid] = change
        lines: list[list[Any]] = []
        if is_wallet and refund - take:
            lines.append([LedgerAccountKind.WALLET.value, str(order.user_id), refund - take])
        lines += [[LedgerAccountKind.PARTNER.value, str(pid), fen] for pid, fen in moves.items()]
        if lost:
            written_off = uncollected(order.operator_id)
            lines.append([written_off.kind.value, written_off.key, -lost])
        rest = -sum(line[2] for line in lines)
        if rest:
            lines.append([LedgerAccountKind.REVENUE.value, str(order.operator_id), rest])
        return {
            "previous_cost_fen": order.cost_fen, "previous_due_fen": before, "cost_fen": cost.total_fen,
            "owed_fen": owed, "collected_fen": collected, "refund_fen": refund, "uncollected_fen": lost,
            "allocated_fen": sum(allocated.values()) + sum(moves.values()), "lines": lines,
        }

    # -- the worker -------------------------------------------------------------------------------------------

    async def run_once(self) -> None:
        """One round over every unfinished order: safe to run at any time, any number of times. One order's
        failure is logged and does not hold up the others."""
        await self._apply_inbox()
        now = self.clock.now()
        rounds: list[tuple[tuple[OrderStatus, ...], Callable[[ChargingOrder], Awaitable[None]]]] = [
            ((S.CREATED,), self._created),
            ((S.PAID,), self._start),
            ((S.STARTING,), self._follow_starting),
            ((S.CHARGING,), self._follow_charging),
            ((S.FINISHED,), self._plan),
            ((S.SETTLING,), self._advance),
        ]
        for statuses, handle in rounds:
            if statuses == (S.SETTLING,):  # after planning: a corrected order's steps come after its plan's
                await self._follow_corrections()
            orders = await repository.orders_in(statuses)
            if statuses == (S.PAID,):  # starting waits for piles: all at once, so one slow pile holds up none
                await asyncio.gather(*(self._isolated(handle, order) for order in orders))
                continue
            for order in orders:
                await self._isolated(handle, order)
        for top_up in await repository.top_ups_in("created", now - timedelta(seconds=self.timing.query_after_s)):
            try:
                await self._query_top_up(top_up)
            except Exception:
                log.exception("top-up %s could not move on this round", top_up.id)

    @staticmethod
    async def _isolated(handle: Callable[[ChargingOrder], Awaitable[None]], order: ChargingOrder) -> None:
        try:
            await handle(order)
        except Exception:
            log.exception("order %s (%s) could not move on this round", order.id, order.status)

    async def _created(self, order: ChargingOrder) -> None:
        age = (self.clock.now() - order.created_at).total_seconds()
        if order.method == PayMethod.WALLET:  # a crash between the hold and the move: finish what was begun
            if await self.ledger.entry(f"{order.out_trade_no}-hold") is not None:
                if await repository.move(order.id, [S.CREATED], S.PAID, paid_fen=order.cap_fen,
                                         paid_at=self.clock.now()):
                    await self._changed(order.id)
            elif age > self.timing.query_after_s and await repository.move(
                order.id, [S.CREATED], S.CANCELLED, failure="the wallet hold was never taken",
                failure_code=F.WALLET_HOLD_MISSING,
            ):
                await self._changed(order.id)
            return
        if age > self.timing.query_after_s:
            await self._query_unpaid(order, expired=age > self.timing.payment_window_s)

    async def run_forever(self, interval_s: float = 1.0) -> None:
        """The worker: a round every ``interval_s``, or at once when a session starts or ends."""
        watcher = asyncio.create_task(self._watch_sessions())
        try:
            await self._look_for_missed_corrections()
        except Exception:  # the events still come; a failed look must not stop the worker
            log.exception("the look for missed session corrections failed")
        try:
            await self._rounds(interval_s)
        finally:
            watcher.cancel()

    async def _watch_sessions(self) -> None:
        while True:
            try:
                async with self.bus.subscribe(channels.sessions()) as events:
                    async for event in events:
                        if isinstance(event, SessionEnded):
                            self.ended.add(event.session_id)
                        self.wake.set()
            except SubscriberDropped:
                self.wake.set()

    async def _rounds(self, interval_s: float) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:  # a bug in one round must not stop settlement for good
                log.exception("order worker round failed")
            try:
                await asyncio.wait_for(self.wake.wait(), interval_s)
            except TimeoutError:
                pass
            self.wake.clear()

    async def _query_unpaid(self, order: ChargingOrder, *, expired: bool) -> None:
        provider = self._provider(order.method)
        try:
            state = await provider.query_payment(order.out_trade_no)
            if state.status == PaymentStatus.PAID:
                if state.amount_fen == order.cap_fen:
                    await self._paid(order, state.amount_fen, state.transaction_id, self.clock.now())
                return
            if state.status == PaymentStatus.PENDING and not expired:
                return
            if state.status == PaymentStatus.PENDING:
                await provider.close(order.out_trade_no)
        except ProviderError as e:
            if e.provider_code not in ("ORDER_NOT_EXIST", "ACQ.TRADE_NOT_EXIST") or not expired:
                log.warning("order %s: could not ask %s: %s", order.id, provider.name, e.message)
                return
        if await repository.move(order.id, [S.CREATED], S.CANCELLED, failure="not paid in time",
                                 failure_code=F.NOT_PAID_IN_TIME):
            await self._changed(order.id)

    # -- wallet top-ups ----------------------------------------------------------------------------------------

    async def top_up(self, viewer: Viewer | None, method: PayMethod, amount_fen: int) -> tuple[TopUp, dict[str, str]]:
        driver = require_viewer(viewer)
        if method == PayMethod.WALLET:
            raise InvalidInput("a wallet is topped up with WeChat Pay or Alipay")
        if not 100 <= amount_fen <= 500_000:
            raise InvalidInput("a top-up is between 1.00 and 5000.00 yuan")
        provider = self._provider(method)
        payer = await self.access.payer_id(driver.user_id, provider.name)
        if payer is None:
            raise PaymentNotPossible(f"log in with the {_app_name(method)} mini-program first to pay with it")
        top_up = await repository.create_top_up(user_id=driver.user_id, method=method.value, amount_fen=amount_fen,
                                                status="created")
        prepared = await provider.prepay(PrepayRequest(
            out_trade_no=top_up.out_trade_no, description="钱包充值", amount_fen=amount_fen, payer_id=payer,
            profit_sharing=False, notify_url=f"{self.notify_base_url}/pay/notify/{provider.name}",
            expires_at=self.clock.now() + timedelta(seconds=self.timing.payment_window_s),
        ))
        return top_up, prepared.client_params

    async def _top_up_paid(self, top_up: TopUp, amount_fen: int, transaction_id: str | None, provider: str) -> str:
        if amount_fen != top_up.amount_fen or provider != top_up.method:
            log.error("top-up %s: %s paid %d fen, asked %d", top_up.out_trade_no, provider, amount_fen, top_up.amount_fen)
            return "amount mismatch: not applied"
        await self.ledger.top_up(top_up.user_id, provider, amount_fen, key=f"{top_up.out_trade_no}-pay",
                                 reference=f"top_up:{top_up.id}")
        await repository.move_top_up(top_up.id, "created", "credited", transaction_id=transaction_id,
                                     credited_at=self.clock.now())
        return "credited"

    async def _query_top_up(self, top_up: TopUp) -> None:
        provider = self._provider(top_up.method)
        try:
            state = await provider.query_payment(top_up.out_trade_no)
        except ProviderError as e:
            log.warning("top-up %s: could not ask %s: %s", top_up.id, provider.name, e.message)
            return
        if state.status == PaymentStatus.PAID:
            await self._top_up_paid(top_up, state.amount_fen, state.transaction_id, provider.name)
        elif state.status == PaymentStatus.CLOSED or (
            (self.clock.now() - top_up.created_at).total_seconds() > self.timing.payment_window_s
        ):
            if state.status == PaymentStatus.PENDING:
                await provider.close(top_up.out_trade_no)
            await repository.move_top_up(top_up.id, "created", "closed")

    # -- operators ----------------------------------------------------------------------------------------------

    async def review(self, viewer: Viewer | None, order_id: int, decision: str, due_fen: int | None, note: str) -> ChargingOrder:
        """Settle a quarantined order: accept the computed cost, correct it, or waive it."""
        order = await self.get(order_id)
        operator_id = await self.access.require_station(viewer, Permission.MANAGE_ORDERS, order.station_id)
        if order.status != S.QUARANTINED:
            raise OrderStateError(f"order {order_id} is {order.status}, not waiting for review")
        match decision:
            case "accept":
                due = min(order.cost_fen, order.paid_fen)
            case "correct":
                if due_fen is None or not 0 <= due_fen <= order.paid_fen:
                    raise InvalidInput(f"a corrected amount is between 0 and the {order.paid_fen} fen paid")
                due = due_fen
            case "waive":
                due = 0
            case _:
                raise InvalidInput("decide accept, correct or waive")
        if not note.strip():
            raise InvalidInput("say why (it is shown to the driver and kept in the audit trail)")
        if not await repository.move(order.id, [S.QUARANTINED], S.FINISHED, due_fen=due, review_note=note.strip()[:255]):
            raise OrderStateError(f"order {order_id} changed meanwhile")
        actor = require_viewer(viewer)
        await self.audit.record(AuditRecord(
            actor=Actor(actor.user_id, actor.name), action=f"order.review.{decision}", outcome="done",
            operator_id=operator_id, station_id=order.station_id, charge_point_id=order.charge_point_id,
            target=_ref(order), details={"cost_fen": order.cost_fen, "due_fen": due, "note": note.strip(),
                                         "reason": order.quarantine_reason},
        ))
        await self._changed(order.id)
        self.wake.set()
        return await self.get(order.id)

    async def refund(self, viewer: Viewer | None, order_id: int, amount_fen: int, reason: str) -> ChargingOrder:
        """An operator gives money back on a settled order (a complaint, a faulty pile), by the original route (or
        to the wallet). It comes out of the operator's revenue; partners' shares already paid stay paid."""
        order = await self.get(order_id)
        operator_id = await self.access.require_station(viewer, Permission.MANAGE_ORDERS, order.station_id)
        if order.status != S.SETTLED:
            raise OrderStateError(f"order {order_id} is {order.status}: only settled orders are refunded by hand")
        refundable = order.paid_fen - order.refund_fen
        if not 1 <= amount_fen <= refundable:
            raise InvalidInput(f"a refund of this order is 1 to {refundable} fen (what was paid and not refunded)")
        if not reason.strip():
            raise InvalidInput("say why (the driver sees it, and it is kept in the audit trail)")
        number = len([s for s in await repository.steps_of(order.id) if s.kind in ("refund", "wallet_refund")]) + 1
        kind = "wallet_refund" if order.method == PayMethod.WALLET else "refund"
        key = f"{order.out_trade_no}R{number}"
        await repository.add_steps([_step(order, kind, key, amount_fen, {"from": "revenue", "reason": reason.strip()})])
        if not await repository.move(order.id, [S.SETTLED], S.SETTLING, review_note=reason.strip()[:255]):
            raise OrderStateError(f"order {order_id} changed meanwhile")
        await self._audit(require_viewer(viewer), "order.refund", operator_id, order.station_id, _ref(order),
                          {"amount_fen": amount_fen, "reason": reason.strip(), "key": key})
        await self._changed(order.id)
        self.wake.set()
        return await self.get(order.id)

    async def stop(self, viewer: Viewer | None, order_id: int) -> ChargingOrder:
        """The driver stops charging."""
        order = await self.visible(viewer, order_id)
        if order.status != S.CHARGING or order.session_id is None:
            raise OrderStateError(f"order {order_id} is not charging")
        await self.operations.stop_for_order(Actor(order.user_id, f"order {order.id}"), order.session_id, _ref(order))
        return order

    # -- partners and their shares ----------------------------------------------------------------------------

    async def create_partner(
        self, viewer: Viewer | None, operator_id: int, name: str, *, wechat: tuple[str, str, str],
        alipay: tuple[str, str, str], user_id: int | None = None,
    ) -> Partner:
        actor = require_viewer(viewer)
        if not runs_operator(actor, operator_id):
            raise forbidden(actor, Permission.MANAGE_ORDERS, f"operator {operator_id}")
        if not name.strip():
            raise InvalidInput("a partner needs a name")
        if wechat[0] not in ("", "MERCHANT_ID", "PERSONAL_OPENID") or (wechat[0] == "MERCHANT_ID" and not wechat[2]):
            raise InvalidInput("a WeChat receiver is a MERCHANT_ID (with the merchant's full name) or PERSONAL_OPENID")
        if alipay[0] not in ("", "userId", "loginName", "openId"):
            raise InvalidInput("an Alipay receiver is a userId, loginName or openId")
        partner = await repository.create_partner(
            operator_id=operator_id, name=name.strip(), user_id=user_id,
            wechat_account_type=wechat[0], wechat_account=wechat[1], wechat_name=wechat[2],
            alipay_account_type=alipay[0], alipay_account=alipay[1], alipay_name=alipay[2],
        )
        await self._audit(actor, "partner.create", operator_id, None, f"partner {partner.id}", {"name": partner.name})
        return partner

    async def add_share(
        self, viewer: Viewer | None, station_id: int, partner_id: int, share_bp: int, effective_from: datetime | None
    ) -> RevenueShareRule:
        operator_id = await self.access.require_station(viewer, Permission.MANAGE_ORDERS, station_id)
        partner = await repository.partner(partner_id)
        if partner is None:
            raise NotFound(f"partner {partner_id} does not exist")
        start = as_utc(effective_from) if effective_from else self.clock.now()
        existing = [rules.ShareRule(r.partner_id, r.share_bp, r.effective_from, r.effective_to)
                    for r in await repository.share_rules(station_id)]
        if (why := rules.check_rules([*existing, rules.ShareRule(partner_id, share_bp, start, None)])) is not None:
            raise InvalidInput(why)
        rule = await repository.add_share_rule(station_id=station_id, partner_id=partner_id, share_bp=share_bp,
                                               effective_from=start)
        await self._audit(require_viewer(viewer), "station.revenue_share", operator_id, station_id,
                          f"partner {partner_id}", {"share_bp": share_bp, "from": start.isoformat()})
        return rule

    async def record_payout(
        self, viewer: Viewer | None, partner_id: int, amount_fen: int, channel: str, reference: str
    ) -> int:
        """Finance paid a partner's sub-account balance out (a bank transfer, say): book it once per reference.
        Returns the partner's balance after it."""
        actor = require_viewer(viewer)
        partner = await repository.partner(partner_id)
        if partner is None:
            raise NotFound(f"partner {partner_id} does not exist")
        if not runs_operator(actor, partner.operator_id):
            raise forbidden(actor, Permission.MANAGE_ORDERS, f"partner {partner_id}")
        if channel not in ("bank", "alipay", "wechatpay"):
            raise InvalidInput("a payout goes by bank, alipay or wechatpay")
        if amount_fen < 1 or not 1 <= len(reference.strip()) <= 48:
            raise InvalidInput("a payout has an amount of 1 fen or more and the bank's reference (1-48 characters)")
        await self.ledger.payout(partner_id, channel, amount_fen, key=f"payout-{partner_id}-{reference.strip()}",
                                 reference=f"partner:{partner_id}", memo=f"{channel} {reference.strip()}")
        await self._audit(actor, "partner.payout", partner.operator_id, None, f"partner {partner_id}",
                          {"amount_fen": amount_fen, "channel": channel, "reference": reference.strip()})
        return await self.ledger.balance(LedgerAccountKind.PARTNER, partner_id)

    async def partner_statement(
        self, viewer: Viewer | None, partner_id: int, limit: int, *, before_id: int | None = None,
        since: datetime | None = None, until: datetime | None = None,
    ) -> list[Any]:
        actor = require_viewer(viewer)
        partner = await repository.partner(partner_id)
        if partner is None:
            raise NotFound(f"partner {partner_id} does not exist")
        own = partner.user_id is not None and partner.user_id == actor.user_id
        if not own and not runs_operator(actor, partner.operator_id):
            raise forbidden(actor, Permission.READ_REVENUE, f"partner {partner_id}")
        if not 1 <= limit <= 200:
            raise InvalidInput("first must be between 1 and 200")
        return await self.ledger.statement(
            LedgerAccountKind.PARTNER, partner_id, limit=limit, before_id=before_id,
            since=as_utc(since) if since else None, until=as_utc(until) if until else None,
        )

    async def _audit(
        self, actor: Viewer, action: str, operator_id: int | None, station_id: int | None, target: str,
        details: dict[str, Any],
    ) -> None:
        await self.audit.record(AuditRecord(
            actor=Actor(actor.user_id, actor.name), action=action, outcome="done", operator_id=operator_id,
            station_id=station_id, target=target, details=details,
        ))

    # -- reads ------------------------------------------------------------------------------------------------------

    async def history(
        self, viewer: Viewer | None, *, station_id: int | None, status: str | None, first: int, before_id: int | None
    ) -> list[ChargingOrder]:
        actor = require_viewer(viewer)
        if not 1 <= first <= 100:
            raise InvalidInput("first must be between 1 and 100")
        if station_id is not None:
            await self.access.require_station(actor, Permission.READ_SESSIONS, station_id)
        return await repository.history(user_id=actor.user_id, station_id=station_id, status=status,
                                        before_id=before_id, limit=first)

    async def get(self, order_id: int) -> ChargingOrder:
        found = await repository.order(order_id)
        if found is None:
            raise NotFound(f"order {order_id} does not exist")
        return found

    async def visible(self, viewer: Viewer | None, order_id: int) -> ChargingOrder:
        """An order its driver, or someone who may read the station's sessions, may see."""
        viewer = require_viewer(viewer)
        order = await self.get(order_id)
        if order.user_id != viewer.user_id:  # staff who see the station's sessions see their orders
            await self.access.require_station(viewer, Permission.READ_SESSIONS, order.station_id)
        return order

    async def steps(self, order_id: int) -> list[SettlementStep]:
        return await repository.steps_of(order_id)

    async def _changed(self, order_id: int) -> None:
        """Publish the order as it is now (its change is committed: each order update is its own statement)."""
        order = await self.get(order_id)
        await self.bus.publish(channels.order(order.id), OrderChanged(
            order.id, order.status, order.cap_fen, order.paid_fen, order.cost_fen, order.due_fen,
            order.refund_fen, order.session_id, order.failure, order.failure_code,
        ))


def cost_json(cost: Cost) -> dict[str, Any]:
    """A session's cost as stored with its order and shown to its driver (fen parts sum to the total)."""
    return {
        "total_fen": cost.total_fen,
        "energy_wh": cost.energy_wh,
        "energy": [
            {"version": line.version, "tier": line.tier.value if line.tier else None, "energy_wh": line.energy_wh,
             "energy_price_e4": line.energy_price_e4, "service_price_e4": line.service_price_e4,
             "energy_fee_fen": line.energy_fee_fen, "service_fee_fen": line.service_fee_fen}
            for line in cost.energy_lines
        ],
        "time": [{"version": line.version, "seconds": line.seconds, "hourly_price_e4": line.hourly_price_e4,
                  "fee_fen": line.fee_fen} for line in cost.time_lines],
        "idle": None if cost.idle is None else {"minutes": cost.idle.minutes, "fee_fen": cost.idle.fee_fen,
                                                "capped": cost.idle.capped},
        "anomalies": [{"kind": a.kind.value, "detail": a.detail} for a in cost.anomalies],
    }


def _ref(order: ChargingOrder) -> str:
    return f"order:{order.id}"


def _app_name(method: PayMethod | str) -> str:
    return {"wechatpay": "WeChat", "alipay": "Alipay"}.get(str(method), str(method))


def _step(
    order: ChargingOrder, kind: str, key: str, amount_fen: int, detail: dict[str, Any],
    not_before: datetime | None = None,
) -> dict[str, Any]:
    return {"order_id": order.id, "kind": kind, "key": key, "amount_fen": amount_fen, "detail": detail,
            "not_before": not_before}


def _allocations(step: SettlementStep) -> dict[int | str, int]:
    """The allocation transfers (划拨) of a capture or booking step: partner id -> fen."""
    parts = (step.detail or {}).get("parts", [])
    return {int(p["partner_id"]): int(p["allocated_fen"]) for p in parts if p["allocated_fen"]}
