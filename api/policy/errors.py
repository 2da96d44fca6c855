"""Expected failures of the access-policy domain."""

from api.core.errors import DomainError


class NotAdmitted(DomainError):
    """The card may not charge at this station now (its own status, the block list, or the access policy)."""

    code = "NOT_ADMITTED"
