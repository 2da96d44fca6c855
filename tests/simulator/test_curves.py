"""The simulator's charging physics: shapes a real DC and AC charge has."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.simulator.curves import (
    ChargePlan,
    ChargeState,
    Vehicle,
    ac_power_w,
    dc_power_w,
    pack_voltage_v,
    random_vehicle,
    step,
)

CAR = Vehicle(
    vin="LFV2A21K6M3000001", capacity_wh=60_000, max_dc_power_w=150_000, onboard_charger_w=6_600,
    knee_soc=0.6, voltage_empty_v=330, voltage_full_v=410,
)


def test_dc_power_is_flat_to_the_knee_and_limited_by_the_pile():
    assert dc_power_w(CAR, 0.2, 120_000) == 120_000
    assert dc_power_w(CAR, 0.6, 120_000) == 120_000
    assert dc_power_w(CAR, 0.3, 250_000) == 150_000  # the car's own limit


@given(st.floats(0.6, 0.999), st.floats(0.6, 0.999))
def test_dc_power_tapers_monotonically_above_the_knee(a, b):
    low, high = sorted((a, b))
    assert dc_power_w(CAR, high, 120_000) <= dc_power_w(CAR, low, 120_000)


def test_dc_power_is_a_trickle_near_full():
    assert dc_power_w(CAR, 0.99, 120_000) < 10_000
    assert dc_power_w(CAR, 1.0, 120_000) == 0


@given(st.floats(0, 1), st.floats(0, 1))
def test_pack_voltage_rises_with_soc_within_the_pack_range(a, b):
    low, high = sorted((a, b))
    assert CAR.voltage_empty_v <= pack_voltage_v(CAR, low) <= pack_voltage_v(CAR, high) <= CAR.voltage_full_v


@given(st.floats(0, 1))
def test_ac_power_never_exceeds_the_pile_or_the_onboard_charger(soc):
    assert ac_power_w(CAR, soc, 7_000) <= 6_600
    assert ac_power_w(CAR, soc, 3_500) <= 3_500


@pytest.mark.parametrize("dc", [True, False])
def test_energy_over_a_session_matches_capacity_times_soc_gain(dc):
    plan = ChargePlan(CAR, soc_start=0.2, soc_target=0.9)
    state = ChargeState(soc=0.2)
    seconds = 0
    while state.soc < plan.soc_target:
        state = step(plan, state, 10, dc=dc, pile_max_w=120_000 if dc else 7_000)
        seconds += 10
    expected = CAR.capacity_wh * (state.soc - 0.2)
    assert state.energy_wh == pytest.approx(expected, rel=0.01)
    if dc:
        assert 20 * 60 < seconds < 60 * 60  # a 20 → 90 % DC fast charge takes tens of minutes
        assert state.current_a == pytest.approx(state.power_w / state.voltage_v)
    else:
        assert 5 * 3600 < seconds < 9 * 3600  # 42 kWh at 6.6 kW
        assert state.voltage_v == 220


def test_random_vehicles_are_plausible():
    rng = random.Random(7)
    for _ in range(200):
        car = random_vehicle(rng, "LFV2A21K6M3000001")
        assert 40_000 <= car.capacity_wh <= 100_000
        assert 0.55 <= car.knee_soc <= 0.65
        assert car.voltage_empty_v < car.voltage_full_v < 1_000
