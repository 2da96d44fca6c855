"""The composition root: every domain service is built here, once, and handed to the adapters."""

from __future__ import annotations

from dataclasses import dataclass

from api.charge_point.service import ChargePointService
from api.charging.service import ChargingService
from api.commands.service import CommandService
from api.core.bus import EventBus, InProcessBus
from api.core.clock import Clock, SystemClock
from api.core.db import UnitOfWork
from api.metering.service import MeteringService
from api.settings import Settings
from api.station.service import StationService


@dataclass(frozen=True)
class Services:
    settings: Settings
    clock: Clock
    bus: EventBus
    stations: StationService
    charge_points: ChargePointService
    charging: ChargingService
    metering: MeteringService
    commands: CommandService
    """Commands to piles; app composition plugs in the gateway that reaches them."""


def build_services(settings: Settings, *, clock: Clock | None = None, bus: EventBus | None = None) -> Services:
    clock = clock or SystemClock()
    bus = bus or InProcessBus(settings.bus_queue_size)
    uow = UnitOfWork(bus)
    charge_points = ChargePointService(
        uow, clock, auto_register=settings.ocpp_auto_register, heartbeat_interval_s=settings.ocpp_heartbeat_interval_s
    )
    charging = ChargingService(uow, clock, charge_points)
    return Services(
        settings=settings,
        clock=clock,
        bus=bus,
        stations=StationService(),
        charge_points=charge_points,
        charging=charging,
        metering=MeteringService(uow, clock, charging),
        commands=CommandService(),
    )
