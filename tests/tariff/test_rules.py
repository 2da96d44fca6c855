"""The pure rules of tariffs: validation, versions over time, the price now, and the cost of a session."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.core.clock import SHANGHAI
from api.models.enums import TariffKind, TariffTier
from api.tariff import rules
from api.tariff.dto import AnomalyKind, IdleTerms, Period, Reading, TariffTerms, TariffVersion, TierPrice

SHARP, PEAK, FLAT, VALLEY = TariffTier.SHARP, TariffTier.PEAK, TariffTier.FLAT, TariffTier.VALLEY
SUMMER_DAY = [
    ("00:00-07:00", VALLEY), ("07:00-10:00", FLAT), ("10:00-15:00", PEAK), ("15:00-19:00", FLAT),
    ("19:00-21:00", SHARP), ("21:00-23:00", PEAK), ("23:00-24:00", VALLEY),
]
SUMMER_PRICES = {SHARP: (11800, 4000), PEAK: (9800, 4000), FLAT: (6500, 4000), VALLEY: (3000, 4000)}
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)


def local(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """15 + ``day`` July 2026, Asia/Shanghai wall-clock time."""
    return datetime(2026, 7, 15, hour, minute, second, tzinfo=SHANGHAI) + timedelta(days=day)


def version(number: int, terms: TariffTerms, effective_from: datetime = LONG_AGO) -> TariffVersion:
    return TariffVersion(1, number, effective_from.astimezone(UTC), rules.check_terms(terms))


def summer(**kwargs: object) -> TariffTerms:
    return rules.time_of_use(SUMMER_DAY, SUMMER_PRICES, **kwargs)  # type: ignore[arg-type]


def flat_all_day(energy_e4: int, service_e4: int, idle: IdleTerms | None = None) -> TariffTerms:
    return rules.time_of_use([("00:00-24:00", FLAT)], {FLAT: (energy_e4, service_e4)}, idle=idle)


def lines(cost) -> dict[tuple[int | None, TariffTier | None], int]:
    return {(line.version, line.tier): line.energy_wh for line in cost.energy_lines}


def shown_fen(cost) -> int:
    return cost.energy_fee_fen + cost.service_fee_fen + cost.time_fee_fen + cost.idle_fee_fen


# -- validation -------------------------------------------------------------------------------------------


def test_a_valid_day_is_put_in_order_and_keeps_only_the_prices_it_uses():
    # given: the summer day written out of order
    shuffled = rules.time_of_use(list(reversed(SUMMER_DAY)), SUMMER_PRICES, note="  夏季电价  ")

    # when
    checked = rules.check_terms(shuffled)

    # then
    assert [p.span for p in checked.periods] == [span for span, _ in SUMMER_DAY]
    assert list(checked.prices) == [SHARP, PEAK, FLAT, VALLEY]
    assert checked.prices[SHARP] == TierPrice(11800, 4000)
    assert checked.note == "夏季电价"


@pytest.mark.parametrize(("day", "message"), [
    ([("00:00-07:00", VALLEY), ("08:00-24:00", FLAT)],
     r"nothing covers 07:00-08:00: a gap before period 2 \(08:00-24:00\)"),
    ([("00:00-12:00", VALLEY), ("11:00-24:00", FLAT)],
     r"period 2 \(11:00-24:00\) overlaps period 1 \(00:00-12:00\)"),
    ([("00:00-12:00", VALLEY), ("12:00-23:30", FLAT)],
     r"the periods end at 23:30: the day must be covered until 24:00"),
    ([("01:00-24:00", FLAT)], r"nothing covers 00:00-01:00: a gap before period 1 \(01:00-24:00\)"),
    ([("07:00-22:00", FLAT), ("22:00-07:00", VALLEY)],
     r"period 2 \(22:00-07:00\) does not end after it starts.*22:00-24:00 and 00:00-07:00"),
    ([("00:00-24:00", FLAT), ("00:00-24:00", FLAT)], r"period 2 \(00:00-24:00\) overlaps period 1"),
    ([], "needs periods from 00:00 to 24:00"),
])
def test_a_day_that_is_not_exactly_00_00_to_24_00_is_refused_naming_the_period(day, message):
    # given: a draft whose periods leave a gap, overlap, stop short or run past midnight
    draft = rules.time_of_use(day, {VALLEY: (3000, 4000), FLAT: (6500, 4000)} if day else {})

    # when / then
    with pytest.raises(ValueError, match=message):
        rules.check_terms(draft)


def test_at_most_48_periods():
    # given: 49 periods of 29 or 30 minutes
    edges = [i * 1440 // 49 for i in range(50)]
    periods = tuple(Period(a, b, FLAT) for a, b in zip(edges, edges[1:]))
    draft = TariffTerms(TariffKind.TIME_OF_USE, periods, {FLAT: TierPrice(6500, 4000)})

    # when / then
    with pytest.raises(ValueError, match="at most 48 periods in a day, not 49"):
        rules.check_terms(draft)
    assert len(rules.check_terms(TariffTerms(TariffKind.TIME_OF_USE, tuple(
        Period(i * 30, i * 30 + 30, FLAT) for i in range(48)), {FLAT: TierPrice(6500, 4000)})).periods) == 48


@pytest.mark.parametrize(("span", "message"), [
    ("7:00-10:00", "not a period HH:MM-HH:MM"),
    ("07:00-24:01", "not a period HH:MM-HH:MM"),
    ("07:60-10:00", "not a period HH:MM-HH:MM"),
    ("07:00", "not a period HH:MM-HH:MM"),
])
def test_a_period_is_written_hh_mm_hh_mm(span, message):
    with pytest.raises(ValueError, match=message):
        rules.period(span, FLAT)


@pytest.mark.parametrize(("prices", "message"), [
    ({FLAT: (-1, 4000), VALLEY: (3000, 4000)}, r"the FLAT energy price -1 is out of range: 0 to 1000000"),
    ({FLAT: (6500, 1_000_001), VALLEY: (3000, 4000)}, r"the FLAT service price 1000001 is out of range"),
    ({FLAT: (6500, 4000)}, r"the VALLEY tier of period 1 \(00:00-08:00\) has no prices"),
    ({FLAT: (6500, 4000), VALLEY: (3000, 4000), SHARP: (1, 1)}, "given for the SHARP tier, but no period is"),
])
def test_prices_are_0_to_100_yuan_for_exactly_the_tiers_used(prices, message):
    # given: a two-tier day with a bad, missing or unused price
    draft = rules.time_of_use([("00:00-08:00", VALLEY), ("08:00-24:00", FLAT)], prices)

    # when / then
    with pytest.raises(ValueError, match=message):
        rules.check_terms(draft)


def test_the_highest_prices_allowed_are_100_yuan():
    draft = rules.time_of_use([("00:00-24:00", FLAT)], {FLAT: (1_000_000, 0)})
    assert rules.check_terms(draft).prices[FLAT].energy_price_e4 == 1_000_000


@pytest.mark.parametrize(("terms", "message"), [
    (rules.hourly(-5), "the hourly price -5 is out of range"),
    (TariffTerms(TariffKind.HOURLY), "the hourly price None is out of range"),
    (TariffTerms(TariffKind.HOURLY, (Period(0, 1440, FLAT),), {}, 20000), "no periods or per-kWh prices"),
    (TariffTerms(TariffKind.TIME_OF_USE, (Period(0, 1440, FLAT),), {FLAT: TierPrice(1, 1)}, 20000),
     "no hourly price"),
    (rules.hourly(20000, idle=IdleTerms(0)), "the idle price 0 is out of range"),
    (rules.hourly(20000, idle=IdleTerms(5000, -1)), "the idle grace period is 0 to 1440 minutes, not -1"),
    (rules.hourly(20000, idle=IdleTerms(5000, 10, 0)), "the idle fee cap is 1 to 10000000 fen, not 0"),
    (rules.hourly(20000, note="x" * 129), "at most 128 characters"),
])
def test_hourly_and_idle_terms_are_checked(terms, message):
    with pytest.raises(ValueError, match=message):
        rules.check_terms(terms)


def test_a_new_version_starts_at_most_a_minute_ago_unless_history_is_imported():
    # given
    now = datetime(2026, 7, 15, 4, 0, tzinfo=UTC)

    # then
    assert rules.check_effective_from(now - timedelta(seconds=59), now) == now - timedelta(seconds=59)
    assert rules.check_effective_from(local(1, 0), now) == local(1, 0).astimezone(UTC)
    with pytest.raises(ValueError, match=r"in the past \(2026-07-15 11:58 Asia/Shanghai\)"):
        rules.check_effective_from(now - timedelta(minutes=2), now)
    ninety_days_ago = now - timedelta(days=90)
    assert rules.check_effective_from(ninety_days_ago, now, backdate=True) == ninety_days_ago
    with pytest.raises(ValueError, match="needs a time zone"):
        rules.check_effective_from(datetime(2026, 7, 16, 0, 0), now)
    with pytest.raises(ValueError, match="at most a year ahead"):
        rules.check_effective_from(now + timedelta(days=400), now)


# -- versions over time -----------------------------------------------------------------------------------


def test_the_highest_version_whose_time_has_come_is_in_force():
    # given: v1 long ago, v2 scheduled for August, v3 published later to start on 20 July
    v1 = version(1, summer())
    v2 = version(2, flat_all_day(7000, 4000), local(17, 0))
    v3 = version(3, flat_all_day(5000, 4000), local(5, 0))
    versions = [v1, v2, v3]

    # then: v3 decides from 20 July on, so the scheduled v2 never applies
    assert rules.in_force(versions, local(0, 12)) == v1
    assert rules.in_force(versions, local(5, 0) - timedelta(microseconds=1)) == v1
    assert rules.in_force(versions, local(5, 0)) == v3
    assert rules.in_force(versions, local(20, 0)) == v3
    assert rules.in_force(versions, LONG_AGO - timedelta(seconds=1)) is None
    assert rules.relevant(versions, local(4, 0), local(30, 0)) == [v1, v3]


# -- the price now ----------------------------------------------------------------------------------------


def test_the_price_now_tells_the_tier_and_when_it_changes():
    # given
    versions = [version(1, summer())]

    # when: 20:50 in Shanghai (12:50 UTC)
    now = rules.price_now(versions, local(0, 20, 50))

    # then: SHARP until 21:00, then PEAK
    assert now is not None
    assert (now.price.tier, now.price.energy_price_e4, now.price.service_price_e4) == (SHARP, 11800, 4000)
    assert now.next_change_at == datetime(2026, 7, 15, 13, 0, tzinfo=UTC)
    assert now.next_price is not None and now.next_price.tier == PEAK

    # and: at 23:30 the next change is 07:00 next morning (valley over midnight is one stretch of one tier)
    late = rules.price_now(versions, local(0, 23, 30))
    assert late is not None and late.price.tier == VALLEY
    assert late.next_change_at == local(1, 7, 0)
    assert late.next_price is not None and late.next_price.tier == FLAT


def test_the_next_change_may_be_a_scheduled_version():
    # given: one tier all day, and a new version from tomorrow 00:00
    versions = [version(1, flat_all_day(6500, 4000)), version(2, rules.hourly(20000), local(1, 0))]

    # when
    now = rules.price_now(versions, local(0, 15))

    # then
    assert now is not None and now.price.total_price_e4 == 10500
    assert now.next_change_at == local(1, 0)
    assert now.next_price is not None
    next_price = now.next_price
    assert (next_price.version, next_price.kind, next_price.hourly_price_e4) == (2, TariffKind.HOURLY, 20000)

    # and: without it nothing changes, and before the first version there is no price
    assert rules.price_now(versions[:1], local(0, 15)).next_change_at is None  # type: ignore[union-attr]
    assert rules.price_now(versions, LONG_AGO - timedelta(days=1)) is None


def test_the_day_table_lists_each_period_with_its_prices():
    table = rules.day_table(version(1, summer()))
    assert [(row.period.span, row.period.tier, row.price.total_price_e4) for row in table][:3] == [
        ("00:00-07:00", VALLEY, 7000), ("07:00-10:00", FLAT, 10500), ("10:00-15:00", PEAK, 13800)]
    assert rules.price_str(table[4].price.total_price_e4) == "1.5800"


# -- the cost of a session --------------------------------------------------------------------------------


def test_energy_is_split_across_two_period_boundaries_and_midnight():
    # given: the summer day, and a session from 20:30 to 00:30 with one reading at each end (40 001 Wh)
    versions = [version(1, summer())]
    readings = [Reading(local(0, 20, 30), 1_000_000), Reading(local(1, 0, 30), 1_040_001)]

    # when
    cost = rules.cost(versions, readings)

    # then: spread linearly over 4 h: 30 min SHARP, 2 h PEAK, 1 h + 30 min VALLEY (across midnight);
    # the exact shares 5000.125 / 20000.5 / 10000.25 + 5000.125 leave one Wh: PEAK has the largest remainder
    assert lines(cost) == {(1, SHARP): 5000, (1, PEAK): 20001, (1, VALLEY): 15000}
    assert cost.energy_wh == 40_001
    # and: 5 kWh × 1.58 + 20.001 kWh × 1.38 + 15 kWh × 0.70 = 7.90 + 27.60138 + 10.50 = 46.00138 yuan
    assert cost.total_fen == 4600
    assert cost.anomalies == ()
    assert shown_fen(cost) == cost.total_fen


def test_readings_between_boundaries_spread_their_own_energy():
    # given: the same session sampled at 21:30 and 23:30 (power changed between samples)
    versions = [version(1, summer())]
    readings = [
        Reading(local(0, 20, 30), 0), Reading(local(0, 21, 30), 12_000),
        Reading(local(0, 23, 30), 30_000), Reading(local(1, 0, 30), 36_000),
    ]

    # when
    cost = rules.cost(versions, readings)

    # then: 20:30-21:30 splits 6000/6000 at 21:00, 21:30-23:30 splits 13500/4500 at 23:00, the rest is VALLEY
    assert lines(cost) == {(1, SHARP): 6000, (1, PEAK): 19_500, (1, VALLEY): 10_500}
    line = {(l.version, l.tier): l for l in cost.energy_lines}[(1, PEAK)]
    assert line.energy_fee_units == 9800 * 19_500 * rules.ENERGY_UNITS
    assert (line.energy_fee_fen, line.service_fee_fen) == (1911, 780)  # 19.5 kWh × 0.98 / 0.40 yuan


def test_periods_are_read_in_shanghai_time_not_utc():
    # given: a reading pair from 14:30 to 15:30 UTC = 22:30 to 23:30 in Shanghai
    versions = [version(1, summer())]
    readings = [
        Reading(datetime(2026, 7, 15, 14, 30, tzinfo=UTC), 0),
        Reading(datetime(2026, 7, 15, 15, 30, tzinfo=UTC), 1000),
    ]

    # then: half PEAK (until 23:00 local), half VALLEY
    assert lines(rules.cost(versions, readings)) == {(1, PEAK): 500, (1, VALLEY): 500}


def test_a_session_across_a_version_change_is_priced_by_each_version_in_its_time():
    # given: v1 at 0.65 + 0.40 all day; v2 from 22:00 at 0.50 + 0.30; a session from 21:00 to 23:00
    versions = [version(1, flat_all_day(6500, 4000)), version(2, flat_all_day(5000, 3000), local(0, 22))]
    readings = [Reading(local(0, 21), 0), Reading(local(0, 22, 30), 15_000), Reading(local(0, 23), 20_000)]

    # when
    cost = rules.cost(versions, readings)

    # then: 10 kWh under v1 (10.50 yuan), 10 kWh under v2 (8.00 yuan)
    assert lines(cost) == {(1, FLAT): 10_000, (2, FLAT): 10_000}
    assert [(l.energy_fee_fen, l.service_fee_fen) for l in cost.energy_lines] == [(650, 400), (500, 300)]
    assert cost.total_fen == 1850


def test_the_total_is_rounded_once_not_line_by_line():
    # given: two tiers, 10 Wh in each, energy and service 0.50 yuan per kWh: four amounts of exactly 0.5 fen
    day = [("00:00-12:00", VALLEY), ("12:00-24:00", FLAT)]
    versions = [version(1, rules.time_of_use(day, {VALLEY: (5000, 5000), FLAT: (5000, 5000)}))]
    readings = [Reading(local(0, 11, 59), 0), Reading(local(0, 12, 1), 20)]

    # when
    cost = rules.cost(versions, readings)

    # then: rounding each amount half up would charge 4 fen; the exact total is 2.0 fen, rounded once: 2 fen
    amounts = [a for l in cost.energy_lines for a in (l.energy_fee_units, l.service_fee_units)]
    assert amounts == [rules.UNITS_PER_FEN // 2] * 4
    assert sum(rules.round_fen(a) for a in amounts) == 4
    assert cost.total_fen == 2
    # and: the displayed line fen still sum to the total (the largest remainders; ties to the earlier lines)
    shown = [(line.tier, line.energy_fee_fen, line.service_fee_fen) for line in cost.energy_lines]
    assert shown == [(FLAT, 1, 1), (VALLEY, 0, 0)]


def test_the_one_rounding_step_is_half_up():
    # given: exactly half a fen, and a little less
    versions = [version(1, flat_all_day(5000, 0))]
    half = rules.cost(versions, [Reading(local(0, 10), 0), Reading(local(0, 11), 10)])
    less = rules.cost(versions, [Reading(local(0, 10), 0), Reading(local(0, 11), 9)])

    # then
    assert (half.total_units, half.total_fen) == (rules.UNITS_PER_FEN // 2, 1)
    assert less.total_fen == 0


def test_hourly_tariffs_charge_the_charging_time_per_second():
    # given: 2 yuan per hour; charging from 10:00:00 until the register stops at 11:30:30; unplugged at 12:00
    versions = [version(1, rules.hourly(20000))]
    readings = [
        Reading(local(0, 10), 500), Reading(local(0, 11), 7_500), Reading(local(0, 11, 30, 30), 11_000),
        Reading(local(0, 11, 45), 11_000),
    ]

    # when
    cost = rules.cost(versions, readings, end=local(0, 12))

    # then: 5430 s × 2 yuan / 3600 s = 3.01666… yuan -> 302 fen; the energy is shown, not priced
    assert cost.charging_ended_at == local(0, 11, 30, 30)
    [line] = cost.time_lines
    assert (line.seconds, line.energy_wh, line.fee_units) == (5430, 10_500, 20000 * 5430 * rules.HOURLY_UNITS)
    assert Fraction(line.fee_units, rules.UNITS_PER_FEN) == Fraction(20000 * 5430, 3600 * 100)
    assert (cost.total_fen, line.fee_fen) == (302, 302)
    assert cost.energy_lines == ()


def test_an_hourly_version_after_a_time_of_use_version():
    # given: per kWh until 11:00, per hour after
    versions = [version(1, flat_all_day(6000, 4000)), version(2, rules.hourly(36000), local(0, 11))]
    readings = [Reading(local(0, 10, 30), 0), Reading(local(0, 11, 30), 6_000)]

    # when
    cost = rules.cost(versions, readings)

    # then: 3 kWh × 1.00 yuan + 1800 s × 3.60 yuan per hour
    assert lines(cost) == {(1, FLAT): 3000}
    assert [(l.version, l.seconds, l.energy_wh, l.fee_fen) for l in cost.time_lines] == [(2, 1800, 3000, 180)]
    assert cost.total_fen == 300 + 180


@pytest.mark.parametrize(("unplugged", "minutes", "idle_fen", "capped"), [
    (local(0, 10, 14), 0, 0, False),  # still within the 15 minutes of grace
    (local(0, 10, 45, 59), 30, 1500, False),  # 30 whole minutes after 10:15 at 0.50 yuan
    (local(0, 12, 0), 105, 2000, True),  # 52.50 yuan, capped at 20 yuan
])
def test_the_idle_fee_starts_after_the_grace_and_stops_at_the_cap(unplugged, minutes, idle_fen, capped):
    # given: 0.50 yuan per minute after 15 minutes, at most 20 yuan; charging ends at 10:00 (register stops)
    versions = [version(1, flat_all_day(6000, 4000, IdleTerms(5000, 15, 2000)))]
    readings = [Reading(local(0, 9), 0), Reading(local(0, 10), 20_000), Reading(local(0, 10, 5), 20_000)]

    # when
    cost = rules.cost(versions, readings, end=unplugged)

    # then
    assert cost.charging_ended_at == local(0, 10)
    assert cost.idle is not None
    assert (cost.idle.starts_at, cost.idle.minutes, cost.idle.fee_fen, cost.idle.capped) == (
        local(0, 10, 15), minutes, idle_fen, capped)
    assert cost.total_fen == 2000 + idle_fen  # 20 kWh × 1.00 yuan + the idle fee


def test_a_live_session_still_charging_pays_no_idle_fee():
    versions = [version(1, flat_all_day(6000, 4000, IdleTerms(5000, 0)))]
    readings = [Reading(local(0, 9), 0), Reading(local(0, 10), 20_000), Reading(local(0, 10, 30), 20_000)]
    cost = rules.cost(versions, readings, end=local(0, 10, 30), charging_ended_at=local(0, 10, 30))
    assert cost.idle is not None and cost.idle.minutes == 0 and cost.total_fen == 2000


def test_readings_out_of_order_or_going_backwards_are_left_out_and_reported():
    # given: a reading from the past, and a register that drops (then recovers)
    versions = [version(1, flat_all_day(6000, 4000))]
    readings = [
        Reading(local(0, 10), 1_000), Reading(local(0, 10, 10), 2_000), Reading(local(0, 10, 5), 2_500),
        Reading(local(0, 10, 20), 1_500), Reading(local(0, 10, 20), 1_500), Reading(local(0, 10, 30), 3_000),
        Reading(local(0, 10, 30), 3_000),
    ]

    # when
    cost = rules.cost(versions, readings)

    # then: 2 kWh from the readings that make sense; the others are named (a repeat is not an anomaly)
    assert cost.energy_wh == 2_000 and lines(cost) == {(1, FLAT): 2_000}
    assert [(a.kind, a.at, a.energy_wh) for a in cost.anomalies] == [
        (AnomalyKind.OUT_OF_ORDER, local(0, 10, 5), 2_500),
        (AnomalyKind.REGISTER_BACKWARDS, local(0, 10, 20), 1_500),
        (AnomalyKind.REGISTER_BACKWARDS, local(0, 10, 20), 1_500),
    ]
    assert cost.anomalous and cost.total_fen == 200


def test_a_stop_reading_below_the_start_costs_nothing_and_is_an_anomaly():
    versions = [version(1, flat_all_day(6000, 4000))]
    cost = rules.cost(versions, [Reading(local(0, 10), 5_000), Reading(local(0, 11), 4_000)])
    assert (cost.energy_wh, cost.total_fen) == (0, 0)
    assert [a.kind for a in cost.anomalies] == [AnomalyKind.REGISTER_BACKWARDS]


def test_a_reading_after_the_end_moves_the_end_and_is_reported():
    versions = [version(1, flat_all_day(6000, 4000))]
    readings = [Reading(local(0, 10), 0), Reading(local(0, 11), 1_000)]
    cost = rules.cost(versions, readings, end=local(0, 10, 59))
    assert cost.ended_at == local(0, 11) and cost.total_fen == 100
    assert [a.kind for a in cost.anomalies] == [AnomalyKind.READING_AFTER_END]


def test_time_before_the_first_version_is_priced_at_nothing_and_reported():
    # given: the first version starts at 10:30, the session at 10:00
    versions = [version(1, flat_all_day(6000, 4000), local(0, 10, 30))]

    # when
    cost = rules.cost(versions, [Reading(local(0, 10), 0), Reading(local(0, 11), 2_000)])

    # then
    assert lines(cost) == {(None, None): 1_000, (1, FLAT): 1_000}
    assert cost.total_fen == 100
    assert [a.kind for a in cost.anomalies] == [AnomalyKind.NO_TARIFF]


def test_a_piece_the_split_gives_nothing_leaves_no_empty_line():
    # given: 1 Wh over two seconds, the first of them before the first version
    versions = [version(1, flat_all_day(6000, 4000), local(0, 10, 0, 1))]

    # when
    cost = rules.cost(versions, [Reading(local(0, 10), 0), Reading(local(0, 10, 0, 2), 1)])

    # then: the tie goes to the earlier piece; the version's 0 Wh is no line
    assert lines(cost) == {(None, None): 1}


def test_a_session_needs_its_start_reading():
    with pytest.raises(ValueError, match="at least its start reading"):
        rules.cost([version(1, summer())], [])


# -- properties -------------------------------------------------------------------------------------------


@given(total=st.integers(0, 10**9), weights=st.lists(st.integers(0, 10**7), min_size=1, max_size=60))
def test_the_largest_remainder_split_sums_to_the_total_and_is_never_negative(total, weights):
    if sum(weights) == 0:
        weights = [*weights[:-1], 1]
    parts = rules.split_by_weights(total, weights)
    assert sum(parts) == total
    assert all(p >= 0 for p in parts)
    whole = sum(weights)
    for part, weight in zip(parts, weights):  # each part is its exact share rounded down or up
        assert total * weight // whole <= part <= -(-total * weight // whole)


@given(
    start_min=st.integers(0, 1439),
    steps=st.lists(st.tuples(st.integers(1, 4 * 3600), st.integers(-50, 20_000)), min_size=1, max_size=40),
)
def test_every_wh_of_a_session_is_priced_once_and_the_shown_fen_sum_to_the_total(start_min, steps):
    # given: the summer day and a session of random samples (some going backwards)
    versions = [version(1, summer()), version(2, flat_all_day(5000, 3000), local(1, 3))]
    at, register = local(0, 0) + timedelta(minutes=start_min), 10_000
    readings = [Reading(at, register)]
    for seconds, wh in steps:
        at, register = at + timedelta(seconds=seconds), register + wh
        readings.append(Reading(at, register))

    # when
    cost = rules.cost(versions, readings)

    # then
    assert sum(l.energy_wh for l in cost.energy_lines) == cost.energy_wh >= 0
    assert all(l.energy_wh > 0 for l in cost.energy_lines)
    assert shown_fen(cost) == cost.total_fen == rules.round_fen(cost.total_units)
    exact_fen = sum(
        Fraction(line.energy_wh * (line.energy_price_e4 + line.service_price_e4), 100_000)
        for line in cost.energy_lines
    )
    assert abs(cost.total_fen - exact_fen) <= Fraction(1, 2)
    if all(wh >= 0 for _, wh in steps):
        assert cost.anomalies == ()
