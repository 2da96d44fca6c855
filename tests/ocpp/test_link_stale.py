"""Sessions a pile never closes are closed by the sweep, by a rule an operator can see.

A session nothing was heard of for the stale time (no sample, no connector status, no transaction message)
is closed ``StaleClosed`` when its connector's last report is Available, or ``PileRebooted`` when its pile
booted since without reporting the connector in a transaction; each close is an event of the pile. A quiet
session on a connector still reported charging stays open. Sweeps running at once (several nodes) close each
session once. The sweep is called here with a time ``now`` hours ahead, as the running node's sweep would see it.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from api.charging import repository
from api.models import ChargePointEvent, ChargingSession, SessionPhaseChange
from api.models.enums import ChargingPhase, SessionStatus
from tests.support.cp_client import StrictChargePoint, now

STALE_S = 12 * 3600


def later(hours: float = 13) -> datetime:
    return datetime.now(UTC) + timedelta(hours=hours)


async def charging_pile(server, energy_wh: int = 12_000) -> tuple[str, StrictChargePoint, int]:
    """A 1.6 pile charging on connector 1 with one sample acknowledged (start 10 000 Wh)."""
    cp = await server.builders.charge_point()
    tag = await server.builders.id_tag()
    pile = await StrictChargePoint.connect(server.ocpp_url(cp.id))
    await pile.boot()
    await pile.status(1, "Preparing")
    tx = (await pile.start(1, tag, 10_000))["transactionId"]
    await pile.status(1, "Charging")
    await pile.meter(1, tx, energy_wh=energy_wh, power_w=60_000)
    return cp.id, pile, tx


async def rule_events(charge_point_id: str) -> list[dict]:
    return [e.payload for e in await ChargePointEvent.filter(charge_point_id=charge_point_id,
                                                             kind="SessionClosedByRule")]


async def test_a_quiet_session_on_an_available_connector_is_closed_stale_with_an_event(server):
    # given: the car left, the pile said Available, and never stopped the transaction
    cp_id, pile, tx = await charging_pile(server)
    await pile.status(1, "Available")

    # when: the stale time has passed
    await server.services.charging.close_stale(STALE_S, now=later())

    # then: closed by the rule, with the energy last known, and an event that says why
    session = await ChargingSession.get(id=tx)
    assert (session.status, session.stop_reason, session.energy_wh, session.meter_stop_wh, session.phase) == (
        SessionStatus.COMPLETED, "StaleClosed", 2_000, 12_000, ChargingPhase.ENDED)
    assert session.stopped_at == session.last_sample_at
    events = await rule_events(cp_id)
    assert len(events) == 1
    assert (events[0]["sessionId"], events[0]["reason"], events[0]["staleAfterS"]) == (tx, "StaleClosed", STALE_S)
    await pile.close()


async def test_a_quiet_session_is_left_open_before_the_stale_time_or_while_its_connector_charges(server):
    # given: one session on a connector still reported Charging, one quiet on an Available connector
    charging_id, charging, charging_tx = await charging_pile(server)
    idle_id, idle, idle_tx = await charging_pile(server)
    await idle.status(1, "Available")

    # when: the sweep runs before the stale time, and long after it
    await server.services.charging.close_stale(STALE_S, now=later(11))
    early = await ChargingSession.get(id=idle_tx)
    await server.services.charging.close_stale(STALE_S, now=later(48))

    # then: nothing closed early; later only the session whose connector is free
    assert early.status == SessionStatus.ACTIVE
    assert (await ChargingSession.get(id=charging_tx)).status == SessionStatus.ACTIVE
    assert (await ChargingSession.get(id=idle_tx)).stop_reason == "StaleClosed"
    assert await rule_events(charging_id) == []
    await charging.stop(charging_tx, 12_500)
    for pile in (charging, idle):
        await pile.close()


async def test_a_pile_that_rebooted_without_the_transaction_has_it_closed_as_rebooted(server):
    # given: the pile rebooted after the session's last sample and reported nothing of it since
    cp_id, pile, tx = await charging_pile(server)
    await pile.close()
    pile = await StrictChargePoint.connect(server.ocpp_url(cp_id))
    await pile.boot()
    await pile.status(1, "Preparing")  # a car plugged in, no transaction running

    # when
    await server.services.charging.close_stale(STALE_S, now=later())

    # then
    session = await ChargingSession.get(id=tx)
    assert (session.status, session.stop_reason) == (SessionStatus.COMPLETED, "PileRebooted")
    assert [e["reason"] for e in await rule_events(cp_id)] == ["PileRebooted"]
    await pile.close()


async def test_a_pile_that_rebooted_and_reports_the_connector_charging_keeps_its_session(server):
    # given: the pile rebooted and says the connector is charging (it resumed the transaction)
    cp_id, pile, tx = await charging_pile(server)
    await pile.boot()
    await pile.status(1, "Charging")

    # when
    await server.services.charging.close_stale(STALE_S, now=later())

    # then
    assert (await ChargingSession.get(id=tx)).status == SessionStatus.ACTIVE
    await pile.stop(tx, 12_100)
    await pile.close()


async def test_sweeps_running_at_once_close_each_session_once(server):
    # given: quiet sessions on free connectors
    piles = [await charging_pile(server) for _ in range(3)]
    for _, pile, _ in piles:
        await pile.status(1, "Available")

    # when: three sweeps (three nodes) run at the same moment
    await asyncio.gather(*(server.services.charging.close_stale(STALE_S, now=later()) for _ in range(3)))

    # then: each session closed once: one event, one ENDED phase
    for cp_id, pile, tx in piles:
        assert (await ChargingSession.get(id=tx)).stop_reason == "StaleClosed"
        assert len(await rule_events(cp_id)) == 1
        assert await SessionPhaseChange.filter(session_id=tx, phase=ChargingPhase.ENDED).count() == 1
        await pile.close()


async def test_a_sample_stored_after_the_sweep_read_the_session_keeps_it_open(server):
    # given: the sweep has read a quiet session as a candidate
    cp_id, pile, tx = await charging_pile(server)
    await pile.status(1, "Available")
    read = next(s for s in await repository.silent_sessions(later()) if s.id == tx)

    # when: a sample arrives before the sweep closes it
    await pile.meter(1, tx, energy_wh=12_300, power_w=50_000, timestamp=now())
    closed = await server.services.charging._close_silent(read, "StaleClosed", read.created_at, STALE_S)

    # then: the conditional close finds the session changed and leaves it open
    assert closed is False
    session = await ChargingSession.get(id=tx)
    assert (session.status, session.energy_wh) == (SessionStatus.ACTIVE, 2_300)
    assert await rule_events(cp_id) == []
    await pile.stop(tx, 12_400)
    await pile.close()
