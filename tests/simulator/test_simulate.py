"""``run_simulation`` against the real server: whole DC and AC sessions land as the server stores them."""

from __future__ import annotations

from api.charging.dto import SessionFilter
from api.models.enums import ChargingPhase, ConnectorType, SessionStatus
from api.simulator.run import SimulationOptions, pile_specs, run_simulation


async def test_two_piles_run_whole_dc_and_ac_sessions(server):
    # given: piles DEMO-9002 (DC 120 kW) and DEMO-9003 (AC 7 kW), the demo mix, and cards and cars to charge with
    options = SimulationOptions(
        url=f"{server.ws_url}/ocpp", piles=2, first=9002, time_scale=100_000, sample_interval_s=600,
        idle_s=(0.01, 0.02), sessions=1, duration_s=60, seed=3,
        id_tags=tuple([await server.builders.id_tag() for _ in range(3)]),
        vins=tuple([await server.builders.vehicle() for _ in range(3)]),
    )
    station = await server.builders.station()
    for spec in pile_specs(options):
        kind = (ConnectorType.GBT_DC, 120_000) if spec.dc else (ConnectorType.GBT_AC, 7_000)
        await server.builders.charge_point(station, [kind, kind], charge_point_id=spec.id)

    # when
    report = await run_simulation(options)

    # then: every connector did one whole session
    assert report.piles_booted == 2
    assert report.sessions_started == report.sessions_completed == 4
    assert report.call_errors == 0 and report.sessions_refused == 0
    sessions = await server.services.charging.history(SessionFilter(station_id=station.id), None, 10)
    assert len(sessions) == 4
    stored = 0
    for session in sessions:
        assert session.status == SessionStatus.COMPLETED
        assert session.phase == ChargingPhase.ENDED
        assert session.energy_wh > 1_000
        assert session.stop_reason in ("EVDisconnected", "Local")
        trend = await server.services.metering.trend(session)
        stored += trend.sample_count
        if session.charge_point_id == "DEMO-9002":  # DC: the car's VIN from BRM, SoC, and the GB/T phases
            assert session.vin in options.vins
            assert session.soc_start_pct is not None and session.soc_end_pct is not None
            assert session.soc_end_pct - session.soc_start_pct >= 20
            assert 40_000 <= session.max_power_w <= 120_000  # the car or the pile limits it
            phases = [p.phase for p in await server.services.charging.phases([session.id])]
            assert phases == [ChargingPhase.HANDSHAKE, ChargingPhase.CONFIGURATION, ChargingPhase.CHARGING,
                              ChargingPhase.ENDING, ChargingPhase.ENDED]
        else:  # AC: no BMS dialogue, no SoC, at most 7 kW
            assert session.soc_end_pct is None
            assert session.max_power_w <= 7_000
    # every acknowledged periodic sample is stored, plus one Transaction.End sample per session
    assert stored == report.samples_sent + 4
