"""Charging physics for the simulator: pure functions, no I/O.

DC: the pile delivers the lower of its own rating and what the vehicle's BMS asks for. A lithium pack takes
constant current up to a knee (55-65 % SoC), then the BMS cuts current steadily towards a trickle at full.
Pack voltage rises with SoC. AC: the on-board charger draws a constant current (≤ 32 A at 220 V) and tapers
only in the last few percent.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

AC_VOLTAGE_V = 220.0
MIN_DC_POWER_W = 3_000.0


@dataclass(frozen=True)
class Vehicle:
    vin: str
    capacity_wh: float
    max_dc_power_w: float
    onboard_charger_w: float
    knee_soc: float
    """SoC (0..1) where the BMS starts cutting current."""
    voltage_empty_v: float
    voltage_full_v: float


@dataclass(frozen=True)
class ChargePlan:
    vehicle: Vehicle
    soc_start: float
    soc_target: float
    """The driver stops (or the BMS ends) here: 'charge until full' is 0.95-1.0."""


def random_vehicle(rng: random.Random, vin: str) -> Vehicle:
    high_voltage = rng.random() < 0.3  # 800 V platforms
    nominal = rng.uniform(620, 700) if high_voltage else rng.uniform(330, 400)
    return Vehicle(
        vin=vin,
        capacity_wh=rng.choice((42_000, 51_000, 60_000, 75_000, 82_000, 100_000)),
        max_dc_power_w=rng.choice((60_000, 90_000, 120_000, 150_000)) * (1.5 if high_voltage else 1.0),
        onboard_charger_w=rng.choice((3_300, 6_600, 7_000, 11_000)),
        knee_soc=rng.uniform(0.55, 0.65),
        voltage_empty_v=nominal * 0.88,
        voltage_full_v=nominal * 1.08,
    )


def random_plan(rng: random.Random, vehicle: Vehicle) -> ChargePlan:
    start = rng.uniform(0.10, 0.40)
    target = rng.uniform(0.80, 1.0) if rng.random() < 0.6 else 1.0
    return ChargePlan(vehicle, soc_start=start, soc_target=max(target, start + 0.2))


def pack_voltage_v(vehicle: Vehicle, soc: float) -> float:
    """Open-circuit voltage rises almost linearly with SoC, faster near both ends."""
    soc = min(max(soc, 0.0), 1.0)
    shape = soc + 0.08 * (soc - 0.5) ** 3 * 8  # slight S-curve, monotonic
    shape = min(max(shape, 0.0), 1.0)
    return vehicle.voltage_empty_v + (vehicle.voltage_full_v - vehicle.voltage_empty_v) * shape


def dc_power_w(vehicle: Vehicle, soc: float, pile_max_w: float) -> float:
    """Power the BMS accepts at ``soc`` on a pile rated ``pile_max_w``: flat to the knee, then tapering."""
    peak = min(vehicle.max_dc_power_w, pile_max_w)
    if soc <= vehicle.knee_soc:
        return peak
    if soc >= 1.0:
        return 0.0
    remaining = (1.0 - soc) / (1.0 - vehicle.knee_soc)  # 1 at the knee, 0 at full
    return max(peak * remaining**1.3, min(MIN_DC_POWER_W, peak))


def ac_power_w(vehicle: Vehicle, soc: float, pile_max_w: float) -> float:
    """Constant power limited by the pile and the on-board charger; the BMS tapers above 95 %."""
    peak = min(vehicle.onboard_charger_w, pile_max_w)
    if soc >= 1.0:
        return 0.0
    if soc > 0.95:
        return peak * max((1.0 - soc) / 0.05, 0.2)
    return peak


@dataclass
class ChargeState:
    soc: float
    energy_wh: float = 0.0
    """Energy delivered in this session."""
    power_w: float = 0.0
    voltage_v: float = 0.0
    current_a: float = 0.0
    temperature_c: float = 25.0


def step(plan: ChargePlan, state: ChargeState, dt_s: float, *, dc: bool, pile_max_w: float) -> ChargeState:
    """Advance ``state`` by ``dt_s`` simulated seconds (midpoint integration of power over SoC)."""
    vehicle = plan.vehicle
    power_of = dc_power_w if dc else ac_power_w
    p0 = power_of(vehicle, state.soc, pile_max_w)
    soc_mid = state.soc + p0 * dt_s / 3600.0 / vehicle.capacity_wh / 2
    p_mid = power_of(vehicle, min(soc_mid, 1.0), pile_max_w)
    energy = p_mid * dt_s / 3600.0
    soc = min(state.soc + energy / vehicle.capacity_wh, 1.0)
    power = power_of(vehicle, soc, pile_max_w)
    voltage = pack_voltage_v(vehicle, soc) if dc else AC_VOLTAGE_V
    current = power / voltage if voltage else 0.0
    # the connector warms with current squared and cools towards ambient
    temperature = state.temperature_c + (current**2 * 2e-5 - (state.temperature_c - 25.0) * 0.01) * dt_s / 10
    return ChargeState(
        soc=soc,
        energy_wh=state.energy_wh + energy,
        power_w=power,
        voltage_v=voltage,
        current_a=current,
        temperature_c=temperature,
    )
