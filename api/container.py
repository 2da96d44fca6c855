"""The composition root: every domain service is built here, once, and handed to the adapters."""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from dataclasses import dataclass
from typing import TYPE_CHECKING

from api.access.miniprogram import MiniProgramLogin
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
from api.core.redis_bus import RedisBus
from api.core.clock import Clock, SystemClock
from api.core.db import UnitOfWork
from api.files.service import FileService
from api.files.signing import UrlSigner, derive_key
from api.files.storage import FileStorage, build_storage
from api.ledger.service import LedgerService
from api.metering.service import MeteringService
from api.orders.service import OrderService, OrderTiming
from api.payments.provider import PaymentProvider
from api.payments.sandbox import SandboxProvider
from api.policy.service import PolicyService
from api.settings import Settings
from api.qr.service import QrService
from api.station.service import StationService
from api.tariff.service import TariffService


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
    tariffs: TariffService
    ledger: LedgerService
    orders: OrderService
    """Charging orders, top-ups and their settlement (its worker runs in the app's lifespan)."""
    providers: dict[str, PaymentProvider]
    sandbox: SandboxProvider | None
    """The sandbox provider when enabled (the demo's pay button needs it)."""
    closers: list[Callable[[], Awaitable[None]]]
    """What to close at shutdown (providers' HTTP clients)."""
    qr: QrService
    """The one QR code of each connector."""
    logins: MiniProgramLogin
    """Drivers' logins through the WeChat and Alipay mini-programs."""


if TYPE_CHECKING:
    from api.payments.providers.alipay import AlipayClient

log = logging.getLogger(__name__)


def build_providers(
    settings: Settings, clock: Clock, secret_key: str
) -> tuple[dict[str, PaymentProvider], list[Callable[[], Awaitable[None]]]]:
    """The payment providers the settings enable, and how to close their HTTP clients."""
    providers: dict[str, PaymentProvider] = {}
    closers: list[Callable[[], Awaitable[None]]] = []
    notify = f"{settings.public_url}/pay/notify"
    for name in settings.enabled_providers:
        if name == "sandbox":
            sandbox = SandboxProvider(derive_key(secret_key, "sandbox-pay"), clock)
            providers[name], closers = sandbox, [*closers, sandbox.aclose]
        elif name == "wechatpay":
            from api.payments.providers.wechatpay import WeChatPayClient, WeChatPayConfig
            from api.payments.wechat import WeChatPayProvider

            wechat = WeChatPayClient(WeChatPayConfig(
                mchid=settings.wechat_mchid, appid=settings.wechat_appid,
                merchant_serial_no=settings.wechat_serial_no,
                merchant_private_key_pem=Path(settings.wechat_private_key_file).read_text(),
                platform_public_key_pem=Path(settings.wechat_public_key_file).read_text(),
                platform_public_key_id=settings.wechat_public_key_id, apiv3_key=settings.wechat_apiv3_key,
                base_url=settings.wechat_base_url,
            ), clock)
            providers[name] = WeChatPayProvider(
                wechat, refund_notify_url=f"{notify}/wechatpay", max_share_bp=settings.wechat_max_share_bp
            )
            closers.append(wechat.aclose)
        elif name == "alipay":
            from api.payments.alipay import AlipayProvider

            alipay = _alipay_client(settings, clock)
            providers[name] = AlipayProvider(alipay, max_share_bp=settings.alipay_max_share_bp)
            closers.append(alipay.aclose)
    return providers, closers


def _alipay_client(settings: Settings, clock: Clock) -> AlipayClient:
    """The signed client of the Alipay open platform (payments, and the drivers' login)."""
    from api.payments.providers.alipay import AlipayClient, AlipayConfig

    return AlipayClient(AlipayConfig(
        app_id=settings.alipay_app_id,
        app_private_key_pem=Path(settings.alipay_private_key_file).read_text(),
        alipay_public_key_pem=Path(settings.alipay_public_key_file).read_text(),
        seller_id=settings.alipay_seller_id, gateway_url=settings.alipay_gateway_url,
        notify_url=f"{settings.public_url}/pay/notify/alipay",
    ), clock)


def build_services(
    settings: Settings, *, clock: Clock | None = None, bus: EventBus | None = None,
    providers: Mapping[str, PaymentProvider] | None = None, order_timing: OrderTiming | None = None,
) -> Services:
    """Every service, once. ``providers`` replaces the ones the settings enable (tests use local fakes)."""
    clock = clock or SystemClock()
    bus = bus or (
        RedisBus(settings.redis_url, settings.bus_queue_size, settings.redis_prefix)
        if settings.redis_url
        else InProcessBus(settings.bus_queue_size)
    )
    uow = UnitOfWork(bus)
    node = settings.node_name or f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
    charge_points = ChargePointService(
        uow, clock, auto_register=settings.ocpp_auto_register, heartbeat_interval_s=settings.ocpp_heartbeat_interval_s,
        node=node, default_security_profile=settings.ocpp_default_security_profile,
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
    tariffs = TariffService(clock, access, audit)
    ledger = LedgerService(uow, clock)
    metering = MeteringService(uow, clock, charging, settings.meter_batch_max)
    operations = OperationsService(clock, access, charge_points, charging, commands, files, sender, station_access)
    closers: list[Callable[[], Awaitable[None]]] = []
    if providers is None:
        providers, closers = build_providers(settings, clock, secret_key)
    orders = OrderService(
        bus, clock, access=access, audit=audit, charge_points=charge_points, charging=charging, metering=metering,
        operations=operations, tariffs=tariffs, ledger=ledger, providers=providers,
        notify_base_url=settings.public_url,
        timing=order_timing or OrderTiming(
            payment_window_s=settings.order_payment_window_s, start_timeout_s=settings.order_start_timeout_s,
            retry_s=settings.order_retry_s, share_delay_s=settings.order_share_delay_s,
        ),
    )
    sandbox = providers.get("sandbox")
    stations = StationService()
    logins = MiniProgramLogin(access)
    if settings.wechat_appid and settings.wechat_app_secret:
        from api.payments.providers.wechat_login import WeChatLoginClient

        wechat_login = WeChatLoginClient(
            settings.wechat_appid, settings.wechat_app_secret, base_url=settings.wechat_api_base_url
        )
        logins.use(wechat=wechat_login)
        closers.append(wechat_login.aclose)
    alipay_login = getattr(providers.get("alipay"), "client", None)
    if alipay_login is None and settings.alipay_app_id and settings.alipay_private_key_file \
            and settings.alipay_public_key_file:
        # login only (Alipay payments not enabled): the same signed client, for alipay.system.oauth.token
        alipay_login = _alipay_client(settings, clock)
        closers.append(alipay_login.aclose)
    if alipay_login is not None:
        logins.use(alipay=alipay_login)
    return Services(
        settings=settings,
        clock=clock,
        bus=bus,
        stations=stations,
        charge_points=charge_points,
        charging=charging,
        metering=metering,
        commands=commands,
        access=access,
        audit=audit,
        operations=operations,
        policies=policies,
        station_access=station_access,
        files=files,
        storage=storage,
        secret_key=secret_key,
        tariffs=tariffs,
        ledger=ledger,
        orders=orders,
        providers=dict(providers),
        sandbox=sandbox if isinstance(sandbox, SandboxProvider) else None,
        closers=closers,
        qr=QrService(settings.public_url, charge_points=charge_points, stations=stations),
        logins=logins,
    )
