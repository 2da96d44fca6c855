"""Protocol-neutral values the pile adapters hand to the charge point service."""

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from api.models.enums import Availability, ConnectorStatus, RegistrationStatus


@dataclass(frozen=True)
class BootInfo:
    vendor: str
    model: str
    serial_number: str = ""
    firmware_version: str = ""
    iccid: str = ""
    imsi: str = ""
    meter_type: str = ""
    meter_serial_number: str = ""


@dataclass(frozen=True)
class BootResult:
    status: RegistrationStatus
    interval_s: int
    current_time: datetime


@dataclass(frozen=True)
class StatusReport:
    charge_point_id: str
    connector_no: int
    status: ConnectorStatus
    error_code: str
    at: datetime | None
    """When the pile says the status began; None when it did not say (then: now)."""
    info: str = ""
    vendor_error_code: str = ""


@dataclass(frozen=True)
class Admission:
    charge_point_id: str
    registration_status: RegistrationStatus
    newly_registered: bool


@dataclass(frozen=True)
class DesiredAvailability:
    connector_no: int
    """0 = the pile as a whole."""
    availability: Availability
    applied: bool


@dataclass(frozen=True)
class DesiredState:
    """What operators want a pile to be; what must be (re-)applied when it boots."""

    charge_point_id: str
    pile: DesiredAvailability
    connectors: tuple[DesiredAvailability, ...]
    configuration: tuple[tuple[str, str], ...]

    def availability_to_apply(self) -> list[DesiredAvailability]:
        """After a boot: the pile's lock (or a pending unlock), then locks of single connectors."""
        wanted: list[DesiredAvailability] = []
        if self.pile.availability == Availability.INOPERATIVE or not self.pile.applied:
            wanted.append(self.pile)
        if self.pile.availability == Availability.OPERATIVE:
            wanted += [
                c for c in self.connectors if c.availability == Availability.INOPERATIVE or not c.applied
            ]
        return wanted


@dataclass(frozen=True)
class HandshakeProof:
    """What a pile showed at its WebSocket handshake, read by the adapter from the upgrade request."""

    secure: bool = False
    """The connection is TLS (``wss://``), ours or a trusted proxy's."""
    username: str | None = None
    """HTTP Basic auth user name; None when no readable Basic credentials were sent."""
    password: str | None = None
    certificate_names: tuple[str, ...] | None = None
    """Subject common name and subject alternative names of the client certificate, verified against the
    configured CA; None when the pile presented no certificate."""


class PasswordVerifier(Protocol):
    """Checks a password against an argon2 hash (access's ``verify_password``, run off the event loop)."""

    async def __call__(self, password_hash: str | None, password: str) -> bool: ...
