"""Settings, read once from ``CHARGEOPS_*`` environment variables into a frozen dataclass.

Every knob of a running node lives here; nothing else in ``api`` reads the environment.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

PREFIX = "CHARGEOPS_"
TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


class SettingsError(ValueError):
    """A CHARGEOPS_* variable holds a value we cannot use."""


def _bool(name: str, raw: str) -> bool:
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise SettingsError(f"{PREFIX}{name}={raw!r} is not a boolean (use 1/0, true/false)")


VERIFY_FILE_NAME = re.compile(r"[A-Za-z0-9_-]+\.txt")
VERIFY_FILE_CONTENT = re.compile(r"[\x21-\x2b\x2d-\x7e]+")
"""Printable ASCII without spaces or commas (the list's separator): what the consoles hand out."""


def _verify_files(raw: str) -> tuple[tuple[str, str], ...]:
    """``name1.txt=content1,name2.txt=content2`` as (name, content) pairs, names checked strictly."""
    files: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        name, sep, content = item.partition("=")
        if not sep or not VERIFY_FILE_NAME.fullmatch(name) or not VERIFY_FILE_CONTENT.fullmatch(content):
            raise SettingsError(
                f"{PREFIX}QR_VERIFY_FILES: {item!r} is not <name>.txt=<content> "
                "(name of letters, digits, _ and -; content of printable ASCII without spaces or commas)"
            )
        if name in files:
            raise SettingsError(f"{PREFIX}QR_VERIFY_FILES names {name} twice")
        files[name] = content
    return tuple(files.items())


def _int(name: str, raw: str, minimum: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{PREFIX}{name}={raw!r} is not an integer") from None
    if value < minimum:
        raise SettingsError(f"{PREFIX}{name}={value} is below {minimum}")
    return value


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite://chargeops.sqlite3"
    """tortoise-orm URL: ``sqlite://<file>`` (embedded default) or ``mysql://user:pass@host:3306/db``."""
    public_url: str = "http://127.0.0.1:8000"
    """How piles, phones and payment providers reach this node; used in printed and generated links."""
    ocpp_auto_register: bool = False
    """Accept unknown charge point ids at the handshake and register them as pending."""
    ocpp_heartbeat_interval_s: int = 300
    """Interval returned in BootNotification.conf."""
    ocpp_max_frame_bytes: int = 65536
    """Largest WebSocket frame a pile may send; bigger frames close the socket (1009)."""
    ocpp_response_timeout_s: int = 30
    """How long a command waits for a pile's answer."""
    ocpp_rate_per_s: int = 100
    """Calls a pile may make per second (a token bucket; 0: no limit); more get GenericError "rate limited"."""
    ocpp_rate_burst: int = 1000
    """Calls a pile may make at once before the rate applies; a pile whose rejected calls exceed this before
    its bucket refills is flooding and its socket is closed (1008)."""
    session_stale_after_s: int = 43200
    """A session silent this long (no sample, status or transaction message) is closed by the sweep when its
    connector is reported Available (``StaleClosed``) or its pile booted since (``PileRebooted``)."""
    session_sweep_interval_s: int = 300
    """How often each node runs that sweep."""
    meter_batch_max: int = 500
    """Most MeterValues the node's meter writer stores in one transaction. The writer takes whatever piles sent
    while its previous batch was being written, so batches grow with the load; this bounds a batch's
    statement and the time its first pile waits."""
    gc_freeze: bool = True
    """``serve``: keep what is alive in the garbage collector's permanent generation (after start-up, when the
    fleet grew by half, hourly) and collect the young generation less often, so full collections stop
    walking every connected pile's objects (``api.app.keep_heap_frozen``)."""
    bus_queue_size: int = 1000
    """Events a subscriber may have pending before it is dropped."""
    redis_url: str = ""
    """Redis for the event bus between nodes (``redis://host:6379/0``); empty: one node, in-process bus."""
    log_format: str = "text"
    """``text`` (one readable line) or ``json`` (one object per line, for log collectors)."""
    node_name: str = ""
    """This node's name among several (in logs, Redis and on the piles it holds); empty: host, pid and a random
    suffix, so a restarted node never takes its predecessor's place."""
    node_liveness_s: int = 15
    """How long a silent node counts as alive (several nodes): a dead node's piles are freed after this."""
    redis_prefix: str = "chargeops:"
    """Prefix of this deployment's Redis channels and keys (deployments sharing a Redis need different ones)."""
    secret_key: str = ""
    """Signs access tokens (JWT) and file URLs; every node of a deployment needs the same one.
    Empty means a random key per process (fine for one node: tokens and links die with it)."""
    token_ttl_s: int = 43200
    """How long a staff login token (JWT) is valid."""
    files_backend: str = "local"
    """Where station files live: ``local`` (a directory, the embedded default) or ``s3`` (S3-compatible)."""
    files_dir: str = "chargeops-files"
    """Directory of the ``local`` backend."""
    files_max_bytes: int = 20 * 1024 * 1024
    """Largest file that may be uploaded (station files, diagnostics from piles)."""
    files_url_ttl_s: int = 600
    """How long a signed download or upload URL stays valid."""
    s3_endpoint_url: str = ""
    """S3-compatible endpoint (e.g. ``http://127.0.0.1:9000``); empty means AWS's own."""
    s3_region: str = "us-east-1"
    s3_bucket: str = ""
    s3_access_key_id: str = ""
    s3_secret_access_key: str = ""
    pay_providers: str = "sandbox"
    """Comma-separated ways to pay besides the wallet: ``sandbox`` (the embedded default, not real money),
    ``wechatpay``, ``alipay``. Each real provider needs its settings below."""
    wechat_mchid: str = ""
    wechat_appid: str = ""
    """The mini-program's AppID, bound to the merchant id."""
    wechat_serial_no: str = ""
    """Serial number of the merchant API certificate (signs our requests)."""
    wechat_private_key_file: str = ""
    """PEM file of the merchant API private key (apiclient_key.pem)."""
    wechat_public_key_file: str = ""
    """PEM file of the WeChat Pay public key (public-key mode)."""
    wechat_public_key_id: str = ""
    """``PUB_KEY_ID_...`` of that public key."""
    wechat_apiv3_key: str = ""
    """The 32-byte APIv3 key (decrypts notifications)."""
    wechat_base_url: str = "https://api.mch.weixin.qq.com"
    wechat_app_secret: str = ""
    """The mini-program's AppSecret: with ``wechat_appid`` it turns wx.login codes into openids (driver login)."""
    wechat_api_base_url: str = "https://api.weixin.qq.com"
    """Host of WeChat's (non-payment) server API: jscode2session."""
    wechat_max_share_bp: int = 3000
    """The merchant's maximum profit-sharing ratio (30 % unless WeChat Pay agreed to more)."""
    alipay_app_id: str = ""
    alipay_private_key_file: str = ""
    """PEM (or Alipay's bare base64) file of the application private key."""
    alipay_public_key_file: str = ""
    """The Alipay public key (public-key mode)."""
    alipay_seller_id: str = ""
    """The merchant's 2088… partner id (notifications must name it)."""
    alipay_gateway_url: str = "https://openapi.alipay.com/gateway.do"
    alipay_max_share_bp: int = 3000
    qr_verify_files: tuple[tuple[str, str], ...] = ()
    """Domain verification files of WeChat's and Alipay's QR-code rules, as (``name.txt``, content): each is
    served as text at ``/{name}`` and ``/q/{name}``."""
    order_payment_window_s: int = 900
    """How long a driver has to pay before an order is closed."""
    order_start_timeout_s: int = 120
    """How long a pile may take to begin charging after accepting a remote start before the order is refunded."""
    order_share_delay_s: int = 61
    """Wait after payment before profit sharing (WeChat Pay refuses earlier)."""
    order_retry_s: int = 30
    """Base wait before asking a provider again about a settlement step."""
    tls_cert_file: str = ""
    """PEM certificate (chain) with which ``serve`` terminates TLS itself (``wss://``, security profiles 2 and 3);
    empty: plain ``ws://`` (or TLS ended by a proxy in front)."""
    tls_key_file: str = ""
    """PEM private key of ``tls_cert_file`` (empty: the key is in the certificate file)."""
    tls_client_ca_file: str = ""
    """PEM CA certificate(s) that sign the piles' client certificates (security profile 3); a certificate is
    asked for but optional, so piles of profiles 0-2 still connect."""
    trust_proxy_headers: bool = False
    """Believe a TLS-terminating proxy's ``X-Forwarded-Proto``, ``X-Forwarded-For`` (the address the handshake
    limits count) and client-certificate headers (``X-Client-Cert``, ``X-Client-Verify``). Only behind a proxy
    that sets them and strips them from clients."""
    ocpp_default_security_profile: int = 1
    """The OCPP security profile (0-3) a pile must meet when an operator set none of its own, auto-registered
    piles included. 1 (Basic auth with the pile's own password) per DESIGN §4; 0 lets such piles connect
    without authenticating, a development setting only (the node logs a warning)."""
    ocpp_handshake_failures_per_address: int = 20
    """Refused handshakes an address may cause per window before its next ones are refused at once with
    HTTP 429 (no password check, no database write); 0: no limit."""
    ocpp_handshake_failures_per_pile: int = 10
    """Refused handshakes claiming one pile id per window, after which an address that already failed as that
    pile is refused at once (429) and further refusals are summed into one SecurityEvent; 0: no limit."""
    ocpp_handshake_window_s: int = 60
    """Window of both handshake limits, from the first refusal it counts."""

    @property
    def enabled_providers(self) -> tuple[str, ...]:
        return tuple(p.strip() for p in self.pay_providers.split(",") if p.strip())

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        base = cls()
        values: dict[str, object] = {}
        if (raw := env.get(PREFIX + "DATABASE_URL")) is not None:
            values["database_url"] = raw.strip()
        if (raw := env.get(PREFIX + "PUBLIC_URL")) is not None:
            values["public_url"] = raw.strip().rstrip("/")
        if (raw := env.get(PREFIX + "OCPP_AUTO_REGISTER")) is not None:
            values["ocpp_auto_register"] = _bool("OCPP_AUTO_REGISTER", raw)
        if (raw := env.get(PREFIX + "GC_FREEZE")) is not None:
            values["gc_freeze"] = _bool("GC_FREEZE", raw)
        if (raw := env.get(PREFIX + "TRUST_PROXY_HEADERS")) is not None:
            values["trust_proxy_headers"] = _bool("TRUST_PROXY_HEADERS", raw)
        for name in (
            "SECRET_KEY", "LOG_FORMAT", "NODE_NAME", "REDIS_URL", "REDIS_PREFIX", "FILES_BACKEND", "FILES_DIR", "S3_ENDPOINT_URL", "S3_REGION", "S3_BUCKET",
            "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY", "PAY_PROVIDERS", "WECHAT_MCHID", "WECHAT_APPID",
            "WECHAT_SERIAL_NO", "WECHAT_PRIVATE_KEY_FILE", "WECHAT_PUBLIC_KEY_FILE", "WECHAT_PUBLIC_KEY_ID",
            "WECHAT_APIV3_KEY", "WECHAT_BASE_URL", "WECHAT_APP_SECRET", "WECHAT_API_BASE_URL", "ALIPAY_APP_ID", "ALIPAY_PRIVATE_KEY_FILE",
            "ALIPAY_PUBLIC_KEY_FILE", "ALIPAY_SELLER_ID", "ALIPAY_GATEWAY_URL", "TLS_CERT_FILE", "TLS_KEY_FILE",
            "TLS_CLIENT_CA_FILE",
        ):
            if (raw := env.get(PREFIX + name)) is not None:
                values[name.lower()] = raw.strip()
        if (raw := env.get(PREFIX + "QR_VERIFY_FILES")) is not None:
            values["qr_verify_files"] = _verify_files(raw)
        for name, minimum in (
            ("TOKEN_TTL_S", 60),
            ("FILES_MAX_BYTES", 1024),
            ("FILES_URL_TTL_S", 10),
            ("OCPP_HEARTBEAT_INTERVAL_S", 10),
            ("OCPP_MAX_FRAME_BYTES", 1024),
            ("OCPP_RESPONSE_TIMEOUT_S", 1),
            ("OCPP_RATE_PER_S", 0),
            ("OCPP_RATE_BURST", 1),
            ("OCPP_DEFAULT_SECURITY_PROFILE", 0),
            ("OCPP_HANDSHAKE_FAILURES_PER_ADDRESS", 0),
            ("OCPP_HANDSHAKE_FAILURES_PER_PILE", 0),
            ("OCPP_HANDSHAKE_WINDOW_S", 1),
            ("SESSION_STALE_AFTER_S", 1),
            ("SESSION_SWEEP_INTERVAL_S", 1),
            ("BUS_QUEUE_SIZE", 10),
            ("METER_BATCH_MAX", 1),
            ("NODE_LIVENESS_S", 2),
            ("WECHAT_MAX_SHARE_BP", 0),
            ("ALIPAY_MAX_SHARE_BP", 0),
            ("ORDER_PAYMENT_WINDOW_S", 60),
            ("ORDER_START_TIMEOUT_S", 5),
            ("ORDER_SHARE_DELAY_S", 0),
            ("ORDER_RETRY_S", 1),
        ):
            if (raw := env.get(PREFIX + name)) is not None:
                values[name.lower()] = _int(name, raw, minimum)
        settings = replace(base, **values)  # type: ignore[arg-type]
        if not settings.database_url.startswith(("sqlite://", "mysql://")):
            raise SettingsError(f"{PREFIX}DATABASE_URL must start with sqlite:// or mysql://")
        if settings.log_format not in ("text", "json"):
            raise SettingsError(f"{PREFIX}LOG_FORMAT must be text or json")
        if settings.redis_url and not settings.redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise SettingsError(f"{PREFIX}REDIS_URL must start with redis://, rediss:// or unix://")
        if settings.files_backend not in ("local", "s3"):
            raise SettingsError(f"{PREFIX}FILES_BACKEND must be local or s3")
        if settings.files_backend == "s3" and not settings.s3_bucket:
            raise SettingsError(f"{PREFIX}FILES_BACKEND=s3 needs {PREFIX}S3_BUCKET")
        unknown = set(settings.enabled_providers) - {"sandbox", "wechatpay", "alipay"}
        if unknown:
            raise SettingsError(f"{PREFIX}PAY_PROVIDERS: unknown {', '.join(sorted(unknown))}")
        if "wechatpay" in settings.enabled_providers and not all((
            settings.wechat_mchid, settings.wechat_appid, settings.wechat_serial_no, settings.wechat_private_key_file,
            settings.wechat_public_key_file, settings.wechat_public_key_id, settings.wechat_apiv3_key,
        )):
            raise SettingsError("wechatpay needs every CHARGEOPS_WECHAT_* setting (merchant id, appid, keys)")
        if "alipay" in settings.enabled_providers and not all((
            settings.alipay_app_id, settings.alipay_private_key_file, settings.alipay_public_key_file,
            settings.alipay_seller_id,
        )):
            raise SettingsError("alipay needs every CHARGEOPS_ALIPAY_* setting (app id, keys, seller id)")
        if (settings.tls_key_file or settings.tls_client_ca_file) and not settings.tls_cert_file:
            raise SettingsError(f"{PREFIX}TLS_KEY_FILE and {PREFIX}TLS_CLIENT_CA_FILE need {PREFIX}TLS_CERT_FILE")
        if settings.ocpp_default_security_profile > 3:
            raise SettingsError(f"{PREFIX}OCPP_DEFAULT_SECURITY_PROFILE must be 0, 1, 2 or 3")
        if settings.secret_key and len(settings.secret_key) < 32:
            raise SettingsError(f"{PREFIX}SECRET_KEY must have at least 32 characters")
        return settings
