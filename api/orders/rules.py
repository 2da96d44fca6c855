"""Pure rules of charging orders: their states, the settlement plan, and billing quarantine. No I/O.

Settlement of a prepaid-cap order (DESIGN §3, PAYMENTS.md A10/B5): the driver owes ``due = min(cost, paid)``;
the rest is refunded by the original route first (while the funds are still frozen), then the partners' part
of ``due`` is shared, then the unshared rest is released to the platform. Each partner's part comes from its
basis points of ``due`` (largest remainder, the platform keeps the rest). A provider lets at most
``max_share_bp`` of the order's total go through profit sharing, over all splits of the order; what a
partner is owed beyond that (or any part of a partner without a receiver at that provider) is credited to the
partner's sub-account by an allocation transfer (划拨). Wallet-paid orders have no provider: every partner part
is an allocation transfer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from api.core.money import share_of, split_by_bp


class OrderStatus(StrEnum):
    CREATED = "created"
    """Waiting for the driver to pay."""
    PAID = "paid"
    """Money is in (provider or wallet hold); the pile is about to be started."""
    STARTING = "starting"
    """The pile accepted the remote start; waiting for its transaction."""
    CHARGING = "charging"
    FINISHED = "finished"
    """The session ended; its cost is final."""
    QUARANTINED = "quarantined"
    """Meter data looks wrong: waiting for an operator's review (accept, correct or waive)."""
    SETTLING = "settling"
    SETTLED = "settled"
    CANCELLED = "cancelled"
    """Never paid (closed or expired)."""
    SETTLEMENT_FAILED = "settlement_failed"
    """A provider refused a settlement step for good; an operator must look."""


class FailureCode(StrEnum):
    """Why an order was cancelled, did not charge, or did not settle: stable words the apps branch on (the
    order's ``failure`` text is the detail, in English, for operators and logs)."""

    NOT_PAID_IN_TIME = "not_paid_in_time"
    """The driver did not pay within the payment window; the order was closed."""
    PAYMENT_NOT_CREATED = "payment_not_created"
    """The provider would not create the payment."""
    WALLET_BALANCE_LOW = "wallet_balance_low"
    """The wallet could not hold the cap (a concurrent payment took the balance)."""
    WALLET_HOLD_MISSING = "wallet_hold_missing"
    """The wallet hold was never taken (the request died between creating the order and holding the cap)."""
    PAID_TOO_LATE = "paid_too_late"
    """Paid after the order was closed: all of it goes back by the original route."""
    NOT_ADMITTED = "not_admitted"
    """The driver may no longer charge here (a policy changed between ordering and starting)."""
    PILE_REFUSED = "pile_refused"
    """The pile refused the remote start (or answered with an error)."""
    PILE_OFFLINE = "pile_offline"
    """The pile was not connected when the order was to start it."""
    PILE_NO_ANSWER = "pile_no_answer"
    """The pile did not answer the remote start in time."""
    NO_SESSION_IN_TIME = "no_session_in_time"
    """The pile accepted but no charging began in time (the vehicle not plugged in?)."""
    REFUND_FAILED = "refund_failed"
    """The provider refused a refund for good: an operator must look."""
    SHARING_FAILED = "sharing_failed"
    """The provider refused the profit sharing (or the release of the frozen rest) for good."""
    SETTLEMENT_FAILED = "settlement_failed"
    """Another settlement step failed for good."""


START_FAILURES = {
    "rejected": FailureCode.PILE_REFUSED, "error": FailureCode.PILE_REFUSED, "offline": FailureCode.PILE_OFFLINE,
    "timed_out": FailureCode.PILE_NO_ANSWER,
}
"""The failure code of a remote start by the command's outcome (``api.commands.dto.Outcome`` values)."""


def step_failure(kind: str) -> FailureCode:
    """The failure code of a settlement step refused for good."""
    if kind in ("refund", "wallet_refund"):
        return FailureCode.REFUND_FAILED
    if kind in ("share", "finish"):
        return FailureCode.SHARING_FAILED
    return FailureCode.SETTLEMENT_FAILED


class PayMethod(StrEnum):
    WECHATPAY = "wechatpay"
    ALIPAY = "alipay"
    SANDBOX = "sandbox"
    WALLET = "wallet"


ACTIVE = (OrderStatus.PAID, OrderStatus.STARTING, OrderStatus.CHARGING, OrderStatus.FINISHED, OrderStatus.SETTLING)

MIN_CAP_FEN = 100
MAX_CAP_FEN = 100_000


def out_trade_no(prefix: str, number: int) -> str:
    """Our idempotency key at a provider, from our own id: 6..32 characters of [0-9A-Za-z] (both providers)."""
    return f"{prefix}{number:012d}"


@dataclass(frozen=True)
class PartnerShare:
    partner_id: int
    share_bp: int
    part_fen: int
    """The partner's whole part of the amount due."""
    via_provider_fen: int
    """Sent by the provider's profit sharing."""
    allocated_fen: int
    """Credited to the partner's sub-account by an allocation transfer."""


@dataclass(frozen=True)
class Plan:
    paid_fen: int
    due_fen: int
    refund_fen: int
    shares: tuple[PartnerShare, ...]
    platform_fen: int

    @property
    def via_provider_fen(self) -> int:
        return sum(s.via_provider_fen for s in self.shares)

    @property
    def allocated_fen(self) -> int:
        return sum(s.allocated_fen for s in self.shares)


def plan(
    paid_fen: int, due_fen: int, shares_bp: Mapping[int, int], *, max_share_bp: int | None,
    receivers: frozenset[int] = frozenset(),
) -> Plan:
    """How an order settles. ``max_share_bp`` None: no provider sharing (wallet). ``receivers``: the partners
    that can receive profit sharing at the order's provider."""
    if not 0 <= due_fen <= paid_fen:
        raise ValueError("the amount due is between 0 and the amount paid")
    parts = split_by_bp(due_fen, shares_bp)
    room = share_of(paid_fen, max_share_bp) if max_share_bp is not None else 0
    shares = []
    for partner_id in sorted(parts):
        part = parts[partner_id]
        via = min(part, room) if partner_id in receivers else 0
        room -= via
        shares.append(PartnerShare(partner_id, shares_bp[partner_id], part, via, part - via))
    return Plan(paid_fen, due_fen, paid_fen - due_fen, tuple(shares), due_fen - sum(parts.values()))


@dataclass(frozen=True)
class ShareRule:
    partner_id: int
    share_bp: int
    effective_from: datetime
    effective_to: datetime | None


def shares_at(rules: list[ShareRule], at: datetime) -> dict[int, int]:
    """The partners' basis points in force at ``at`` (a partner with two overlapping rules gets their sum)."""
    out: dict[int, int] = {}
    for rule in rules:
        if rule.effective_from <= at and (rule.effective_to is None or at < rule.effective_to):
            out[rule.partner_id] = out.get(rule.partner_id, 0) + rule.share_bp
    return out


def check_rules(rules: list[ShareRule]) -> str | None:
    """What is wrong with a station's rules, or None: at no moment may the partners' shares exceed 100 %."""
    moments = sorted({r.effective_from for r in rules} | {r.effective_to for r in rules if r.effective_to})
    for moment in moments:
        total = sum(shares_at(rules, moment).values())
        if total > 10_000:
            return f"from {moment.isoformat()} the partners' shares add up to {total / 100:.2f} %, above 100 %"
    for rule in rules:
        if not 1 <= rule.share_bp <= 10_000:
            return "a share is 1 to 10000 basis points"
        if rule.effective_to is not None and rule.effective_to <= rule.effective_from:
            return "a rule ends after it begins"
    return None


def quarantine_reasons(
    *, session_anomaly: str | None, cost_anomalies: list[str], energy_wh: int, seconds: float,
    max_power_w: int, meter_start_wh: int,
) -> list[str]:
    """Why a session's meter data must not be charged automatically (empty: bill it)."""
    reasons = []
    if session_anomaly:
        reasons.append({
            "meter_stop_below_start": "the stop reading is below the start reading",
            "register_below_start": "the energy register went below the start reading",
        }.get(session_anomaly, session_anomaly))
    reasons.extend(cost_anomalies)
    hours = max(seconds, 1.0) / 3600
    if max_power_w > 0 and energy_wh > max_power_w * hours * 1.1 + 100:
        reasons.append(
            f"{energy_wh} Wh in {seconds:.0f} s is more than the connector's {max_power_w} W can deliver"
            + (" (a lifetime register reported as the session's energy?)" if meter_start_wh == 0 else "")
        )
    return reasons
