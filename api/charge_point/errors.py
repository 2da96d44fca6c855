"""Charge point errors.

    DomainError
    └── ChargePointError              CHARGE_POINT_ERROR
        ├── UnknownChargePoint        UNKNOWN_CHARGE_POINT
        ├── ChargePointRejected       CHARGE_POINT_REJECTED
        └── UnknownConnector          UNKNOWN_CONNECTOR
"""

from api.core.errors import DomainError


class ChargePointError(DomainError):
    code = "CHARGE_POINT_ERROR"


class UnknownChargePoint(ChargePointError):
    code = "UNKNOWN_CHARGE_POINT"


class ChargePointRejected(ChargePointError):
    code = "CHARGE_POINT_REJECTED"


class UnknownConnector(ChargePointError):
    code = "UNKNOWN_CONNECTOR"
