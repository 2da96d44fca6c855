"""OCPP 1.6J handlers against the real server: whole sessions, stored samples, phases, vehicles, retries."""

from __future__ import annotations

import json

from api.models import ChargePointEvent, ChargingSession, MeterSample, SessionPhaseChange
from api.models.enums import ChargingPhase, ConnectorStatus, ConnectorType, SessionStatus
from tests.support.cp_client import StrictChargePoint, now


async def test_boot_heartbeat_and_status_are_stored(server):
    # given
    cp = await server.builders.charge_point()
    client = await StrictChargePoint.connect(server.ocpp_url(cp.id))

    # when
    boot = await client.boot()
    await client.status(0, "Available")
    await client.status(2, "Faulted", error_code="GroundFailure")

    # then
    assert boot["status"] == "Accepted"
    assert boot["interval"] == 300
    stored = await server.services.charge_points.get(cp.id)
    assert (stored.vendor, stored.model, stored.serial_number, stored.firmware_version) == (
        "TestVendor", "DC120", "SN-1", "1.0.0"
    )
    assert stored.online is True
    assert stored.protocol == "ocpp1.6"
    assert stored.status == ConnectorStatus.AVAILABLE
    faulted = await server.services.charge_points.connector(cp.id, 2)
    assert (faulted.status, faulted.error_code) == (ConnectorStatus.FAULTED, "GroundFailure")
    await client.close()


async def test_whole_dc_session_with_vin_and_phases(server):
    # given
    cp = await server.builders.charge_point()
    vin = await server.builders.vehicle()
    client = await StrictChargePoint.connect(server.ocpp_url(cp.id))
    await client.boot()
    await client.status(1, "Preparing")
    brm = await client.call(
        "DataTransfer", {"vendorId": "ChargeOps", "messageId": "BRM", "data": json.dumps({"connectorId": 1})}
    )

    # when
    auth = await client.call("Authorize", {"idTag": vin})
    started = await client.start(1, vin, meter_start=1_000_000)
    tx = started["transactionId"]
    bcp = await client.call(
        "DataTransfer",
        {"vendorId": "ChargeOps", "messageId": "BCP", "data": json.dumps({"connectorId": 1, "transactionId": tx})},
    )
    await client.status(1, "Charging")
    for i in range(5):
        await client.meter(1, tx, energy_wh=1_000_000 + 500 * (i + 1), power_w=60_000 + i, soc=30 + i)
    await client.status(1, "Finishing")
    stopped = await client.stop(tx, meter_stop=1_003_000, reason="EVDisconnected", idTag=vin)

    # then
    assert brm == {"status": "Rejected", "data": "no matching session"}  # before StartTransaction there is none
    assert auth["idTagInfo"]["status"] == "Accepted"
    assert started["idTagInfo"]["status"] == "Accepted"
    assert bcp == {"status": "Accepted"}
    assert stopped["idTagInfo"]["status"] == "Accepted"
    session = await server.services.charging.get(tx)
    assert session.status == SessionStatus.COMPLETED
    assert session.vin == vin
    assert session.vehicle_id is not None
    assert (session.meter_start_wh, session.meter_stop_wh, session.energy_wh) == (1_000_000, 1_003_000, 3_000)
    assert (session.soc_start_pct, session.soc_end_pct) == (30, 34)
    assert session.max_power_w == 60_004
    assert session.stop_reason == "EVDisconnected"
    assert session.phase == ChargingPhase.ENDED
    phases = await SessionPhaseChange.filter(session_id=tx).order_by("at", "id").values_list("phase", "source")
    assert phases == [
        (ChargingPhase.HANDSHAKE, "transaction"),
        (ChargingPhase.CONFIGURATION, "data_transfer"),
        (ChargingPhase.CHARGING, "status"),
        (ChargingPhase.ENDING, "status"),
        (ChargingPhase.ENDED, "transaction"),
    ]
    samples = await MeterSample.filter(session_id=tx).order_by("ts").values_list("energy_wh", "power_w", "current_ma",
                                                                               "voltage_mv", "soc_pct")
    assert samples[0] == (1_000_500, 60_000, 100_000, 500_000, 30)
    assert len(samples) == 5
    await client.close()


async def test_ac_session_goes_straight_to_charging(server):
    # given
    cp = await server.builders.charge_point(connectors=[(ConnectorType.GBT_AC, 7_000)])
    tag = await server.builders.id_tag()
    client = await StrictChargePoint.connect(server.ocpp_url(cp.id))
    await client.boot()

    # when
    tx = (await client.start(1, tag, meter_start=0))["transactionId"]
    await client.stop(tx, meter_stop=7_000)

    # then
    phases = await SessionPhaseChange.filter(session_id=tx).order_by("id").values_list("phase", flat=True)
    assert phases == [ChargingPhase.CHARGING, ChargingPhase.ENDING, ChargingPhase.ENDED]
    await client.close()


async def test_unknown_and_blocked_tags(server):
    # given
    cp = await server.builders.charge_point()
    client = await StrictChargePoint.connect(server.ocpp_url(cp.id))

    # when
    unknown = await client.call("Authorize", {"idTag": "NOSUCHTAG"})
    unknown_vin = await client.call("Authorize", {"idTag": "LZZZZZZZZZZZZZZZ9"})

    # then
    assert unknown["idTagInfo"]["status"] == "Invalid"
    assert unknown_vin["idTagInfo"]["status"] == "Invalid"
    await client.close()


async def test_a_vin_seen_once_is_not_thereby_enrolled_for_vin_charging(server):
    # given: a pile that started an unknown car anyway (offline, or it lets everyone charge) and a car whose
    # BMS reported its VIN during a card session
    cp = await server.builders.charge_point()
    client = await StrictChargePoint.connect(server.ocpp_url(cp.id))
    await client.boot()
    stranger, reported = "LZZZZZZZZZZZZZZZ8", "LZZZZZZZZZZZZZZZ7"
    started = await client.start(1, stranger, meter_start=0)
    await client.stop(started["transactionId"], meter_stop=1_000)
    tx = (await client.start(2, await server.builders.id_tag(), meter_start=0))["transactionId"]
    brm = await client.call("DataTransfer", {"vendorId": "ChargeOps", "messageId": "BRM",
                                             "data": json.dumps({"transactionId": tx, "vin": reported})})
    assert brm["status"] == "Accepted"
    await client.stop(tx, meter_stop=1_000)

    # then: the sessions keep their VINs, but neither car may now start charging by its VIN alone
    assert started["idTagInfo"]["status"] == "Invalid"
    for vin in (stranger, reported):
        assert (await client.call("Authorize", {"idTag": vin}))["idTagInfo"]["status"] == "Invalid"
    assert (await ChargingSession.get(id=tx)).vin == reported
    await client.close()


async def test_retransmitted_start_and_meter_values_are_not_duplicated(server):
    # given
    cp = await server.builders.charge_point()
    tag = await server.builders.id_tag()
    client = await StrictChargePoint.connect(server.ocpp_url(cp.id))
    start = {"connectorId": 1, "idTag": tag, "meterStart": 10, "timestamp": "2026-11-24T01:00:00.000Z"}
    sample_time = "2026-11-24T01:00:05.000Z"

    # when: the pile did not see our answers and sends both again
    first = await client.call("StartTransaction", start)
    again = await client.call("StartTransaction", start)
    for _ in range(2):
        await client.meter(1, first["transactionId"], energy_wh=20, power_w=1000, timestamp=sample_time)

    # then
    assert again["transactionId"] == first["transactionId"]
    assert await MeterSample.filter(session_id=first["transactionId"]).count() == 1
    await client.close()


async def test_stop_of_unknown_or_foreign_transaction_is_accepted_and_changes_nothing(server):
    # given: a session on pile A
    tag = await server.builders.id_tag()
    pile_a = await server.builders.charge_point()
    pile_b = await server.builders.charge_point()
    a = await StrictChargePoint.connect(server.ocpp_url(pile_a.id))
    b = await StrictChargePoint.connect(server.ocpp_url(pile_b.id))
    tx = (await a.start(1, tag, meter_start=0))["transactionId"]

    # when: pile B stops A's transaction and an unknown one
    foreign = await b.stop(tx, meter_stop=999)
    unknown = await b.stop(987654321, meter_stop=1)

    # then
    assert foreign == {} and unknown == {}
    session = await server.services.charging.get(tx)
    assert session.status == SessionStatus.ACTIVE
    kinds = await ChargePointEvent.filter(charge_point_id=pile_b.id).values_list("kind", flat=True)
    assert kinds.count("UnknownTransactionStop") == 2
    await a.close()
    await b.close()


async def test_meter_values_without_transaction_id_attach_to_active_session(server):
    # given
    cp = await server.builders.charge_point()
    tag = await server.builders.id_tag()
    client = await StrictChargePoint.connect(server.ocpp_url(cp.id))
    tx = (await client.start(2, tag, meter_start=100))["transactionId"]

    # when
    await client.meter(2, None, energy_wh=600, power_w=7000)
    await client.meter(1, None, energy_wh=5, power_w=0)

    # then
    session = await server.services.charging.get(tx)
    assert session.energy_wh == 500
    orphan = await MeterSample.filter(charge_point_id=cp.id, connector_no=1).first()
    assert orphan is not None and orphan.session_id is None
    await client.close()


async def test_three_phase_values_and_units_are_normalised(server):
    # given
    cp = await server.builders.charge_point(connectors=[(ConnectorType.TYPE2, 22_000)])
    tag = await server.builders.id_tag()
    client = await StrictChargePoint.connect(server.ocpp_url(cp.id))
    tx = (await client.start(1, tag, meter_start=0))["transactionId"]
    ts = now()

    # when
    await client.call("MeterValues", {
        "connectorId": 1,
        "transactionId": tx,
        "meterValue": [{
            "timestamp": ts,
            "sampledValue": [
                {"value": "1.234", "measurand": "Energy.Active.Import.Register", "unit": "kWh",
                 "context": "Sample.Clock"},
                {"value": "21.5", "measurand": "Power.Active.Import", "unit": "kW", "context": "Sample.Clock"},
                {"value": "31.9", "measurand": "Current.Import", "phase": "L1", "unit": "A", "context": "Sample.Clock"},
                {"value": "32.4", "measurand": "Current.Import", "phase": "L2", "unit": "A", "context": "Sample.Clock"},
                {"value": "30.0", "measurand": "Current.Import", "phase": "L3", "unit": "A", "context": "Sample.Clock"},
                {"value": "230.1", "measurand": "Voltage", "phase": "L1-N", "unit": "V", "context": "Sample.Clock"},
                {"value": "229.9", "measurand": "Voltage", "phase": "L2-N", "unit": "V", "context": "Sample.Clock"},
                {"value": "231.0", "measurand": "Voltage", "phase": "L3-N", "unit": "V", "context": "Sample.Clock"},
                {"value": "302.15", "measurand": "Temperature", "unit": "K", "location": "Body",
                 "context": "Sample.Clock"},
                {"value": "49.98", "measurand": "Frequency", "context": "Sample.Clock"},
            ],
        }],
    })

    # then
    row = await MeterSample.get(session_id=tx)
    assert (row.context, row.energy_wh, row.power_w, row.current_ma, row.voltage_mv) == (
        "Sample.Clock", 1234, 21_500, 32_400, 230_333
    )
    assert row.temperature_decic == 290
    assert row.extra["Frequency"] == {"value": "49.98", "unit": None}
    assert row.extra["Current.Import@L2"] == {"value": "32.4", "unit": "A"}
    await client.close()
