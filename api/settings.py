"""Settings, read once from ``CHARGEOPS_*`` environment variables into a frozen dataclass.

Every knob of a running node lives here; nothing else in ``api`` reads the environment.
"""

from __future__ import annotations

import os
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
    bus_queue_size: int = 1000
    """Events a subscriber may have pending before it is dropped."""

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
        for name, minimum in (
            ("OCPP_HEARTBEAT_INTERVAL_S", 10),
            ("OCPP_MAX_FRAME_BYTES", 1024),
            ("OCPP_RESPONSE_TIMEOUT_S", 1),
            ("BUS_QUEUE_SIZE", 10),
        ):
            if (raw := env.get(PREFIX + name)) is not None:
                values[name.lower()] = _int(name, raw, minimum)
        settings = replace(base, **values)  # type: ignore[arg-type]
        if not settings.database_url.startswith(("sqlite://", "mysql://")):
            raise SettingsError(f"{PREFIX}DATABASE_URL must start with sqlite:// or mysql://")
        return settings
