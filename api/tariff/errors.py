"""Expected failures of the tariff domain.

    DomainError
    ├── InvalidInput (core)   INVALID_INPUT   a draft that is not a valid tariff
    └── NoTariff              NO_TARIFF       a station with no tariff in force at the moment asked about
"""

from api.core.errors import DomainError


class NoTariff(DomainError):
    """The station has no tariff in force at that moment (none published yet, or only scheduled ones)."""

    code = "NO_TARIFF"
