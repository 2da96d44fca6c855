"""``run_simulation`` with OCPP 2.0.1 piles against the real server: whole DC and AC sessions told by
TransactionEvent land as the server stores them, mixed with 1.6 piles, and a 2.0.1 pile answers the
server's calls (remote start and stop, configuration report)."""

from __future__ import annotations

import asyncio

from api.charging.dto import SessionFilter
from api.models import ChargePoint, ChargingSession
from api.models.enums import ChargingPhase, ConnectorType, SessionStatus
from api.simulator.pile import Counters, Timing
from api.simulator.pile_v201 import SimulatedPileV201
from api.simulator.run import SimulationOptions, pile_specs, run_simulation
from tests.support.gql_client import data


async def registered(server, options: SimulationOptions):
    station = await server.builders.station()
    for spec in pile_specs(options):
        kind = (ConnectorType.GBT_DC, 120_000) if spec.dc else (ConnectorType.GBT_AC, 7_000)
        await server.builders.charge_point(station, [kind, kind], charge_point_id=spec.id)
    return station


async def test_a_201_dc_pile_and_a_16_ac_pile_run_whole_sessions_side_by_side(server):
    # given: DEMO-9008 (DC 120 kW) speaking 2.0.1 and DEMO-9009 (AC 7 kW) speaking 1.6
    options = SimulationOptions(
        url=f"{server.ws_url}/ocpp", piles=2, first=9008, time_scale=100_000, sample_interval_s=600,
        idle_s=(0.01, 0.02), sessions=1, duration_s=60, seed=5, ocpp=("2.0.1", "1.6"),
        id_tags=tuple([await server.builders.id_tag() for _ in range(3)]),
        vins=tuple([await server.builders.vehicle() for _ in range(3)]),
    )
    station = await registered(server, options)

    # when
    report = await run_simulation(options)

    # then: every connector did one whole session, each pile in its own protocol
    assert [(s.id, s.ocpp) for s in pile_specs(options)] == [("DEMO-9008", "2.0.1"), ("DEMO-9009", "1.6")]
    assert (await ChargePoint.get(id="DEMO-9008")).protocol == "ocpp2.0.1"
    assert (await ChargePoint.get(id="DEMO-9009")).protocol == "ocpp1.6"
    assert report.piles_booted == 2
    assert report.sessions_started == report.sessions_completed == 4
    assert report.call_errors == 0 and report.sessions_refused == 0
    sessions = await server.services.charging.history(SessionFilter(station_id=station.id), None, 10)
    assert len(sessions) == 4
    stored = 0
    for session in sessions:
        assert (session.status, session.phase) == (SessionStatus.COMPLETED, ChargingPhase.ENDED)
        assert session.energy_wh > 1_000
        assert session.stop_reason in ("EVDisconnected", "Local")
        stored += (await server.services.metering.trend(session)).sample_count
        if session.charge_point_id == "DEMO-9008":  # 2.0.1 DC: its own transaction ids, VIN, SoC, GB/T phases
            assert session.pile_transaction_id.startswith("DEMO-9008-")
            assert session.vin in options.vins
            assert session.soc_end_pct - session.soc_start_pct >= 20
            assert 40_000 <= session.max_power_w <= 120_000
            phases = [p.phase for p in await server.services.charging.phases([session.id])]
            assert phases == [ChargingPhase.HANDSHAKE, ChargingPhase.CONFIGURATION, ChargingPhase.CHARGING,
                              ChargingPhase.ENDING, ChargingPhase.ENDED]
            assert session.meter_stop_wh - session.meter_start_wh == session.energy_wh
        else:
            assert session.pile_transaction_id is None and session.soc_end_pct is None
    # periodic samples, plus one Transaction.End per session, plus one Transaction.Begin per 2.0.1 session
    assert stored == report.samples_sent + 4 + 2


async def test_a_201_pile_answers_remote_start_and_stop_and_reports_its_configuration(server):
    # given: one 2.0.1 AC pile, running until stopped, that never starts on its own (idle for long)
    options = SimulationOptions(url=f"{server.ws_url}/ocpp", piles=1, first=9015, ocpp=("2.0.1",),
                                id_tags=(await server.builders.id_tag(),), vins=(await server.builders.vehicle(),))
    await registered(server, options)
    spec = pile_specs(options)[0]
    stop = asyncio.Event()
    pile = SimulatedPileV201(
        spec, options.url, Timing(time_scale=1_000, sample_interval_s=60, idle_s=(3600, 3600)), Counters(),
        id_tags=options.id_tags, vins=options.vins, seed=1, stop=stop,
    )
    running = asyncio.create_task(pile.run())
    for _ in range(200):
        if pile.counters.piles_booted:
            break
        await asyncio.sleep(0.05)
    card = options.id_tags[0]

    # when: an operator reads its configuration report, starts a session remotely, then stops it
    read = await data(server.base_url, """mutation($cp: ID!) { r: readConfiguration(chargePointId: $cp,
        report: CONFIGURATION) { result { outcome } keys { key value } } }""", {"cp": spec.id},
        token=server.admin_token)
    started = await data(server.base_url, """mutation($cp: ID!, $t: String!) { r: remoteStart(chargePointId: $cp,
        idTag: $t, connectorNo: 2) { outcome } }""", {"cp": spec.id, "t": card}, token=server.admin_token)
    session = None
    for _ in range(200):
        session = await ChargingSession.filter(charge_point_id=spec.id).first()
        if session is not None and session.phase == ChargingPhase.CHARGING:
            break
        await asyncio.sleep(0.05)
    assert session is not None
    stopped = await data(server.base_url, """mutation($s: ID!) { r: stopSession(sessionId: $s) { outcome } }""",
                         {"s": str(session.id)}, token=server.admin_token)
    for _ in range(200):
        session = await ChargingSession.get(id=session.id)
        if session.status == SessionStatus.COMPLETED:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(running, 30)

    # then: the report came in parts and is kept; the session ran on connector 2, stopped remotely
    assert read["r"]["result"]["outcome"] == "ACCEPTED"
    keys = {k["key"]: k["value"] for k in read["r"]["keys"]}
    assert keys["HeartbeatInterval"] == "300" and keys["LocalAuthListMaxLength"] == "500"
    assert keys["SendLocalListMaxLength"] == "50" and keys["StopTransactionOnInvalidId"] == "true"
    assert keys["LocalAuthListCtrlr.Entries"] == "0"
    assert (await ChargePoint.get(id=spec.id)).reported_configuration == [
        {"key": k["key"], "value": k["value"], "readonly": k["key"] in (
            "LocalAuthListCtrlr.Entries", "LocalAuthListMaxLength", "SendLocalListMaxLength")}
        for k in read["r"]["keys"]]
    assert started["r"]["outcome"] == "ACCEPTED" and stopped["r"]["outcome"] == "ACCEPTED"
    connector = (await server.services.charge_points.connectors_by_ids([session.connector_id]))[0]
    assert connector.connector_no == 2
    assert (session.status, session.stop_reason, session.id_tag) == (SessionStatus.COMPLETED, "Remote", card)
    assert pile.counters.call_errors == 0
