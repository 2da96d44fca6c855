"""Transactions reported late, after the pile's link came back, merge into the right session, once.

1.6: a pile loses its link mid-session, charges on offline, reconnects (rebooted or not) and sends the
StopTransaction it kept, with the samples of the outage as ``transactionData``. 2.0.1: the pile sends the
TransactionEvents it kept (``offline``), in any order and some twice, on its new socket. And when our sweep
closed such a session before the pile's own stop came (``StaleClosed``, ``PileRebooted``), the pile's late stop
replaces our figures with its own, once, and says so in the pile's events.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from api.models import ChargePointEvent, ChargingSession, MeterSample
from api.models.enums import SessionStatus
from tests.support.cp_client import StrictChargePoint
from tests.support.cp_client_v201 import StrictChargingStation, sampled_values


def iso(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def minutes_ago(minutes: int) -> datetime:
    """A past instant in whole milliseconds (what OCPP timestamps carry)."""
    at = datetime.now(UTC) - timedelta(minutes=minutes)
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


def meter_value(at: datetime, energy_wh: int, context: str = "Sample.Periodic") -> dict:
    """A 1.6 MeterValue (MeterValues.meterValue and StopTransaction.transactionData share this shape)."""
    return {"timestamp": iso(at), "sampledValue": [
        {"value": str(energy_wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh", "context": context},
        {"value": "7000", "measurand": "Power.Active.Import", "unit": "W", "context": context},
    ]}


async def stored_energies(session_id: int) -> list[int]:
    return sorted(
        e for e in await MeterSample.filter(session_id=session_id).values_list("energy_wh", flat=True) if e is not None
    )


async def v16_session_cut_off(server, ago: int = 30) -> tuple[str, StrictChargePoint, int, datetime]:
    """A 1.6 pile charging since ``ago`` minutes, two samples acknowledged, whose link then drops."""
    cp = await server.builders.charge_point()
    tag = await server.builders.id_tag()
    pile = await StrictChargePoint.connect(server.ocpp_url(cp.id))
    await pile.boot()
    await pile.status(1, "Charging")
    began = minutes_ago(ago)
    tx = (await pile.call("StartTransaction", {"connectorId": 1, "idTag": tag, "meterStart": 10_000,
                                               "timestamp": iso(began)}))["transactionId"]
    for minute, energy in ((1, 10_500), (2, 11_000)):
        await pile.call("MeterValues", {"connectorId": 1, "transactionId": tx,
                                        "meterValue": [meter_value(began + timedelta(minutes=minute), energy)]})
    await pile.close()
    return cp.id, pile, tx, began


async def test_stop_after_an_outage_carries_its_samples_into_the_session_once(server):
    # given: a session whose pile lost its link after two acknowledged samples
    cp_id, _, tx, began = await v16_session_cut_off(server)

    # when: the pile reboots, reconnects, says the connector is free and sends the stop it kept, with the outage
    pile = await StrictChargePoint.connect(server.ocpp_url(cp_id))
    await pile.boot()
    await pile.status(1, "Available")
    outage = [meter_value(began + timedelta(minutes=m), e) for m, e in ((10, 11_500), (15, 12_000), (20, 12_400))]
    stop = {"transactionId": tx, "meterStop": 12_500, "timestamp": iso(began + timedelta(minutes=21)),
            "reason": "PowerLoss", "transactionData": outage}
    await pile.call("StopTransaction", stop)
    # and, not having read our answer before its link dropped again, sends it once more
    await pile.call("StopTransaction", stop)

    # then: one session, closed with the pile's figures, with every sample once
    assert await ChargingSession.filter(charge_point_id=cp_id).count() == 1
    session = await ChargingSession.get(id=tx)
    assert (session.status, session.meter_stop_wh, session.energy_wh, session.stop_reason) == (
        SessionStatus.COMPLETED, 12_500, 2_500, "PowerLoss")
    assert session.stopped_at == began + timedelta(minutes=21)
    assert await stored_energies(tx) == [10_500, 11_000, 11_500, 12_000, 12_400]
    await pile.close()


async def test_samples_kept_offline_then_sent_on_the_new_socket_join_the_running_session(server):
    # given
    cp_id, _, tx, began = await v16_session_cut_off(server)

    # when: the pile reconnects without rebooting and goes on with the same transaction
    pile = await StrictChargePoint.connect(server.ocpp_url(cp_id))
    for minute, energy in ((5, 11_200), (6, 11_300)):
        await pile.call("MeterValues", {"connectorId": 1, "transactionId": tx,
                                        "meterValue": [meter_value(began + timedelta(minutes=minute), energy)]})
    await pile.call("MeterValues", {"connectorId": 1, "transactionId": tx,  # a retransmission
                                    "meterValue": [meter_value(began + timedelta(minutes=6), 11_300)]})

    # then: the running session carries on with them
    session = await ChargingSession.get(id=tx)
    assert (session.status, session.energy_wh) == (SessionStatus.ACTIVE, 1_300)
    assert await stored_energies(tx) == [10_500, 11_000, 11_200, 11_300]
    await pile.stop(tx, 11_400)
    await pile.close()


async def test_late_stop_corrects_a_session_the_sweep_closed_and_says_so(server):
    # given: the pile rebooted and said its connector is free; the sweep closed the silent session
    cp_id, _, tx, began = await v16_session_cut_off(server)
    pile = await StrictChargePoint.connect(server.ocpp_url(cp_id))
    await pile.boot()
    await pile.status(1, "Available")
    await server.services.charging.close_stale(3600, now=datetime.now(UTC) + timedelta(hours=2))
    closed = await ChargingSession.get(id=tx)
    assert (closed.status, closed.energy_wh) == (SessionStatus.COMPLETED, 1_000)
    assert closed.stop_reason in ("StaleClosed", "PileRebooted")

    # when: the stop the pile kept arrives after all (twice)
    stop = {"transactionId": tx, "meterStop": 12_000, "timestamp": iso(began + timedelta(minutes=25)),
            "reason": "Reboot", "transactionData": [meter_value(began + timedelta(minutes=24), 11_900)]}
    await pile.call("StopTransaction", stop)
    await pile.call("StopTransaction", stop)

    # then: the session has the pile's figures, the correction is one event of the pile, no second session
    session = await ChargingSession.get(id=tx)
    assert (session.status, session.meter_stop_wh, session.energy_wh, session.stop_reason) == (
        SessionStatus.COMPLETED, 12_000, 2_000, "Reboot")
    assert await ChargingSession.filter(charge_point_id=cp_id).count() == 1
    assert await stored_energies(tx) == [10_500, 11_000, 11_900]
    corrections = await ChargePointEvent.filter(charge_point_id=cp_id, kind="LateTransactionStop")
    assert len(corrections) == 1
    assert corrections[0].payload["closedAs"] == closed.stop_reason
    assert (corrections[0].payload["closedWithEnergyWh"], corrections[0].payload["energyWh"]) == (1_000, 2_000)
    await pile.close()


async def test_a_stop_for_a_session_the_pile_itself_closed_changes_nothing(server):
    # given: a session the pile stopped itself
    cp_id, _, tx, began = await v16_session_cut_off(server)
    pile = await StrictChargePoint.connect(server.ocpp_url(cp_id))
    await pile.call("StopTransaction", {"transactionId": tx, "meterStop": 11_200, "reason": "EVDisconnected",
                                        "timestamp": iso(began + timedelta(minutes=3))})

    # when: a different stop for it arrives (a confused pile)
    await pile.call("StopTransaction", {"transactionId": tx, "meterStop": 99_000, "reason": "Other",
                                        "timestamp": iso(began + timedelta(minutes=9))})

    # then: the first stop stands
    session = await ChargingSession.get(id=tx)
    assert (session.meter_stop_wh, session.stop_reason) == (11_200, "EVDisconnected")
    assert not await ChargePointEvent.filter(charge_point_id=cp_id, kind="LateTransactionStop").exists()
    await pile.close()


def tx_meter(at: datetime, energy_wh: int, context: str) -> list[dict]:
    return [{"timestamp": iso(at), "sampledValue": sampled_values(energy_wh=energy_wh, context=context)}]


async def test_offline_transaction_events_on_a_new_socket_merge_in_any_order(server):
    # given: a 2.0.1 transaction begun online, whose link then drops
    cp = await server.builders.charge_point()
    tag = await server.builders.id_tag()
    station = await StrictChargingStation.connect(server.ocpp_url(cp.id))
    await station.boot()
    began = minutes_ago(30)
    token = {"idToken": tag, "type": "ISO14443"}
    await station.transaction("Started", "TX-LATE-1", 0, "Authorized", charging_state="Charging", evse=1,
                              id_token=token, timestamp=iso(began),
                              meter=tx_meter(began, 5_000, "Transaction.Begin"))
    await station.transaction("Updated", "TX-LATE-1", 1, "MeterValuePeriodic", charging_state="Charging",
                              timestamp=iso(began + timedelta(minutes=1)),
                              meter=tx_meter(began + timedelta(minutes=1), 5_500, "Sample.Periodic"))
    await station.close()

    # when: on its new socket the pile sends what it kept: the Ended first, then the updates, one twice
    station = await StrictChargingStation.connect(server.ocpp_url(cp.id))
    at = {n: began + timedelta(minutes=5 * n) for n in range(2, 5)}
    await station.transaction("Ended", "TX-LATE-1", 4, "EVDeparted", charging_state="Idle", offline=True,
                              stopped_reason="EVDisconnected", timestamp=iso(at[4]),
                              meter=tx_meter(at[4], 7_000, "Transaction.End"))
    for seq, energy in ((2, 6_000), (3, 6_500), (3, 6_500)):
        await station.transaction("Updated", "TX-LATE-1", seq, "MeterValuePeriodic", offline=True,
                                  timestamp=iso(at[seq]), meter=tx_meter(at[seq], energy, "Sample.Periodic"))

    # then: one session, closed by the Ended with its register, every sample once
    sessions = await ChargingSession.filter(charge_point_id=cp.id)
    assert len(sessions) == 1
    session = sessions[0]
    assert (session.status, session.meter_start_wh, session.meter_stop_wh, session.energy_wh, session.stop_reason) == (
        SessionStatus.COMPLETED, 5_000, 7_000, 2_000, "EVDisconnected")
    assert await stored_energies(session.id) == [5_000, 5_500, 6_000, 6_500, 7_000]
    await station.close()


async def test_a_late_ended_corrects_a_2_0_1_session_the_sweep_closed(server):
    # given: a 2.0.1 transaction the pile went quiet about, its EVSE reported Available, closed by the sweep
    cp = await server.builders.charge_point()
    station = await StrictChargingStation.connect(server.ocpp_url(cp.id))
    await station.boot()
    began = minutes_ago(40)
    await station.transaction("Started", "TX-LATE-2", 0, "CablePluggedIn", charging_state="EVConnected", evse=1,
                              timestamp=iso(began), meter=tx_meter(began, 1_000, "Transaction.Begin"))
    await station.transaction("Updated", "TX-LATE-2", 1, "MeterValuePeriodic", timestamp=iso(began),
                              meter=tx_meter(began + timedelta(minutes=1), 1_400, "Sample.Periodic"))
    await station.status(1, "Available")
    await server.services.charging.close_stale(3600, now=datetime.now(UTC) + timedelta(hours=2))
    session = (await ChargingSession.filter(charge_point_id=cp.id))[0]
    assert (session.status, session.stop_reason, session.energy_wh) == (SessionStatus.COMPLETED, "StaleClosed", 400)

    # when: the pile's kept events arrive: an update, then the Ended without a register
    await station.transaction("Updated", "TX-LATE-2", 2, "MeterValuePeriodic", offline=True,
                              timestamp=iso(began + timedelta(minutes=9)),
                              meter=tx_meter(began + timedelta(minutes=9), 2_100, "Sample.Periodic"))
    await station.transaction("Ended", "TX-LATE-2", 3, "EVDeparted", offline=True, stopped_reason="Local",
                              timestamp=iso(began + timedelta(minutes=10)))

    # then: the session ends as the pile says, with the latest register it sent
    session = await ChargingSession.get(id=session.id)
    assert (session.stop_reason, session.meter_stop_wh, session.energy_wh) == ("Local", 2_100, 1_100)
    assert await ChargingSession.filter(charge_point_id=cp.id).count() == 1
    assert await ChargePointEvent.filter(charge_point_id=cp.id, kind="LateTransactionStop").count() == 1
    await station.close()
