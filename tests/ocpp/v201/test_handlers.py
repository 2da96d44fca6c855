"""OCPP 2.0.1 handlers against the real server: boot, status, authorization, whole transactions told by
TransactionEvent (late, with gaps, twice), meter values, and what a pile reports outside sessions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from api.models import ChargePointEvent, ChargingSession, MeterSample, SessionPhaseChange
from api.models.enums import ChargingPhase, ConnectorStatus, ConnectorType, SessionStatus
from tests.support.cp_client_v201 import StrictChargingStation, sampled_values


def iso(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def meter(at: datetime, **values: float | str | None) -> list[dict]:
    context = values.pop("context", None)
    return [{"timestamp": iso(at), "sampledValue": sampled_values(context=context, **values)}]  # type: ignore[arg-type]


async def connected(server, **pile):
    cp = await server.builders.charge_point(**pile)
    client = await StrictChargingStation.connect(server.ocpp_url(cp.id))
    await client.boot()
    return cp, client


async def test_boot_heartbeat_and_status_are_stored(server):
    # given
    cp = await server.builders.charge_point()
    client = await StrictChargingStation.connect(server.ocpp_url(cp.id))

    # when
    boot = await client.boot()
    heartbeat = await client.call("Heartbeat", {})
    await client.status(1, "Available")
    await client.status(2, "Faulted")
    await client.status(2, "Occupied", connector_id=2)

    # then
    assert client.ws.subprotocol == "ocpp2.0.1"
    assert boot["status"] == "Accepted" and boot["interval"] == 300
    assert heartbeat["currentTime"].endswith("Z")
    stored = await server.services.charge_points.get(cp.id)
    assert (stored.vendor, stored.model, stored.serial_number, stored.firmware_version, stored.iccid) == (
        "TestVendor", "DC120-2", "SN-201", "2.0.1-a", "8986001"
    )
    assert stored.protocol == "ocpp2.0.1"
    assert (await server.services.charge_points.connector(cp.id, 1)).status == ConnectorStatus.AVAILABLE
    faulted = await server.services.charge_points.connector(cp.id, 2)
    assert (faulted.status, faulted.error_code) == (ConnectorStatus.FAULTED, "OtherError")
    # a second connector of EVSE 2 is connector 202
    assert (await server.services.charge_points.connector(cp.id, 202)).status == ConnectorStatus.PREPARING
    await client.close()


async def test_authorize_follows_cards_vins_and_token_types(server):
    # given
    cp, client = await connected(server)
    card = await server.builders.id_tag()
    vin = await server.builders.vehicle()
    blocked = await server.builders.id_tag()
    admin = await server.services.access.viewer_from_token(server.admin_token)
    await server.services.access.block_id_tag(admin, blocked, "lost")

    # when
    answers = {
        kind: (await client.authorize(card, kind))["idTokenInfo"]["status"]
        for kind in ("ISO14443", "ISO15693", "KeyCode", "Local", "Central", "eMAID", "MacAddress")
    }
    by_vin = await client.authorize(vin, "Local")
    unknown_vin = await client.authorize("LZZZZZZZZZZZZZZZ6", "Local")
    blocked_card = await client.authorize(blocked)
    no_authorization = await client.authorize("", "NoAuthorization")

    # then
    assert set(answers.values()) == {"Accepted"}
    assert by_vin["idTokenInfo"]["status"] == "Accepted"
    assert unknown_vin["idTokenInfo"]["status"] == "Invalid"
    assert blocked_card["idTokenInfo"]["status"] == "Blocked"
    assert no_authorization["idTokenInfo"]["status"] == "Invalid"
    await client.close()


async def test_whole_dc_transaction_with_charging_states_samples_and_phases(server):
    # given: a DC pile; the car plugs in before anyone is authorized (TxStartPoint EVConnected)
    cp, client = await connected(server)
    tag = await server.builders.id_tag()
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    await client.status(1, "Occupied")

    # when
    started = await client.transaction(
        "Started", "TX-A1", 0, "CablePluggedIn", charging_state="EVConnected", evse=1, connector=1,
        meter=meter(t0, energy_wh=1_000_000, context="Transaction.Begin"), timestamp=iso(t0))
    authorized = await client.transaction(
        "Updated", "TX-A1", 1, "Authorized", id_token={"idToken": tag, "type": "ISO14443"},
        timestamp=iso(t0 + timedelta(seconds=5)))
    after_auth = await server.services.charging.find_pile_transaction(cp.id, "TX-A1")
    await client.transaction("Updated", "TX-A1", 2, "ChargingStateChanged", charging_state="Charging",
                             timestamp=iso(t0 + timedelta(seconds=20)))
    charging = await server.services.charge_points.connector(cp.id, 1)
    for i in range(1, 5):
        await client.transaction(
            "Updated", "TX-A1", 2 + i, "MeterValuePeriodic", timestamp=iso(t0 + timedelta(seconds=20 + 30 * i)),
            meter=meter(t0 + timedelta(seconds=20 + 30 * i), energy_wh=1_000_000 + 500 * i, power_w=60_000 + i,
                        current_a=120.5, voltage_v=498.0, soc=40 + i))
    await client.transaction("Updated", "TX-A1", 7, "ChargingStateChanged", charging_state="SuspendedEV",
                             timestamp=iso(t0 + timedelta(seconds=200)))
    suspended = await server.services.charge_points.connector(cp.id, 1)
    ended = await client.transaction(
        "Ended", "TX-A1", 8, "StopAuthorized", charging_state="EVConnected", stopped_reason="Local",
        id_token={"idToken": tag, "type": "ISO14443"}, timestamp=iso(t0 + timedelta(seconds=210)),
        meter=meter(t0 + timedelta(seconds=210), energy_wh=1_002_100, context="Transaction.End"))
    finishing = await server.services.charge_points.connector(cp.id, 1)
    await client.status(1, "Available")

    # then
    assert started == {}  # no token in the report, so no idTokenInfo
    assert authorized["idTokenInfo"]["status"] == "Accepted"
    assert ended["idTokenInfo"]["status"] == "Accepted"
    assert (after_auth.id_tag, after_auth.id_tag_status) == (tag, "accepted")
    assert (charging.status, suspended.status, finishing.status) == (
        ConnectorStatus.CHARGING, ConnectorStatus.SUSPENDED_EV, ConnectorStatus.FINISHING
    )
    assert (await server.services.charge_points.connector(cp.id, 1)).status == ConnectorStatus.AVAILABLE
    session = await ChargingSession.get(charge_point_id=cp.id, pile_transaction_id="TX-A1")
    assert session.status == SessionStatus.COMPLETED
    assert session.started_at == t0 and session.stopped_at == t0 + timedelta(seconds=210)
    assert (session.meter_start_wh, session.meter_stop_wh, session.energy_wh) == (1_000_000, 1_002_100, 2_100)
    assert (session.soc_start_pct, session.soc_end_pct, session.max_power_w) == (41, 44, 60_004)
    assert session.stop_reason == "Local" and session.stop_id_tag == tag
    phases = await SessionPhaseChange.filter(session_id=session.id).order_by("at", "id").values_list("phase", "source")
    assert phases == [
        (ChargingPhase.HANDSHAKE, "transaction"),
        (ChargingPhase.CHARGING, "status"),
        (ChargingPhase.ENDING, "transaction"),
        (ChargingPhase.ENDED, "transaction"),
    ]
    samples = await MeterSample.filter(session_id=session.id).order_by("ts").values_list(
        "connector_no", "context", "energy_wh", "power_w", "current_ma", "voltage_mv", "soc_pct")
    assert samples[0] == (1, "Transaction.Begin", 1_000_000, None, None, None, None)
    assert samples[1] == (1, "Sample.Periodic", 1_000_500, 60_001, 120_500, 498_000, 41)
    assert samples[-1] == (1, "Transaction.End", 1_002_100, None, None, None, None)
    assert len(samples) == 6
    await client.close()


async def test_offline_replay_with_a_gap_and_a_retransmission_is_one_session(server):
    # given: a session the pile started while we heard it
    cp, client = await connected(server)
    tag = await server.builders.id_tag()
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    token = {"idToken": tag, "type": "ISO14443"}
    await client.transaction("Started", "TX-B1", 0, "Authorized", charging_state="Charging", evse=2,
                             id_token=token, timestamp=iso(t0),
                             meter=meter(t0, energy_wh=5_000, context="Transaction.Begin"))

    # when: the link drops; seqNo 1-2 are lost, 3-5 arrive late (offline), 4 twice, then a late Ended
    for seq in (3, 4, 4, 5):
        at = t0 + timedelta(minutes=10 * seq)
        await client.transaction("Updated", "TX-B1", seq, "MeterValuePeriodic", offline=True, evse=2,
                                 timestamp=iso(at), meter=meter(at, energy_wh=5_000 + 1_000 * seq, power_w=7_000))
    await client.transaction("Ended", "TX-B1", 6, "EVDeparted", charging_state="Idle", offline=True,
                             stopped_reason="EVDisconnected", timestamp=iso(t0 + timedelta(minutes=55)),
                             meter=meter(t0 + timedelta(minutes=55), energy_wh=10_500, context="Transaction.End"))
    again = await client.transaction("Ended", "TX-B1", 6, "EVDeparted", charging_state="Idle", offline=True,
                                     stopped_reason="EVDisconnected", timestamp=iso(t0 + timedelta(minutes=55)),
                                     meter=meter(t0 + timedelta(minutes=55), energy_wh=10_500,
                                                 context="Transaction.End"))

    # then
    sessions = await ChargingSession.filter(charge_point_id=cp.id)
    assert len(sessions) == 1
    session = sessions[0]
    connector = await server.services.charge_points.connector(cp.id, 2)
    assert session.connector_id == connector.id
    assert connector.status == ConnectorStatus.AVAILABLE  # it was charging; the car has left
    assert (session.status, session.stop_reason) == (SessionStatus.COMPLETED, "EVDisconnected")
    assert (session.meter_start_wh, session.meter_stop_wh, session.energy_wh) == (5_000, 10_500, 5_500)
    assert session.stopped_at == t0 + timedelta(minutes=55)
    assert await MeterSample.filter(session_id=session.id).count() == 5  # begin, 3, 4, 5, end
    assert again == {}
    await client.close()


async def test_reports_before_the_start_open_the_session_and_the_late_start_corrects_it(server):
    # given: the pile's Started was lost; the first thing we hear is an Updated after an outage
    cp, client = await connected(server)
    tag = await server.builders.id_tag()
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)

    # when
    await client.transaction("Updated", "TX-C1", 4, "MeterValuePeriodic", evse=1, offline=True,
                             timestamp=iso(t0 + timedelta(minutes=20)),
                             meter=meter(t0 + timedelta(minutes=20), energy_wh=20_000, power_w=50_000))
    opened = await ChargingSession.get(charge_point_id=cp.id, pile_transaction_id="TX-C1")
    await client.transaction("Started", "TX-C1", 0, "Authorized", evse=1, id_token={"idToken": tag, "type": "Local"},
                             timestamp=iso(t0), meter=meter(t0, energy_wh=12_000, context="Transaction.Begin"))
    await client.transaction("Ended", "TX-C1", 5, "RemoteStop", stopped_reason="Remote",
                             timestamp=iso(t0 + timedelta(minutes=30)))

    # then
    assert (opened.started_at, opened.meter_start_wh, opened.id_tag) == (t0 + timedelta(minutes=20), 20_000, "")
    session = await ChargingSession.get(id=opened.id)
    assert (session.started_at, session.meter_start_wh, session.id_tag) == (t0, 12_000, tag)
    # no stop reading in the Ended: the latest stored register is the stop reading
    assert (session.status, session.stop_reason, session.meter_stop_wh) == (SessionStatus.COMPLETED, "Remote", 20_000)
    assert session.energy_wh == 8_000
    assert await ChargingSession.filter(charge_point_id=cp.id).count() == 1
    await client.close()


async def test_vin_token_and_vin_beside_a_card_are_recorded_on_the_session(server):
    # given
    cp, client = await connected(server)
    vin = await server.builders.vehicle()
    card = await server.builders.id_tag()

    # when: one car starts by its VIN (type Local), another by a card with its VIN in additionalInfo
    by_vin = await client.transaction("Started", "TX-V1", 0, "Authorized", evse=1,
                                      id_token={"idToken": vin, "type": "Local"})
    beside = await client.transaction("Started", "TX-V2", 0, "Authorized", evse=2, id_token={
        "idToken": card, "type": "ISO14443",
        "additionalInfo": [{"additionalIdToken": "LSVAU2180N2183294", "type": "VIN"}]})

    # then
    assert by_vin["idTokenInfo"]["status"] == "Accepted" and beside["idTokenInfo"]["status"] == "Accepted"
    first = await ChargingSession.get(charge_point_id=cp.id, pile_transaction_id="TX-V1")
    second = await ChargingSession.get(charge_point_id=cp.id, pile_transaction_id="TX-V2")
    assert (first.id_tag, first.vin) == (vin, vin) and first.vehicle_id is not None
    assert (second.id_tag, second.vin) == (card, "LSVAU2180N2183294") and second.vehicle_id is not None
    await client.close()


async def test_a_transaction_authorized_before_plug_in_moves_to_the_evse_that_is_named(server):
    # given: a two-EVSE pile; the driver badges before plugging in, so the Started names no EVSE
    cp, client = await connected(server)
    tag = await server.builders.id_tag()

    # when
    await client.transaction("Started", "TX-D1", 0, "Authorized", charging_state="Idle",
                             id_token={"idToken": tag, "type": "ISO14443"})
    before = await ChargingSession.get(charge_point_id=cp.id, pile_transaction_id="TX-D1")
    await client.transaction("Updated", "TX-D1", 1, "CablePluggedIn", charging_state="EVConnected", evse=2,
                             connector=1)

    # then
    after = await ChargingSession.get(id=before.id)
    assert before.connector_id == (await server.services.charge_points.connector(cp.id, 1)).id
    assert after.connector_id == (await server.services.charge_points.connector(cp.id, 2)).id
    await client.close()


async def test_meter_values_outside_transactions_and_three_phases(server):
    # given: an AC pile with a running transaction on EVSE 1
    cp, client = await connected(server, connectors=[(ConnectorType.TYPE2, 22_000)])
    tag = await server.builders.id_tag()
    await client.transaction("Started", "TX-E1", 0, "Authorized", charging_state="Charging", evse=1,
                             id_token={"idToken": tag, "type": "ISO14443"},
                             meter=meter(datetime.now(UTC), energy_wh=100, context="Transaction.Begin"))
    at = iso(datetime.now(UTC))

    # when: MeterValues (not a TransactionEvent), in kWh with a multiplier, per phase
    await client.call("MeterValues", {"evseId": 1, "meterValue": [{"timestamp": at, "sampledValue": [
        {"value": 1.234, "measurand": "Energy.Active.Import.Register", "unitOfMeasure": {"unit": "kWh"}},
        {"value": 215, "measurand": "Power.Active.Import", "unitOfMeasure": {"unit": "W", "multiplier": 2}},
        {"value": 31.9, "measurand": "Current.Import", "phase": "L1", "unitOfMeasure": {"unit": "A"}},
        {"value": 32.4, "measurand": "Current.Import", "phase": "L2", "unitOfMeasure": {"unit": "A"}},
        {"value": 230.1, "measurand": "Voltage", "phase": "L1-N", "unitOfMeasure": {"unit": "V"}},
        {"value": 229.9, "measurand": "Voltage", "phase": "L2-N", "unitOfMeasure": {"unit": "V"}},
        {"value": 49.98, "measurand": "Frequency"},
    ]}]})
    await client.call("MeterValues", {"evseId": 0, "meterValue": [{"timestamp": at, "sampledValue": [
        {"value": 99_000, "measurand": "Energy.Active.Import.Register"}]}]})

    # then
    session = await ChargingSession.get(charge_point_id=cp.id, pile_transaction_id="TX-E1")
    row = await MeterSample.get(session_id=session.id, context="Sample.Periodic")
    assert (row.energy_wh, row.power_w, row.current_ma, row.voltage_mv) == (1_234, 21_500, 32_400, 230_000)
    assert row.extra["Frequency"] == {"value": 49.98, "unit": None}
    assert session.energy_wh == 1_134
    main_meter = await MeterSample.get(charge_point_id=cp.id, connector_no=0)
    assert main_meter.session_id is None and main_meter.energy_wh == 99_000
    await client.close()


async def test_status_reports_outside_sessions_are_kept_as_events(server):
    # given
    cp, client = await connected(server)

    # when
    await client.call("FirmwareStatusNotification", {"status": "InstallScheduled", "requestId": 7})
    await client.call("LogStatusNotification", {"status": "UploadFailure", "requestId": 8})
    await client.call("SecurityEventNotification", {"type": "InvalidCsmsCertificate", "timestamp": iso(
        datetime.now(UTC)), "techInfo": "cert expired"})
    await client.call("NotifyEvent", {"generatedAt": iso(datetime.now(UTC)), "seqNo": 0, "eventData": [{
        "eventId": 1, "timestamp": iso(datetime.now(UTC)), "trigger": "Delta", "actualValue": "85",
        "eventNotificationType": "HardWiredNotification", "component": {"name": "EVSE", "evse": {"id": 1}},
        "variable": {"name": "Temperature"}}]})
    await client.call("ReservationStatusUpdate", {"reservationId": 3, "reservationUpdateStatus": "Expired"})

    # then
    events = {e.kind: e.payload for e in await ChargePointEvent.filter(charge_point_id=cp.id)}
    assert events["FirmwareStatusNotification"] == {"status": "Installing", "ocppStatus": "InstallScheduled",
                                                    "requestId": 7}
    assert events["DiagnosticsStatusNotification"] == {"status": "UploadFailed", "ocppStatus": "UploadFailure",
                                                       "requestId": 8}
    assert events["SecurityEventNotification"]["type"] == "InvalidCsmsCertificate"
    assert events["NotifyEvent"]["eventData"][0]["component"] == {"name": "EVSE", "evse": {"id": 1}}
    assert events["NotifyEvent"]["eventData"][0]["actualValue"] == "85"
    assert events["ReservationStatusUpdate"] == {"reservationId": 3, "status": "Expired"}
    stored = await server.services.charge_points.get(cp.id)
    assert (stored.firmware_status, stored.diagnostics_status) == ("Installing", "UploadFailed")
    await client.close()


async def test_gbt_messages_by_data_transfer_name_the_pile_transaction(server):
    # given
    cp, client = await connected(server)
    tag = await server.builders.id_tag()
    await client.transaction("Started", "TX-G1", 0, "Authorized", evse=1, id_token={"idToken": tag, "type": "ISO14443"})

    # when
    bcp = await client.call("DataTransfer", {"vendorId": "ChargeOps", "messageId": "BCP",
                                             "data": {"transactionId": "TX-G1", "vin": "LSVAU2180N2183295"}})
    unknown = await client.call("DataTransfer", {"vendorId": "ChargeOps", "messageId": "BRM",
                                                 "data": {"transactionId": "NOPE"}})
    other = await client.call("DataTransfer", {"vendorId": "ChargeOps", "messageId": "Weather"})

    # then
    assert bcp == {"status": "Accepted"}
    assert unknown == {"status": "Rejected", "data": "no matching session"}
    assert other == {"status": "UnknownMessageId"}
    session = await ChargingSession.get(charge_point_id=cp.id, pile_transaction_id="TX-G1")
    assert (session.phase, session.vin) == (ChargingPhase.CONFIGURATION, "LSVAU2180N2183295")
    await client.close()
