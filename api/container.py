"""The composition root: every domain service is built here, once, and handed to the adapters."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from api.access.service import AccessService
from api.access.tokens import TokenCodec
from api.audit.service import AuditService
from api.charge_point.service import ChargePointService
from api.charging.service import ChargingService
from api.commands.audited import AuditedSender
from api.commands.operations import OperationsService
from api.commands.service import CommandService
from api.commands.station_access import StationAccessService
from api.core.bus import EventBus, InProcessBus
from api.core.clock import Clock, SystemClock
from api.core.db import UnitOfWork
from api.files.service import FileService
from api.files.signing import UrlSigner, derive_key
from api.files.storage import FileStorage, build_storage
from api.metering.service import MeteringService
from api.policy.service import PolicyService
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
    access: AccessService
    audit: AuditService
    operations: OperationsService
    """Operator actions on piles: scope check, desired state, command, audit entry."""
    policies: PolicyService
    station_access: StationAccessService
    """Access policy changes, carried to the piles' local lists."""
    files: FileService
    storage: FileStorage
    secret_key: str
    """The settings' secret, or a random one for this process (never logged)."""


log = logging.getLogger(__name__)


def build_services(settings: Settings, *, clock: Clock | None = None, bus: EventBus | None = None) -> Services:
    clock = clock or SystemClock()
    bus = bus or InProcessBus(settings.bus_queue_size)
    uow = UnitOfWork(bus)
    charge_points = ChargePointService(
        uow, clock, auto_register=settings.ocpp_auto_register, heartbeat_interval_s=settings.ocpp_heartbeat_interval_s
    )
    secret_key = settings.secret_key
    if not secret_key:
        log.warning("CHARGEOPS_SECRET_KEY is not set: using a random key, so tokens and file links die with this process")
        secret_key = secrets.token_urlsafe(48)
    access = AccessService(clock, TokenCodec(derive_key(secret_key, "access-token"), settings.token_ttl_s))
    audit = AuditService(clock)
    policies = PolicyService(clock, access, audit)
    charging = ChargingService(uow, clock, charge_points, policies)
    commands = CommandService()
    sender = AuditedSender(commands, audit)
    station_access = StationAccessService(clock, access, policies, charge_points, sender)
    access.card_listeners.append(station_access.card_changed)
    storage = build_storage(settings, clock=clock, secret_key=secret_key)
    files = FileService(
        uow, clock, storage, access, audit, max_bytes=settings.files_max_bytes, url_ttl_s=settings.files_url_ttl_s,
        upload_signer=UrlSigner(derive_key(secret_key, "pile-upload")), public_url=settings.public_url,
    )
    return Services(
        settings=settings,
        clock=clock,
        bus=bus,
        stations=StationService(),
        charge_points=charge_points,
        charging=charging,
        metering=MeteringService(uow, clock, charging),
        commands=commands,
        access=access,
        audit=audit,
        operations=OperationsService(clock, access, charge_points, charging, commands, files, sender, station_access),
        policies=policies,
        station_access=station_access,
        files=files,
        storage=storage,
        secret_key=secret_key,
    )
