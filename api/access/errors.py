"""Access errors: each says why, so a refused caller knows what is missing."""

from __future__ import annotations

from api.core.errors import DomainError


class AccessError(DomainError):
    code = "ACCESS_ERROR"


class Unauthenticated(AccessError):
    """No valid token: log in first (or the token expired or was revoked)."""

    code = "UNAUTHENTICATED"


class Forbidden(AccessError):
    """Logged in, but no role grants this action on this target."""

    code = "FORBIDDEN"


class LoginFailed(AccessError):
    """Unknown login or wrong password (deliberately not told apart)."""

    code = "LOGIN_FAILED"


class AccountLocked(AccessError):
    code = "ACCOUNT_LOCKED"
