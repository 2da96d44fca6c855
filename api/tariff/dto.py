"""Values of the tariff domain: the terms of a tariff, its published versions, meter readings, the price at a
moment, and the cost of a session with its breakdown.

Units (DESIGN §3): unit prices are integers in 0.0001 yuan (``*_price_e4``) per kWh, per hour or per minute;
amounts shown to people are integers in fen (``*_fen``); exact amounts inside a cost are integers in
``units`` (1 fen = ``rules.UNITS_PER_FEN`` units), rounded to fen once, in ``rules.cost``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType

from api.models.enums import TariffKind, TariffTier

TIER_ORDER = (TariffTier.SHARP, TariffTier.PEAK, TariffTier.FLAT, TariffTier.VALLEY)
"""The order tiers are listed in (most expensive first, as tariffs are published in China)."""


def hhmm(minutes: int) -> str:
    """``420`` -> ``"07:00"``; ``1440`` -> ``"24:00"``."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True)
class Period:
    """A part of the day (Asia/Shanghai wall-clock time) that belongs to one tier."""

    start_min: int
    """Minutes after local midnight, 0..1439 (the period includes its start)."""
    end_min: int
    """1..1440, after ``start_min`` (the period ends just before it; 1440 is the next midnight)."""
    tier: TariffTier

    @property
    def span(self) -> str:
        return f"{hhmm(self.start_min)}-{hhmm(self.end_min)}"

    def as_json(self) -> dict[str, str]:
        return {"from": hhmm(self.start_min), "to": hhmm(self.end_min), "tier": self.tier.value}


@dataclass(frozen=True)
class TierPrice:
    energy_price_e4: int
    """Energy fee (电费), 0.0001 yuan per kWh."""
    service_price_e4: int
    """Service fee (服务费), 0.0001 yuan per kWh."""

    @property
    def total_price_e4(self) -> int:
        return self.energy_price_e4 + self.service_price_e4


@dataclass(frozen=True)
class IdleTerms:
    """The idle fee (占位费): staying plugged in after charging ended costs ``idle_price_e4`` per whole minute
    once ``idle_grace_min`` minutes have passed, up to ``idle_cap_fen`` for the session."""

    idle_price_e4: int
    """0.0001 yuan per minute."""
    idle_grace_min: int = 0
    idle_cap_fen: int | None = None
    """None: no cap."""


@dataclass(frozen=True)
class TariffTerms:
    """What a version of a station's tariff says (a draft before it is published).

    A TIME_OF_USE tariff has ``periods`` covering the day and a ``prices`` entry for each tier they use; an
    HOURLY tariff has ``hourly_price_e4`` only. Either may have an idle fee. ``rules.check_terms`` validates a
    draft.
    """

    kind: TariffKind
    periods: tuple[Period, ...] = ()
    prices: Mapping[TariffTier, TierPrice] = field(default_factory=lambda: MappingProxyType({}))
    hourly_price_e4: int | None = None
    """0.0001 yuan per hour of charging, prorated per second."""
    idle: IdleTerms | None = None
    note: str = ""


@dataclass(frozen=True)
class TariffVersion:
    """One published version of a station's tariff."""

    station_id: int
    version: int
    """1, 2, 3 … per station in the order of publication; the highest one whose time has come is in force."""
    effective_from: datetime
    """Aware, UTC."""
    terms: TariffTerms
    id: int = 0
    created_by_id: int | None = None
    created_at: datetime | None = None

    @property
    def kind(self) -> TariffKind:
        return self.terms.kind


@dataclass(frozen=True)
class Reading:
    """One point of a session's energy register: the meter start at the session's start, then its samples."""

    at: datetime
    energy_wh: int
    """The register (Energy.Active.Import.Register), Wh: a lifetime count, not the session's energy."""


@dataclass(frozen=True)
class Price:
    """What charging costs under one version at one moment."""

    version: int
    kind: TariffKind
    tier: TariffTier | None = None
    """Time of use only."""
    energy_price_e4: int = 0
    service_price_e4: int = 0
    hourly_price_e4: int = 0
    """Hourly only."""

    @property
    def total_price_e4(self) -> int:
        return self.energy_price_e4 + self.service_price_e4


@dataclass(frozen=True)
class PriceNow:
    """The price in force at ``at``, and when (and to what) it changes next, for a driver's connector page."""

    at: datetime
    tariff: TariffVersion
    price: Price
    next_change_at: datetime | None = None
    """The next instant the tier or the version changes; None: none within two days, no version scheduled."""
    next_price: Price | None = None


@dataclass(frozen=True)
class PeriodPrice:
    """One row of a day's price table."""

    period: Period
    price: TierPrice


class AnomalyKind(StrEnum):
    OUT_OF_ORDER = "out_of_order"
    """A reading not later than the one before it (with another register value): ignored."""
    REGISTER_BACKWARDS = "register_backwards"
    """A register below an earlier reading's: ignored (a meter reset, a swapped meter, a bad frame)."""
    READING_AFTER_END = "reading_after_end"
    """A reading later than the session's end: counted, and the end moved to it."""
    NO_TARIFF = "no_tariff"
    """Energy or time while no version was in force: counted, priced at nothing."""


@dataclass(frozen=True)
class Anomaly:
    kind: AnomalyKind
    at: datetime
    energy_wh: int | None
    """The register of the reading concerned, if any."""
    detail: str


@dataclass(frozen=True)
class EnergyLine:
    """Energy priced per kWh by one version and tier (version None: no version was in force)."""

    version: int | None
    tier: TariffTier | None
    energy_wh: int
    energy_price_e4: int
    service_price_e4: int
    energy_fee_units: int
    """Exact: ``energy_price_e4 × energy_wh × rules.ENERGY_UNITS``."""
    service_fee_units: int
    energy_fee_fen: int
    """For display: this line's share of the session's total, by the largest-remainder rule."""
    service_fee_fen: int


@dataclass(frozen=True)
class TimeLine:
    """Charging time priced per hour by one version (prorated per whole second)."""

    version: int
    seconds: int
    energy_wh: int
    """Energy delivered meanwhile (shown, not priced)."""
    hourly_price_e4: int
    fee_units: int
    fee_fen: int


@dataclass(frozen=True)
class IdleLine:
    """The idle fee, on the terms of the version in force when charging ended."""

    version: int
    starts_at: datetime
    """When charging ended plus the grace period."""
    minutes: int
    """Whole minutes from ``starts_at`` to the end of the session."""
    idle_price_e4: int
    idle_cap_fen: int | None
    capped: bool
    fee_units: int
    fee_fen: int


@dataclass(frozen=True)
class Cost:
    """The cost of a session (so far), with a breakdown whose ``*_fen`` parts sum to ``total_fen``."""

    energy_lines: tuple[EnergyLine, ...]
    time_lines: tuple[TimeLine, ...]
    idle: IdleLine | None
    energy_wh: int
    """Every Wh counted: the last kept register minus the first."""
    started_at: datetime
    charging_ended_at: datetime
    ended_at: datetime
    total_units: int
    total_fen: int
    """``total_units`` rounded half up to fen: the one rounding step."""
    anomalies: tuple[Anomaly, ...] = ()

    @property
    def anomalous(self) -> bool:
        """Billing should review this session instead of charging it (DESIGN §3, billing quarantine)."""
        return bool(self.anomalies)

    @property
    def energy_fee_fen(self) -> int:
        return sum(line.energy_fee_fen for line in self.energy_lines)

    @property
    def service_fee_fen(self) -> int:
        return sum(line.service_fee_fen for line in self.energy_lines)

    @property
    def time_fee_fen(self) -> int:
        return sum(line.fee_fen for line in self.time_lines)

    @property
    def idle_fee_fen(self) -> int:
        return self.idle.fee_fen if self.idle is not None else 0
