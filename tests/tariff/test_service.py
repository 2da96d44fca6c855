"""Tariff use cases against a real database: publishing (scoped, validated, audited), reading without a login,
the versions a session needs, and its cost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from api.access.errors import Forbidden, Unauthenticated
from api.audit.dto import AuditFilter
from api.core.clock import SHANGHAI
from api.core.errors import InvalidInput, NotFound
from api.models.enums import Role, TariffKind, TariffTier
from api.tariff import rules
from api.tariff.dto import IdleTerms, Reading, TierPrice
from api.tariff.errors import NoTariff
from api.tariff.service import TariffService

SHARP, PEAK, FLAT, VALLEY = TariffTier.SHARP, TariffTier.PEAK, TariffTier.FLAT, TariffTier.VALLEY
DAY = [
    ("00:00-08:00", VALLEY), ("08:00-11:00", FLAT), ("11:00-13:00", SHARP), ("13:00-19:00", PEAK),
    ("19:00-23:00", FLAT), ("23:00-24:00", VALLEY),
]
PRICES = {SHARP: (12000, 4500), PEAK: (9500, 4500), FLAT: (6500, 4500), VALLEY: (3200, 4500)}


def service(server) -> TariffService:
    return TariffService(server.services.clock, server.services.access, server.services.audit)


async def operator_admin(server, station):
    _, token = await server.builders.person(Role.OPERATOR_ADMIN, operator_id=station.operator_id)
    return await server.services.access.viewer_from_token(token)


def tomorrow_local(hour: int, minute: int = 0) -> datetime:
    """Tomorrow (Shanghai) at a wall-clock time, always in the future."""
    day = datetime.now(SHANGHAI).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


async def test_an_operator_admin_publishes_versions_that_anyone_can_read(server):
    # given: a station and its operator's admin
    tariffs = service(server)
    station = await server.builders.station()
    admin = await operator_admin(server, station)
    idle = IdleTerms(idle_price_e4=5000, idle_grace_min=15, idle_cap_fen=3000)

    # when: a time-of-use tariff now, and an hourly one from tomorrow 00:00
    v1 = await tariffs.publish(admin, station.id, rules.time_of_use(DAY, PRICES, idle=idle, note="夏季"))
    v2 = await tariffs.publish(admin, station.id, rules.hourly(18000), tomorrow_local(0))

    # then: numbered in order, stored exactly as validated
    assert (v1.version, v2.version) == (1, 2)
    assert abs(v1.effective_from - server.services.clock.now()) < timedelta(seconds=5)
    assert v2.effective_from == tomorrow_local(0).astimezone(UTC)
    stored = await tariffs.versions(station.id)
    assert [v.version for v in stored] == [1, 2]
    assert stored[0].terms == rules.check_terms(rules.time_of_use(DAY, PRICES, idle=idle, note="夏季"))
    assert stored[0].terms.prices[SHARP] == TierPrice(12000, 4500)
    assert stored[1].terms.kind == TariffKind.HOURLY and stored[1].terms.hourly_price_e4 == 18000

    # and: reading needs no viewer: v1 is in force today, v2 from tomorrow
    assert (await tariffs.in_force(station.id)).version == 1  # type: ignore[union-attr]
    assert (await tariffs.in_force(station.id, tomorrow_local(1))).version == 2  # type: ignore[union-attr]


async def test_every_publication_is_audited(server):
    # given
    tariffs = service(server)
    station = await server.builders.station()
    admin = await operator_admin(server, station)

    # when
    await tariffs.publish(admin, station.id, rules.time_of_use([("00:00-24:00", FLAT)], {FLAT: (6500, 4500)}))

    # then
    entries = await server.services.audit.search(
        AuditFilter(station_id=station.id, action_prefix="station.tariff"), everything=True,
        station_ids=frozenset(), operator_ids=frozenset(), before_id=None, limit=10,
    )
    assert len(entries) == 1
    entry = entries[0]
    assert (entry.action, entry.outcome, entry.actor_id, entry.operator_id) == (
        "station.tariff", "done", admin.user_id, station.operator_id)
    assert entry.target == f"station {station.id} tariff v1"
    assert entry.details["terms"]["prices"] == {"flat": {"energy_price_e4": 6500, "service_price_e4": 4500}}
    assert entry.details["backdated"] is False


@pytest.mark.parametrize(("day", "message"), [
    ([("00:00-08:00", VALLEY), ("09:00-24:00", FLAT)], r"nothing covers 08:00-09:00: a gap before period 2"),
    ([("00:00-08:00", VALLEY), ("07:30-24:00", FLAT)], r"period 2 \(07:30-24:00\) overlaps period 1"),
    ([("00:00-08:00", VALLEY), ("08:00-23:00", FLAT)], r"the day must be covered until 24:00"),
])
async def test_an_invalid_day_is_refused_with_the_period_named(server, day, message):
    # given
    tariffs = service(server)
    station = await server.builders.station()
    admin = await operator_admin(server, station)

    # when / then
    with pytest.raises(InvalidInput, match=message) as caught:
        await tariffs.publish(admin, station.id, rules.time_of_use(day, {VALLEY: (3200, 0), FLAT: (6500, 0)}))
    assert caught.value.code == "INVALID_INPUT"
    assert await tariffs.versions(station.id) == []


async def test_a_bad_price_or_a_past_start_is_refused(server):
    # given
    tariffs = service(server)
    station = await server.builders.station()
    admin = await operator_admin(server, station)
    draft = rules.time_of_use([("00:00-24:00", FLAT)], {FLAT: (6500, 4500)})

    # then
    with pytest.raises(InvalidInput, match="the FLAT energy price 1000001 is out of range"):
        too_dear = rules.time_of_use([("00:00-24:00", FLAT)], {FLAT: (1_000_001, 0)})
        await tariffs.publish(admin, station.id, too_dear)
    with pytest.raises(InvalidInput, match="cannot take effect in the past"):
        await tariffs.publish(admin, station.id, draft, server.services.clock.now() - timedelta(minutes=5))
    with pytest.raises(InvalidInput, match="needs a time zone"):
        await tariffs.publish(admin, station.id, draft, datetime(2030, 1, 1))
    # and: half a minute ago is still "now" (the time it takes to press the button)
    half_a_minute_ago = server.services.clock.now() - timedelta(seconds=30)
    recent = await tariffs.publish(admin, station.id, draft, half_a_minute_ago)
    assert recent.version == 1


@pytest.mark.parametrize("who", ["other operator admin", "station manager", "driver"])
async def test_only_the_operator_may_publish(server, who):
    # given: a station, and someone without the right to set its tariffs
    tariffs = service(server)
    station = await server.builders.station()
    other = await server.builders.station()
    if who == "other operator admin":
        _, token = await server.builders.person(Role.OPERATOR_ADMIN, operator_id=other.operator_id)
    elif who == "station manager":
        _, token = await server.builders.person(Role.STATION_MANAGER, station_id=station.id)
    else:
        _, token = await server.builders.person(Role.DRIVER)
    viewer = await server.services.access.viewer_from_token(token)

    # when / then
    with pytest.raises(Forbidden, match=f"may not set the tariffs of station {station.id}") as caught:
        await tariffs.publish(viewer, station.id, rules.hourly(18000))
    assert caught.value.code == "FORBIDDEN"
    assert await tariffs.versions(station.id) == []


async def test_anonymous_people_read_prices_but_cannot_publish(server):
    # given: a station with a tariff
    tariffs = service(server)
    station = await server.builders.station()
    await tariffs.publish(await operator_admin(server, station), station.id, rules.time_of_use(DAY, PRICES))

    # when / then: reading takes no viewer at all
    now = await tariffs.price_now(station.id)
    assert now.tariff.version == 1 and now.price.tier in {SHARP, PEAK, FLAT, VALLEY}
    assert now.next_change_at is not None and now.next_change_at > now.at
    with pytest.raises(Unauthenticated):
        await tariffs.publish(None, station.id, rules.hourly(18000))


async def test_backdating_is_for_platform_admins_importing_history(server):
    # given
    tariffs = service(server)
    station = await server.builders.station()
    admin = await operator_admin(server, station)
    platform = await server.services.access.viewer_from_token(server.admin_token)
    last_year = server.services.clock.now() - timedelta(days=365)
    draft = rules.time_of_use([("00:00-24:00", FLAT)], {FLAT: (6000, 4000)})

    # then
    with pytest.raises(Forbidden, match="in the past"):
        await tariffs.publish(admin, station.id, draft, last_year, backdate=True)
    imported = await tariffs.publish(platform, station.id, draft, last_year, backdate=True)
    assert imported.effective_from == last_year
    then = await tariffs.in_force(station.id, last_year + timedelta(days=1))
    assert then is not None and then.version == 1


async def test_a_station_without_a_tariff_has_no_price_and_an_unknown_station_is_not_found(server):
    # given
    tariffs = service(server)
    station = await server.builders.station()

    # then
    with pytest.raises(NoTariff) as caught:
        await tariffs.price_now(station.id)
    assert caught.value.code == "NO_TARIFF"
    assert await tariffs.in_force(station.id) is None
    with pytest.raises(NotFound, match="station 999999 does not exist"):
        await tariffs.versions(999_999)


async def test_a_session_across_a_scheduled_change_is_costed_with_both_versions(server):
    # given: v1 today; v2 (cheaper) from tomorrow 12:00; v3 published later, for tomorrow 20:00 (hourly)
    tariffs = service(server)
    station = await server.builders.station()
    admin = await operator_admin(server, station)
    await tariffs.publish(admin, station.id, rules.time_of_use(DAY, PRICES))
    await tariffs.publish(admin, station.id, rules.time_of_use([("00:00-24:00", FLAT)], {FLAT: (5000, 3000)}),
                          tomorrow_local(12))
    await tariffs.publish(admin, station.id, rules.hourly(18000), tomorrow_local(20))

    # when: a session tomorrow from 11:30 to 12:30, 10 kWh at constant power
    readings = [Reading(tomorrow_local(11, 30), 250_000), Reading(tomorrow_local(12, 30), 260_000)]
    cost = await tariffs.cost(station.id, readings)

    # then: 5 kWh SHARP under v1 (5 × 1.65 = 8.25 yuan), 5 kWh FLAT under v2 (5 × 0.80 = 4.00 yuan)
    needed = await tariffs.versions_for(station.id, readings[0].at, readings[1].at)
    assert [v.version for v in needed] == [1, 2]
    assert [(line.version, line.tier, line.energy_wh) for line in cost.energy_lines] == [
        (1, SHARP, 5000), (2, FLAT, 5000)]
    assert cost.total_fen == 825 + 400
    assert cost.anomalies == ()

    # and: the price tomorrow at 11:50 is SHARP, and changes at 12:00 to v2's FLAT
    now = await tariffs.price_now(station.id, tomorrow_local(11, 50))
    assert (now.tariff.version, now.price.tier) == (1, SHARP)
    assert now.next_change_at == tomorrow_local(12).astimezone(UTC)
    assert now.next_price is not None and (now.next_price.version, now.next_price.tier) == (2, FLAT)
