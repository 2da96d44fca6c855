"""Pure rules of tariffs: what a valid tariff is, which version is in force when, what charging costs now, and
the cost of a session from its meter readings. No I/O.

**Time.** Periods are Asia/Shanghai wall-clock times; instants are aware datetimes (UTC inside). Local
boundaries are made with zoneinfo (``datetime.combine(day, time, SHANGHAI)``), so a zone with daylight saving
would be handled too; China has none.

**Versions.** Publishing never edits a version; it adds the next one (1, 2, 3 …) with an ``effective_from``.
The version in force at an instant is the *highest-numbered* version whose ``effective_from`` is at or before
it. So a newer publication decides everything from its ``effective_from`` on: publishing with an earlier
``effective_from`` than a scheduled (future) version cancels that version. Over time the version in force only
ever goes up, so each version covers one unbroken stretch of time.

**Units and the one rounding step.** An energy price times energy, ``price_e4 × Wh``, is 1e-7 yuan; an hourly
price prorated per second, ``price_e4 × s``, is 1e-4/3600 yuan; an idle price per minute, ``price_e4 × min``,
is 1e-4 yuan. To keep all of them exact integers, amounts are counted in *units* of 1e-7/18 yuan
(``UNITS_PER_FEN`` = 1 800 000 units per fen): an energy line is ``price_e4 × Wh × 18``, a time line
``price_e4 × s × 5``, an idle line ``price_e4 × min × 18 000``. Every line stays exact; the session's total is
rounded to fen once, half up: ``total_fen = (total_units + 900 000) // 1 800 000``. The ``*_fen`` of the lines
are for display: the total is handed out to them by the largest-remainder rule, so they sum to it exactly.

**Quantities.** Energy between two readings is spread linearly over the time between them (to the microsecond)
and split at every period and version boundary with the largest-remainder rule, so the Wh of the parts sum to
the register's increase exactly. Hourly tariffs charge the charging time (start to the end of charging) per
whole second; idle fees charge whole minutes (a started minute is free).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise

from api.core.clock import SHANGHAI, as_utc
from api.models.enums import TariffKind, TariffTier
from api.tariff.dto import (
    TIER_ORDER,
    Anomaly,
    AnomalyKind,
    Cost,
    EnergyLine,
    IdleLine,
    IdleTerms,
    Period,
    PeriodPrice,
    Price,
    PriceNow,
    Reading,
    TariffTerms,
    TariffVersion,
    TierPrice,
    TimeLine,
    hhmm,
)

DAY_MIN = 24 * 60
MAX_PERIODS = 48
MAX_PRICE_E4 = 100_0000
"""100 yuan per kWh, per hour or per minute."""
MAX_IDLE_GRACE_MIN = DAY_MIN
MAX_IDLE_CAP_FEN = 100_000_00
"""100 000 yuan."""
MAX_NOTE = 128
PAST_TOLERANCE = timedelta(minutes=1)
"""How far in the past a new version may start (the time it takes to fill in the form)."""
MAX_AHEAD = timedelta(days=366)

UNITS_PER_FEN = 1_800_000
ENERGY_UNITS = 18
"""Units per (0.0001 yuan per kWh × Wh)."""
HOURLY_UNITS = 5
"""Units per (0.0001 yuan per hour × s)."""
IDLE_UNITS = 18_000
"""Units per (0.0001 yuan per minute × min)."""

NEXT_CHANGE_HORIZON = timedelta(days=2)

_HHMM = r"(?:[01]\d|2[0-3]):[0-5]\d|24:00"
_SPAN = re.compile(rf"^\s*({_HHMM})\s*-\s*({_HHMM})\s*$")
_US = timedelta(microseconds=1)
_S = timedelta(seconds=1)
_MIN = timedelta(minutes=1)

Key = tuple[int | None, TariffTier | None]
"""What a piece of time is priced by: (version, tier); (version, None) hourly; (None, None) no version."""
Stretch = tuple[datetime, datetime, TariffVersion | None]
"""From, to, and the version in force meanwhile (None: none yet)."""


# -- validation ---------------------------------------------------------------------------------------------


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def period(span: str, tier: TariffTier) -> Period:
    """``"07:00-10:00"`` as a period of ``tier``; ValueError unless both ends are HH:MM from 00:00 to 24:00.

    The order of the ends is checked with the whole day, by ``check_day``."""
    match = _SPAN.match(span)
    if match is None:
        raise ValueError(f"{span!r} is not a period HH:MM-HH:MM (00:00 to 24:00)")
    return Period(_minutes(match.group(1)), _minutes(match.group(2)), tier)


def price_str(price_e4: int) -> str:
    """0.0001 yuan as yuan with four decimals: ``12345`` -> ``"1.2345"``."""
    whole, frac = divmod(price_e4, 10_000)
    return f"{whole}.{frac:04d}"


def check_day(periods: Sequence[Period]) -> tuple[Period, ...]:
    """The periods of a time-of-use day in order, if they cover 00:00 to 24:00 exactly once; else a ValueError
    naming the period at fault (by its number in the order given, from 1).

    A period past midnight is two periods (``22:00-24:00`` and ``00:00-06:00``), so the day reads in order.
    Neighbouring periods may have the same tier.
    """
    if not periods:
        raise ValueError("a time-of-use day needs periods from 00:00 to 24:00")
    if len(periods) > MAX_PERIODS:
        raise ValueError(f"at most {MAX_PERIODS} periods in a day, not {len(periods)}")
    for number, p in enumerate(periods, 1):
        if not (0 <= p.start_min < DAY_MIN and 0 < p.end_min <= DAY_MIN):
            raise ValueError(f"period {number} ({p.span}) is not within 00:00-24:00")
        if p.end_min <= p.start_min:
            raise ValueError(
                f"period {number} ({p.span}) does not end after it starts; a period past midnight is written "
                f"as two: {hhmm(p.start_min)}-24:00 and 00:00-{hhmm(p.end_min)}"
            )
    ordered = sorted(enumerate(periods, 1), key=lambda item: (item[1].start_min, item[1].end_min))
    covered, before = 0, None
    for number, p in ordered:
        if p.start_min > covered:
            raise ValueError(
                f"nothing covers {hhmm(covered)}-{hhmm(p.start_min)}: a gap before period {number} ({p.span})"
            )
        if p.start_min < covered:
            assert before is not None
            raise ValueError(f"period {number} ({p.span}) overlaps period {before[0]} ({before[1].span})")
        covered, before = p.end_min, (number, p)
    if covered != DAY_MIN:
        raise ValueError(f"the periods end at {hhmm(covered)}: the day must be covered until 24:00")
    return tuple(p for _, p in ordered)


def _check_price(value: int | None, what: str, unit: str) -> int:
    if value is None or not 0 <= value <= MAX_PRICE_E4:
        raise ValueError(
            f"the {what} {value} is out of range: 0 to {MAX_PRICE_E4} (0.0001 yuan {unit}, up to 100 yuan)"
        )
    return value


def check_terms(terms: TariffTerms) -> TariffTerms:
    """A valid tariff, normalized (periods in order, prices of the tiers used); else a ValueError saying
    what is wrong. Prices are 0..1 000 000 (0.0001 yuan, so up to 100 yuan per kWh / hour / minute)."""
    if len(terms.note) > MAX_NOTE:
        raise ValueError(f"a note has at most {MAX_NOTE} characters")
    idle = check_idle(terms.idle) if terms.idle is not None else None
    if terms.kind == TariffKind.HOURLY:
        if terms.periods or terms.prices:
            raise ValueError("an hourly tariff has one price per hour, no periods or per-kWh prices")
        hourly = _check_price(terms.hourly_price_e4, "hourly price", "per hour")
        return TariffTerms(TariffKind.HOURLY, (), {}, hourly, idle, terms.note.strip())
    if terms.hourly_price_e4 is not None:
        raise ValueError("a time-of-use tariff is priced per kWh: no hourly price")
    periods = check_day(terms.periods)
    used = {p.tier for p in periods}
    for tier in TIER_ORDER:
        if tier in used and tier not in terms.prices:
            first = next(n for n, p in enumerate(terms.periods, 1) if p.tier == tier)
            raise ValueError(
                f"the {tier.name} tier of period {first} ({terms.periods[first - 1].span}) has no prices"
            )
        if tier in terms.prices and tier not in used:
            raise ValueError(f"prices are given for the {tier.name} tier, but no period is {tier.name}")
    prices: dict[TariffTier, TierPrice] = {}
    for tier in TIER_ORDER:
        if tier in terms.prices:
            given = terms.prices[tier]
            prices[tier] = TierPrice(
                _check_price(given.energy_price_e4, f"{tier.name} energy price", "per kWh"),
                _check_price(given.service_price_e4, f"{tier.name} service price", "per kWh"),
            )
    return TariffTerms(TariffKind.TIME_OF_USE, periods, prices, None, idle, terms.note.strip())


def check_idle(idle: IdleTerms) -> IdleTerms:
    if not 0 < idle.idle_price_e4 <= MAX_PRICE_E4:
        raise ValueError(
            f"the idle price {idle.idle_price_e4} is out of range: 1 to {MAX_PRICE_E4} "
            "(0.0001 yuan per minute); leave the idle fee out for none"
        )
    if not 0 <= idle.idle_grace_min <= MAX_IDLE_GRACE_MIN:
        raise ValueError(
            f"the idle grace period is 0 to {MAX_IDLE_GRACE_MIN} minutes, not {idle.idle_grace_min}"
        )
    if idle.idle_cap_fen is not None and not 0 < idle.idle_cap_fen <= MAX_IDLE_CAP_FEN:
        raise ValueError(f"the idle fee cap is 1 to {MAX_IDLE_CAP_FEN} fen, not {idle.idle_cap_fen}")
    return idle


def check_effective_from(effective_from: datetime, now: datetime, *, backdate: bool = False) -> datetime:
    """When a new version may start: an aware time, at most a minute in the past (unless ``backdate``, for
    importing history) and at most a year ahead. Returned in UTC."""
    if effective_from.tzinfo is None:
        raise ValueError("the time a tariff takes effect needs a time zone (e.g. +08:00)")
    start = effective_from.astimezone(UTC)
    if not backdate and start < now - PAST_TOLERANCE:
        local = start.astimezone(SHANGHAI)
        raise ValueError(f"a tariff cannot take effect in the past ({local:%Y-%m-%d %H:%M} Asia/Shanghai)")
    if start > now + MAX_AHEAD:
        raise ValueError("a tariff can be scheduled at most a year ahead")
    return start


# -- versions over time --------------------------------------------------------------------------------------


def in_force(versions: Iterable[TariffVersion], at: datetime) -> TariffVersion | None:
    """The highest-numbered version whose ``effective_from`` is at or before ``at``; None before the first."""
    at = as_utc(at)
    return max((v for v in versions if v.effective_from <= at), key=lambda v: v.version, default=None)


def timeline(
    versions: Sequence[TariffVersion], start: datetime, end: datetime
) -> list[Stretch]:
    """``[start, end]`` cut into stretches with one version (or none) in force each, in order."""
    start, end = as_utc(start), as_utc(end)
    cuts = sorted({v.effective_from for v in versions if start < v.effective_from < end})
    out: list[Stretch] = []
    for s, e in pairwise([start, *cuts, end]):
        current = in_force(versions, s)
        if out and out[-1][2] == current:
            out[-1] = (out[-1][0], e, current)
        else:
            out.append((s, e, current))
    return out


def relevant(versions: Sequence[TariffVersion], start: datetime, end: datetime) -> list[TariffVersion]:
    """The versions in force at some instant of ``[start, end]`` (what a session in it is priced by)."""
    return [v for _, _, v in timeline(versions, start, end) if v is not None]


# -- prices at a moment --------------------------------------------------------------------------------------


def _minute_of_day(at: datetime) -> int:
    local = at.astimezone(SHANGHAI)
    return local.hour * 60 + local.minute


def period_at(periods: Sequence[Period], at: datetime) -> Period:
    minute = _minute_of_day(at)
    for p in periods:
        if p.start_min <= minute < p.end_min:
            return p
    raise ValueError(f"no period covers {hhmm(minute)}")  # check_day makes this impossible


def price_at(version: TariffVersion, at: datetime) -> Price:
    terms = version.terms
    if terms.kind == TariffKind.HOURLY:
        return Price(version.version, terms.kind, hourly_price_e4=terms.hourly_price_e4 or 0)
    tier = period_at(terms.periods, at).tier
    tier_price = terms.prices[tier]
    return Price(version.version, terms.kind, tier, tier_price.energy_price_e4, tier_price.service_price_e4)


def _local_starts(periods: Sequence[Period], start: datetime, end: datetime) -> list[datetime]:
    """Every instant in ``(start, end)`` at which one of the periods starts, in order (UTC)."""
    out: list[datetime] = []
    day: date = start.astimezone(SHANGHAI).date()
    last_day = end.astimezone(SHANGHAI).date()
    while day <= last_day:
        for p in periods:
            local = datetime.combine(day, time(p.start_min // 60, p.start_min % 60), SHANGHAI)
            instant = local.astimezone(UTC)
            if start < instant < end:
                out.append(instant)
        day += timedelta(days=1)
    return sorted(set(out))


def price_now(versions: Sequence[TariffVersion], at: datetime) -> PriceNow | None:
    """The price at ``at`` and the next change (of tier or of version), for a driver's connector page; None
    when no version is in force. A tier change more than two days ahead is not looked for."""
    at = as_utc(at)
    current = in_force(versions, at)
    if current is None:
        return None
    price = price_at(current, at)
    upcoming = [v.effective_from for v in versions if v.version > current.version and v.effective_from > at]
    version_change = min(upcoming, default=None)
    horizon = min(version_change, at + NEXT_CHANGE_HORIZON) if version_change else at + NEXT_CHANGE_HORIZON
    if current.kind == TariffKind.TIME_OF_USE:
        for boundary in _local_starts(current.terms.periods, at, horizon):
            if period_at(current.terms.periods, boundary).tier != price.tier:
                return PriceNow(at, current, price, boundary, price_at(current, boundary))
    if version_change is not None:
        following = in_force(versions, version_change)
        assert following is not None
        return PriceNow(at, current, price, version_change, price_at(following, version_change))
    return PriceNow(at, current, price)


def day_table(version: TariffVersion) -> list[PeriodPrice]:
    """A time-of-use version's day as rows of period and prices (empty for an hourly version)."""
    return [PeriodPrice(p, version.terms.prices[p.tier]) for p in version.terms.periods]


# -- the cost of a session -----------------------------------------------------------------------------------


def split_by_weights(total: int, weights: Sequence[int]) -> list[int]:
    """``total`` (≥ 0) split in proportion to ``weights`` (≥ 0, not all 0) by the largest-remainder rule:
    every part is its exact share rounded down or up, the parts sum to ``total``, ties go to the earlier
    weights."""
    whole = sum(weights)
    if total < 0 or whole <= 0 or any(w < 0 for w in weights):
        raise ValueError("split a total of 0 or more by weights of 0 or more that are not all 0")
    exact = [total * w for w in weights]  # in 1/whole
    parts = [e // whole for e in exact]
    left = total - sum(parts)
    for index in sorted(range(len(weights)), key=lambda i: -(exact[i] % whole))[:left]:
        parts[index] += 1
    return parts


def apportion_fen(total_fen: int, units: Sequence[int]) -> list[int]:
    """Hand ``total_fen`` out to amounts in units: each gets its amount rounded down, and the fen left over go
    one each to the largest remainders (ties: the earlier amount). Used for display only."""
    parts = [u // UNITS_PER_FEN for u in units]
    left = total_fen - sum(parts)
    for index in sorted(range(len(units)), key=lambda i: -(units[i] % UNITS_PER_FEN))[:left]:
        parts[index] += 1
    return parts


def round_fen(units: int) -> int:
    """The one rounding step: units to fen, half up."""
    return (units + UNITS_PER_FEN // 2) // UNITS_PER_FEN


def clean(readings: Sequence[Reading]) -> tuple[list[Reading], list[Anomaly]]:
    """The readings that make sense in the order given: each later than the one kept before it, with a
    register at least as high. The others are left out and reported; a repeat (same time, same register) is
    left out silently. The first reading (the meter start) is always kept."""
    first = readings[0]
    kept = [Reading(as_utc(first.at), first.energy_wh)]
    anomalies: list[Anomaly] = []
    for raw in readings[1:]:
        reading, last = Reading(as_utc(raw.at), raw.energy_wh), kept[-1]
        if reading == last:
            continue
        if reading.at <= last.at:
            anomalies.append(Anomaly(
                AnomalyKind.OUT_OF_ORDER, reading.at, reading.energy_wh,
                f"a reading of {reading.energy_wh} Wh at {reading.at.isoformat()} is not after the one "
                f"before it ({last.at.isoformat()}): ignored",
            ))
        elif reading.energy_wh < last.energy_wh:
            anomalies.append(Anomaly(
                AnomalyKind.REGISTER_BACKWARDS, reading.at, reading.energy_wh,
                f"the register went back from {last.energy_wh} Wh to {reading.energy_wh} Wh at "
                f"{reading.at.isoformat()}: ignored",
            ))
        else:
            kept.append(reading)
    return kept, anomalies


def _charging_end(kept: Sequence[Reading]) -> datetime:
    """The first reading at which the register reached its final value (the start if it never rose)."""
    final = kept[-1].energy_wh
    return next(r.at for r in kept if r.energy_wh == final)


def _pieces(stretches: Sequence[Stretch]) -> tuple[list[datetime], list[Key]]:
    """Where each priced piece of the session's time starts, and what prices it: versions cut at their
    boundaries, time-of-use versions further cut where their periods start (local time)."""
    starts: list[datetime] = []
    keys: list[Key] = []
    for s, e, version in stretches:
        if version is None:
            starts.append(s)
            keys.append((None, None))
        elif version.kind == TariffKind.HOURLY:
            starts.append(s)
            keys.append((version.version, None))
        else:
            periods = version.terms.periods
            for cut in [s, *_local_starts(periods, s, e)]:
                starts.append(cut)
                keys.append((version.version, period_at(periods, cut).tier))
    return starts, keys


def _spread(
    delta_wh: int, a: datetime, b: datetime, starts: Sequence[datetime], keys: Sequence[Key]
) -> Iterable[tuple[Key, int]]:
    """``delta_wh`` spread linearly over ``[a, b)`` and split where pieces start."""
    index = bisect_right(starts, a) - 1  # >= 0: the first piece starts with the session
    bounds: list[tuple[Key, int]] = []
    while index < len(starts) and starts[index] < b:
        piece_start = max(a, starts[index])
        piece_end = min(b, starts[index + 1]) if index + 1 < len(starts) else b
        if piece_end > piece_start:
            bounds.append((keys[index], (piece_end - piece_start) // _US))
        index += 1
    parts = split_by_weights(delta_wh, [weight for _, weight in bounds])
    return zip((key for key, _ in bounds), parts, strict=True)


def _tier_rank(key: Key) -> tuple[int, int]:
    version, tier = key
    return (version if version is not None else -1, TIER_ORDER.index(tier) if tier is not None else -1)


def cost(
    versions: Sequence[TariffVersion],
    readings: Sequence[Reading],
    *,
    end: datetime | None = None,
    charging_ended_at: datetime | None = None,
) -> Cost:
    """The cost of one session, exact to the unit, rounded to fen once (see the module's docstring).

    ``versions``: the station's versions (at least those in force during the session; more do no harm).
    ``readings``: the register at the session's start (the meter start at ``started_at``) first, then its
    samples in the order stored. Readings that go back in time or down in value are left out and reported in
    ``anomalies``; so is time or energy when no version was in force (it is priced at nothing).
    ``end``: when the session stopped (the cable unplugged), or now for a live session; default: the last
    reading. ``charging_ended_at``: when energy stopped flowing (the pile's Finishing / SuspendedEV, or the
    ``ENDED`` phase); default: the first reading at which the register reached its final value. A live session
    still charging passes ``charging_ended_at=end`` (no idle fee yet).

    Energy between readings is spread linearly over time and split at period and version boundaries. Hourly
    versions charge the charging time ``[start, charging_ended_at)`` per whole second. The idle fee is charged
    on the terms of the version in force when charging ended: whole minutes from ``charging_ended_at`` plus
    the grace period to ``end``, up to the cap.
    """
    if not readings:
        raise ValueError("a session's cost needs at least its start reading")
    kept, anomalies = clean(readings)
    start, last = kept[0].at, kept[-1].at
    end = as_utc(end) if end is not None else last
    if end < last:
        anomalies.append(Anomaly(
            AnomalyKind.READING_AFTER_END, last, kept[-1].energy_wh,
            f"a reading at {last.isoformat()} is later than the end of the session ({end.isoformat()})",
        ))
        end = last
    charging_end = as_utc(charging_ended_at) if charging_ended_at is not None else _charging_end(kept)
    charging_end = min(max(charging_end, start), end)

    stretches = timeline(versions, start, end)
    by_number = {v.version: v for _, _, v in stretches if v is not None}
    starts, keys = _pieces(stretches)
    energy: dict[Key, int] = {}
    for a, b in pairwise(kept):
        if b.energy_wh > a.energy_wh:
            for key, wh in _spread(b.energy_wh - a.energy_wh, a.at, b.at, starts, keys):
                energy[key] = energy.get(key, 0) + wh
    if stretches[0][2] is None:  # only ever the first stretch: once a version is in force, one always is
        s, e, _ = stretches[0]
        anomalies.append(Anomaly(
            AnomalyKind.NO_TARIFF, s, None,
            f"no tariff was in force from {s.isoformat()} to {e.isoformat()}: that part is priced at nothing",
        ))

    energy_lines = _energy_lines(energy, by_number)
    time_lines = _time_lines(stretches, start, charging_end, energy)
    idle = _idle_line(by_number, charging_end, end)

    # the one rounding step; the lines' fen are the total handed out by the largest remainders
    amounts = [units for line in energy_lines for units in (line.energy_fee_units, line.service_fee_units)]
    amounts += [line.fee_units for line in time_lines] + ([idle.fee_units] if idle is not None else [])
    total_units = sum(amounts)
    total_fen = round_fen(total_units)
    shown = iter(apportion_fen(total_fen, amounts))
    energy_lines = [
        replace(line, energy_fee_fen=next(shown), service_fee_fen=next(shown)) for line in energy_lines
    ]
    time_lines = [replace(line, fee_fen=next(shown)) for line in time_lines]
    if idle is not None:
        idle = replace(idle, fee_fen=next(shown))
    return Cost(
        energy_lines=tuple(energy_lines), time_lines=tuple(time_lines), idle=idle,
        energy_wh=kept[-1].energy_wh - kept[0].energy_wh, started_at=start, charging_ended_at=charging_end,
        ended_at=end, total_units=total_units, total_fen=total_fen, anomalies=tuple(anomalies),
    )


def _energy_lines(energy: Mapping[Key, int], by_number: Mapping[int, TariffVersion]) -> list[EnergyLine]:
    """One line per (version, tier) with energy, in version and tier order (energy under no version first)."""
    out = []
    for key in sorted(energy, key=_tier_rank):
        number, tier = key
        if (number is not None and tier is None) or energy[key] == 0:
            continue  # under an hourly version: shown on its time line; or a piece the split gave nothing
        prices = TierPrice(0, 0) if number is None or tier is None else by_number[number].terms.prices[tier]
        wh = energy[key]
        out.append(EnergyLine(
            number, tier, wh, prices.energy_price_e4, prices.service_price_e4,
            energy_fee_units=prices.energy_price_e4 * wh * ENERGY_UNITS,
            service_fee_units=prices.service_price_e4 * wh * ENERGY_UNITS,
            energy_fee_fen=0, service_fee_fen=0,
        ))
    return out


def _time_lines(
    stretches: Sequence[Stretch], start: datetime, charging_end: datetime, energy: Mapping[Key, int]
) -> list[TimeLine]:
    """One line per hourly version: the whole seconds of charging time in its stretch. Seconds are counted
    from the start of the session, so the lines' seconds add up to the whole seconds of the charging time."""
    out = []
    for s, e, version in stretches:
        if version is None or version.kind != TariffKind.HOURLY:
            continue
        first, last = max(s, start), min(e, charging_end)
        seconds = (last - start) // _S - (first - start) // _S if last > first else 0
        price = version.terms.hourly_price_e4 or 0
        out.append(TimeLine(
            version.version, seconds, energy.get((version.version, None), 0), price,
            fee_units=price * seconds * HOURLY_UNITS, fee_fen=0,
        ))
    return out


def _idle_line(
    by_number: Mapping[int, TariffVersion], charging_end: datetime, end: datetime
) -> IdleLine | None:
    """The idle fee on the terms of the version in force when charging ended (None: that version has none)."""
    version = in_force(by_number.values(), charging_end)
    if version is None or version.terms.idle is None:
        return None
    terms = version.terms.idle
    starts_at = charging_end + timedelta(minutes=terms.idle_grace_min)
    minutes = max(0, (end - starts_at) // _MIN)
    units = minutes * terms.idle_price_e4 * IDLE_UNITS
    cap = terms.idle_cap_fen * UNITS_PER_FEN if terms.idle_cap_fen is not None else None
    capped = cap is not None and units > cap
    return IdleLine(
        version.version, starts_at, minutes, terms.idle_price_e4, terms.idle_cap_fen, capped,
        fee_units=cap if cap is not None and capped else units, fee_fen=0,
    )


# -- describing ----------------------------------------------------------------------------------------------


def terms_json(terms: TariffTerms) -> dict[str, object]:
    """The terms as plain JSON (for the audit trail)."""
    out: dict[str, object] = {"kind": terms.kind.value}
    if terms.kind == TariffKind.TIME_OF_USE:
        out["periods"] = [p.as_json() for p in terms.periods]
        out["prices"] = {
            tier.value: {"energy_price_e4": p.energy_price_e4, "service_price_e4": p.service_price_e4}
            for tier, p in terms.prices.items()
        }
    else:
        out["hourly_price_e4"] = terms.hourly_price_e4
    if terms.idle is not None:
        out["idle"] = {"idle_price_e4": terms.idle.idle_price_e4, "idle_grace_min": terms.idle.idle_grace_min,
                       "idle_cap_fen": terms.idle.idle_cap_fen}
    if terms.note:
        out["note"] = terms.note
    return out


def time_of_use(
    day: Iterable[tuple[str, TariffTier]], prices: Mapping[TariffTier, tuple[int, int]], *,
    idle: IdleTerms | None = None, note: str = "",
) -> TariffTerms:
    """A time-of-use draft from ``[("00:00-07:00", VALLEY), …]`` and ``{VALLEY: (energy_e4, service_e4)}``
    (not yet checked: ``check_terms`` does that)."""
    return TariffTerms(
        TariffKind.TIME_OF_USE, tuple(period(span, tier) for span, tier in day),
        {tier: TierPrice(energy, service) for tier, (energy, service) in prices.items()}, None, idle, note,
    )


def hourly(hourly_price_e4: int, *, idle: IdleTerms | None = None, note: str = "") -> TariffTerms:
    return TariffTerms(TariffKind.HOURLY, hourly_price_e4=hourly_price_e4, idle=idle, note=note)
