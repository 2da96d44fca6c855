"""What a provider call or a provider notification can go wrong with, typed."""

from __future__ import annotations

from api.core.errors import DomainError


class ProviderError(DomainError):
    """The provider refused a call or could not be reached. ``retryable`` says whether the same call
    (same idempotency key) may be sent again later."""

    code = "PAYMENT_PROVIDER_ERROR"

    def __init__(
        self, provider: str, provider_code: str, message: str, *, http_status: int | None = None,
        retryable: bool = False,
    ) -> None:
        super().__init__(f"{provider}: {provider_code}: {message}")
        self.provider = provider
        self.provider_code = provider_code
        self.http_status = http_status
        self.retryable = retryable


class BadSignature(DomainError):
    """A response or notification whose signature, timestamp, certificate or ciphertext does not verify.
    Nothing it says may be believed."""

    code = "BAD_SIGNATURE"
