"""Charge point errors.

    DomainError
    └── ChargePointError              CHARGE_POINT_ERROR
        ├── UnknownChargePoint        UNKNOWN_CHARGE_POINT
        ├── ChargePointRejected       CHARGE_POINT_REJECTED
        ├── UnknownConnector          UNKNOWN_CONNECTOR
        └── HandshakeRefused          HANDSHAKE_REFUSED         (``reason``: a RefusalReason)
            ├── PileNotAuthenticated  PILE_NOT_AUTHENTICATED    missing or wrong credentials (HTTP 401)
            └── PileNotPermitted      PILE_NOT_PERMITTED        wrong transport or certificate (HTTP 403)
"""

from enum import StrEnum

from api.core.errors import DomainError


class ChargePointError(DomainError):
    code = "CHARGE_POINT_ERROR"


class UnknownChargePoint(ChargePointError):
    code = "UNKNOWN_CHARGE_POINT"


class ChargePointRejected(ChargePointError):
    code = "CHARGE_POINT_REJECTED"


class UnknownConnector(ChargePointError):
    code = "UNKNOWN_CONNECTOR"


class RefusalReason(StrEnum):
    """Why a pile's WebSocket handshake was refused: a closed set (metric labels, security events)."""

    INVALID_IDENTITY = "invalid_identity"
    UNREGISTERED = "unregistered"
    REJECTED = "rejected"
    MISSING_CREDENTIALS = "missing_credentials"
    WRONG_CREDENTIALS = "wrong_credentials"
    NO_PASSWORD = "no_password"
    """The pile's profile needs a password and none is set: nothing it presents can be right."""
    TLS_REQUIRED = "tls_required"
    MISSING_CLIENT_CERT = "missing_client_cert"
    WRONG_CLIENT_CERT = "wrong_client_cert"


class HandshakeRefused(ChargePointError):
    code = "HANDSHAKE_REFUSED"

    def __init__(self, reason: RefusalReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class PileNotAuthenticated(HandshakeRefused):
    code = "PILE_NOT_AUTHENTICATED"


class PileNotPermitted(HandshakeRefused):
    code = "PILE_NOT_PERMITTED"
