"""Tariff types: versions, their day table, the price at a moment; and the input of a new version.

Unit prices are Int in 0.0001 yuan (``…PriceE4``), amounts Int fen (``…Fen``); the ``display`` strings are
yuan for people. The energy fee (电费) is ``electricityPriceE4``: schema names that start with "energy" are kept
for quantities in Wh.
"""

from __future__ import annotations

from datetime import datetime

import strawberry

from api.core.errors import InvalidInput
from api.core.money import yuan_str
from api.models import enums
from api.tariff import rules
from api.tariff.dto import IdleTerms, Period, PriceNow, TariffTerms, TierPrice
from api.tariff.dto import Price as PriceDto
from api.tariff.dto import TariffVersion as VersionDto
from api.tariff.dto import hhmm

TariffKind = strawberry.enum(
    enums.TariffKind,
    description="TIME_OF_USE: an energy fee and a service fee per kWh by the period of the day (尖峰平谷); "
    "HOURLY: a price per hour of charging, prorated per second (slow chargers).",
)
TariffTier = strawberry.enum(
    enums.TariffTier, description="Time-of-use tier: 尖 sharp, 峰 peak, 平 flat, 谷 valley."
)


def per_kwh(price_e4: int) -> str:
    return f"{rules.price_str(price_e4)} 元/kWh"


def per_hour(price_e4: int) -> str:
    return f"{rules.price_str(price_e4)} 元/小时"


@strawberry.type(description="The prices per kWh of one time-of-use tier.")
class TariffTierPrice:
    tier: TariffTier
    electricity_price_e4: int = strawberry.field(description="Energy fee (电费), 0.0001 yuan per kWh.")
    service_price_e4: int = strawberry.field(description="Service fee (服务费), 0.0001 yuan per kWh.")
    total_price_e4: int = strawberry.field(description="Both fees, 0.0001 yuan per kWh.")
    display: str = strawberry.field(description='Both fees in yuan, e.g. "1.2345 元/kWh".')

    @classmethod
    def of(cls, tier: enums.TariffTier, price: TierPrice) -> TariffTierPrice:
        return cls(
            tier=tier, electricity_price_e4=price.energy_price_e4, service_price_e4=price.service_price_e4,
            total_price_e4=price.total_price_e4, display=per_kwh(price.total_price_e4),
        )


@strawberry.type(description="One period of a time-of-use day (Asia/Shanghai) and its prices.")
class TariffPeriod:
    start: str = strawberry.field(description="HH:MM local time, included.")
    end: str = strawberry.field(description="HH:MM local time (24:00 = midnight), excluded.")
    tier: TariffTier
    electricity_price_e4: int = strawberry.field(description="Energy fee (电费), 0.0001 yuan per kWh.")
    service_price_e4: int = strawberry.field(description="Service fee (服务费), 0.0001 yuan per kWh.")
    total_price_e4: int
    display: str

    @classmethod
    def of(cls, period: Period, price: TierPrice) -> TariffPeriod:
        return cls(
            start=hhmm(period.start_min), end=hhmm(period.end_min), tier=period.tier,
            electricity_price_e4=price.energy_price_e4, service_price_e4=price.service_price_e4,
            total_price_e4=price.total_price_e4, display=per_kwh(price.total_price_e4),
        )


@strawberry.type(description="The idle fee (占位费): staying plugged in after charging ended.")
class TariffIdleFee:
    idle_price_e4: int = strawberry.field(description="0.0001 yuan per whole minute after the grace period.")
    grace_min: int = strawberry.field(description="Free minutes after charging ended.")
    cap_fen: int | None = strawberry.field(description="The most a session's idle fee can be; null: no cap.")
    display: str

    @classmethod
    def of(cls, idle: IdleTerms) -> TariffIdleFee:
        text = f"{rules.price_str(idle.idle_price_e4)} 元/分钟，充电结束 {idle.idle_grace_min} 分钟后起算"
        if idle.idle_cap_fen is not None:
            text += f"，封顶 {yuan_str(idle.idle_cap_fen)} 元"
        return cls(idle_price_e4=idle.idle_price_e4, grace_min=idle.idle_grace_min, cap_fen=idle.idle_cap_fen,
                   display=text)


@strawberry.type(description="One published version of a station's tariff.")
class TariffVersion:
    id: strawberry.ID
    station_id: strawberry.ID
    version: int = strawberry.field(description="1, 2, 3 … per station; the highest one in effect applies.")
    effective_from: datetime
    kind: TariffKind
    periods: list[TariffPeriod] = strawberry.field(description="Time of use: the day from 00:00 to 24:00.")
    prices: list[TariffTierPrice] = strawberry.field(description="Time of use: each tier used, sharp first.")
    hourly_price_e4: int | None = strawberry.field(
        description="Hourly: 0.0001 yuan per hour of charging, prorated per second."
    )
    hourly_display: str | None
    idle_fee: TariffIdleFee | None
    note: str
    created_at: datetime | None

    @classmethod
    def of(cls, version: VersionDto) -> TariffVersion:
        terms = version.terms
        hourly = terms.hourly_price_e4
        return cls(
            id=strawberry.ID(str(version.id)), station_id=strawberry.ID(str(version.station_id)),
            version=version.version, effective_from=version.effective_from, kind=terms.kind,
            periods=[TariffPeriod.of(row.period, row.price) for row in rules.day_table(version)],
            prices=[TariffTierPrice.of(tier, price) for tier, price in terms.prices.items()],
            hourly_price_e4=hourly, hourly_display=per_hour(hourly) if hourly is not None else None,
            idle_fee=TariffIdleFee.of(terms.idle) if terms.idle is not None else None, note=terms.note,
            created_at=version.created_at,
        )


@strawberry.type(description="What charging costs at one moment.")
class TariffPrice:
    version: int
    kind: TariffKind
    tier: TariffTier | None = strawberry.field(description="Time of use only.")
    electricity_price_e4: int | None = strawberry.field(
        description="Time of use: energy fee, 0.0001 yuan per kWh."
    )
    service_price_e4: int | None = strawberry.field(
        description="Time of use: service fee, 0.0001 yuan per kWh."
    )
    total_price_e4: int | None = strawberry.field(description="Time of use: both fees, 0.0001 yuan per kWh.")
    hourly_price_e4: int | None = strawberry.field(description="Hourly: 0.0001 yuan per hour.")
    display: str

    @classmethod
    def of(cls, price: PriceDto) -> TariffPrice:
        if price.kind == enums.TariffKind.HOURLY:
            return cls(
                version=price.version, kind=price.kind, tier=None, electricity_price_e4=None,
                service_price_e4=None, total_price_e4=None, hourly_price_e4=price.hourly_price_e4,
                display=per_hour(price.hourly_price_e4),
            )
        return cls(
            version=price.version, kind=price.kind, tier=price.tier,
            electricity_price_e4=price.energy_price_e4, service_price_e4=price.service_price_e4,
            total_price_e4=price.total_price_e4, hourly_price_e4=None, display=per_kwh(price.total_price_e4),
        )


@strawberry.type(
    description="A station's tariff at a moment: the version in force, the price then, and its next change."
)
class StationTariff:
    station_id: strawberry.ID
    at: datetime
    tariff: TariffVersion = strawberry.field(
        description="The version in force; its periods are the day's price table."
    )
    price: TariffPrice
    next_change_at: datetime | None = strawberry.field(
        description="When the tier or the version changes next (null: not within two days)."
    )
    next_price: TariffPrice | None

    @classmethod
    def of(cls, now: PriceNow) -> StationTariff:
        return cls(
            station_id=strawberry.ID(str(now.tariff.station_id)), at=now.at,
            tariff=TariffVersion.of(now.tariff), price=TariffPrice.of(now.price),
            next_change_at=now.next_change_at,
            next_price=TariffPrice.of(now.next_price) if now.next_price is not None else None,
        )


@strawberry.input(description="One period of a time-of-use day.")
class TariffPeriodInput:
    span: str = strawberry.field(description='"HH:MM-HH:MM" in Asia/Shanghai time, 00:00 to 24:00.')
    tier: TariffTier


@strawberry.input(description="The prices per kWh of one tier.")
class TariffTierPriceInput:
    tier: TariffTier
    electricity_price_e4: int = strawberry.field(description="Energy fee, 0.0001 yuan/kWh (0 to 1000000).")
    service_price_e4: int = strawberry.field(description="Service fee, 0.0001 yuan/kWh (0 to 1000000).")


@strawberry.input(description="An idle fee (占位费).")
class TariffIdleFeeInput:
    idle_price_e4: int = strawberry.field(description="0.0001 yuan per whole minute after the grace period.")
    grace_min: int = strawberry.field(default=0, description="Free minutes after charging ended.")
    cap_fen: int | None = strawberry.field(default=None, description="The most per session; null: no cap.")


@strawberry.input(description="A new version of a station's tariff.")
class TariffInput:
    kind: TariffKind
    periods: list[TariffPeriodInput] | None = strawberry.field(
        default=None, description="Time of use: contiguous periods from 00:00 to 24:00, at most 48."
    )
    prices: list[TariffTierPriceInput] | None = strawberry.field(
        default=None, description="Time of use: the prices of each tier the periods use (and no other)."
    )
    hourly_price_e4: int | None = strawberry.field(default=None, description="Hourly: 0.0001 yuan per hour.")
    idle_fee: TariffIdleFeeInput | None = strawberry.field(default=None, description="Null: no idle fee.")
    note: str = strawberry.field(default="", description="Shown with the prices; at most 128 characters.")

    def to_domain(self) -> TariffTerms:
        periods = []
        for number, value in enumerate(self.periods or [], 1):
            try:
                periods.append(rules.period(value.span, enums.TariffTier(value.tier.value)))
            except ValueError as e:
                raise InvalidInput(f"period {number}: {e}") from None
        prices: dict[enums.TariffTier, TierPrice] = {}
        for given in self.prices or []:
            tier = enums.TariffTier(given.tier.value)
            if tier in prices:
                raise InvalidInput(f"the prices of the {tier.name} tier are given twice")
            prices[tier] = TierPrice(given.electricity_price_e4, given.service_price_e4)
        idle = None
        if self.idle_fee is not None:
            idle = IdleTerms(self.idle_fee.idle_price_e4, self.idle_fee.grace_min, self.idle_fee.cap_fen)
        return TariffTerms(
            enums.TariffKind(self.kind.value), tuple(periods), prices, self.hourly_price_e4, idle, self.note
        )
