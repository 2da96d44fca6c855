"""The stale rule runs on our clock, not the pile's.

A pile's clock is untrusted (DESIGN §4): one that runs hours behind stamps every report hours in the past,
one that runs ahead has its times clamped to when we received them. The sweep decides "silent" on
``last_heard_at``, when we last received anything of the session, so neither kind is closed early or kept
forever; the session is still closed as of its last sample, on the pile's own timeline. The sweep is called
with a ``now`` hours ahead, as the running node's sweep would see it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from api.charging import repository
from api.models import ChargePointEvent, ChargingSession
from api.models.enums import SessionStatus
from tests.support.cp_client import StrictChargePoint
from tests.support.cp_client_v201 import StrictChargingStation, sampled_values

STALE_S = 12 * 3600


def pile_time(skew_h: float, after_s: float = 0) -> str:
    """What a pile whose clock is ``skew_h`` hours off says the time is."""
    at = datetime.now(UTC) + timedelta(hours=skew_h, seconds=after_s)
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def later(hours: float) -> datetime:
    return datetime.now(UTC) + timedelta(hours=hours)


async def skewed_pile(server, skew_h: float) -> tuple[str, StrictChargePoint, int]:
    """A 1.6 pile ``skew_h`` hours off, one sample acknowledged (10 000 -> 12 000 Wh), connector now Available."""
    cp = await server.builders.charge_point()
    tag = await server.builders.id_tag()
    pile = await StrictChargePoint.connect(server.ocpp_url(cp.id))
    await pile.boot()
    started = await pile.call("StartTransaction", {
        "connectorId": 1, "idTag": tag, "meterStart": 10_000, "timestamp": pile_time(skew_h)})
    tx = started["transactionId"]
    await pile.meter(1, tx, energy_wh=12_000, power_w=60_000, timestamp=pile_time(skew_h, 60))
    await pile.call("StatusNotification", {
        "connectorId": 1, "errorCode": "NoError", "status": "Available", "timestamp": pile_time(skew_h, 90)})
    return cp.id, pile, tx


async def test_a_pile_hours_behind_is_not_closed_early_and_is_closed_at_its_last_sample(server):
    # given: a pile 8 hours behind, so its last sample looks 8 hours old at once
    cp_id, pile, tx = await skewed_pile(server, -8)

    # when: the sweep runs 11 hours on (19 by the pile's times), then 13 hours on
    await server.services.charging.close_stale(STALE_S, now=later(11))
    early = await ChargingSession.get(id=tx)
    await server.services.charging.close_stale(STALE_S, now=later(13))

    # then: open before our stale time; closed after it, as of the pile's last sample
    assert early.status == SessionStatus.ACTIVE
    session = await ChargingSession.get(id=tx)
    assert (session.status, session.stop_reason, session.energy_wh) == (SessionStatus.COMPLETED, "StaleClosed", 2_000)
    assert session.stopped_at == session.last_sample_at
    assert session.stopped_at < datetime.now(UTC) - timedelta(hours=7)
    event = (await ChargePointEvent.get(charge_point_id=cp_id, kind="SessionClosedByRule")).payload
    assert event["lastHeardAt"] == session.last_sample_at.isoformat()
    assert event["lastReceivedAt"] == session.last_heard_at.isoformat()
    await pile.close()


async def test_a_pile_hours_ahead_is_not_kept_forever(server):
    # given: a pile 8 hours ahead (its times are clamped to when we received them)
    _, pile, tx = await skewed_pile(server, 8)

    # when
    await server.services.charging.close_stale(STALE_S, now=later(11))
    early = await ChargingSession.get(id=tx)
    await server.services.charging.close_stale(STALE_S, now=later(13))

    # then
    assert early.status == SessionStatus.ACTIVE
    assert (await ChargingSession.get(id=tx)).stop_reason == "StaleClosed"
    await pile.close()


async def test_every_transaction_message_of_a_pile_hours_behind_counts_as_heard(server):
    # given: a 2.0.1 pile 20 hours behind, whose transaction began (by its clock) a day ago
    cp = await server.builders.charge_point()
    tag = await server.builders.id_tag()
    station = await StrictChargingStation.connect(server.ocpp_url(cp.id))
    await station.boot()
    meter = [{"timestamp": pile_time(-20), "sampledValue": sampled_values(energy_wh=5_000)}]
    await station.transaction("Started", "tx-behind", 0, "Authorized", evse=1, connector=1,
                              id_token={"idToken": tag, "type": "ISO14443"}, meter=meter, timestamp=pile_time(-20))
    await station.call("StatusNotification", {
        "timestamp": pile_time(-20, 5), "connectorStatus": "Available", "evseId": 1, "connectorId": 1})
    session = await ChargingSession.get(charge_point_id=cp.id, pile_transaction_id="tx-behind")
    opened_heard = session.last_heard_at

    # when: the sweep reads it as a candidate an hour later than the stale time, then an Updated arrives
    # (no sample, no new charging state) before the sweep closes it
    read = next(s for s in await repository.silent_sessions(later(13)) if s.id == session.id)
    await station.transaction("Updated", "tx-behind", 1, "Trigger", timestamp=pile_time(-20, 30))
    closed = await server.services.charging._close_silent(read, "StaleClosed", read.created_at, STALE_S)
    await server.services.charging.close_stale(STALE_S, now=later(11))

    # then: the message moved last_heard_at, so neither the conditional close nor a sweep closes it
    assert closed is False
    session = await ChargingSession.get(id=session.id)
    assert session.status == SessionStatus.ACTIVE
    assert session.last_heard_at > opened_heard
    await station.transaction("Ended", "tx-behind", 2, "StopAuthorized", stopped_reason="Local",
                              timestamp=pile_time(-20, 60))
    ended = await ChargingSession.get(id=session.id)
    assert (ended.status, ended.stop_reason) == (SessionStatus.COMPLETED, "Local")
    await station.close()


async def test_stop_and_data_transfer_of_a_session_count_as_heard(server):
    # given: a 1.6 pile 8 hours behind with a session opened an hour ago by our clock
    _, pile, tx = await skewed_pile(server, -8)
    await ChargingSession.filter(id=tx).update(last_heard_at=datetime.now(UTC) - timedelta(hours=1))

    # when: a BMS message of the session arrives
    answer = await pile.call("DataTransfer", {
        "vendorId": "GBT", "messageId": "BCL", "data": f'{{"connectorId": 1, "transactionId": {tx}}}'})

    # then: heard now, so a sweep 11.5 hours on leaves it open
    assert answer["status"] == "Accepted"
    heard = (await ChargingSession.get(id=tx)).last_heard_at
    assert datetime.now(UTC) - heard < timedelta(minutes=1)
    await server.services.charging.close_stale(STALE_S, now=later(11.5))
    assert (await ChargingSession.get(id=tx)).status == SessionStatus.ACTIVE

    # when: the pile stops it
    await ChargingSession.filter(id=tx).update(last_heard_at=datetime.now(UTC) - timedelta(hours=1))
    await pile.call("StopTransaction", {"transactionId": tx, "meterStop": 12_500, "timestamp": pile_time(-8, 120),
                                        "reason": "Local"})

    # then
    stopped = await ChargingSession.get(id=tx)
    assert (stopped.status, stopped.stop_reason) == (SessionStatus.COMPLETED, "Local")
    assert datetime.now(UTC) - stopped.last_heard_at < timedelta(minutes=1)
    await pile.close()


async def test_a_pile_hours_behind_that_reports_charging_after_its_reboot_keeps_its_session(server):
    # given: a pile 8 hours behind reboots mid-session, then only says its connector is Charging again
    _, pile, tx = await skewed_pile(server, -8)
    await pile.boot()
    await pile.call("StatusNotification", {
        "connectorId": 1, "errorCode": "NoError", "status": "Charging", "timestamp": pile_time(-8, 120)})

    # when: the sweep runs after our stale time
    await server.services.charging.close_stale(STALE_S, now=later(13))

    # then: the report came after the boot on our clock (by the pile's, 8 hours before it), so the session is
    # neither "rebooted away" nor stale: a connector reported charging keeps its session
    assert (await ChargingSession.get(id=tx)).status == SessionStatus.ACTIVE
    await pile.close()
