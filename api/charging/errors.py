"""Charging errors.

    DomainError
    └── ChargingError                 CHARGING_ERROR
        └── SessionNotFound           SESSION_NOT_FOUND
"""

from api.core.errors import DomainError


class ChargingError(DomainError):
    code = "CHARGING_ERROR"


class SessionNotFound(ChargingError):
    code = "SESSION_NOT_FOUND"
