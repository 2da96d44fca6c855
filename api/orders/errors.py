"""Expected failures of charging orders."""

from api.core.errors import DomainError


class OrderError(DomainError):
    code = "ORDER_ERROR"


class ConnectorBusy(OrderError):
    """The connector is charging, faulted, offline, or held by another order."""

    code = "CONNECTOR_BUSY"


class PaymentNotPossible(OrderError):
    """The chosen way to pay cannot be used (not configured, no linked account, not enough balance)."""

    code = "PAYMENT_NOT_POSSIBLE"


class OrderStateError(OrderError):
    """The order is not in a state that allows this."""

    code = "ORDER_STATE"
