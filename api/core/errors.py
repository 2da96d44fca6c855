"""The root of every expected failure in ChargeOps.

    DomainError                       code
    ├── NotFound                      NOT_FOUND
    ├── InvalidInput                  INVALID_INPUT
    └── <domain>.errors.*             e.g. charging.errors.UnknownTransaction (UNKNOWN_TRANSACTION)

Adapters map these to their protocol (a GraphQL error type, an OCPP status); anything that is not a
DomainError is a bug and is reported as an internal error.
"""

from __future__ import annotations


class DomainError(Exception):
    code = "DOMAIN_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class NotFound(DomainError):
    code = "NOT_FOUND"


class InvalidInput(DomainError):
    code = "INVALID_INPUT"
