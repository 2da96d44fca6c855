"""Access tokens: JWT (HS256) naming the user and their token version; roles are read per request,
so a revoked grant takes effect at once and a token never carries stale rights."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

from api.access.errors import Unauthenticated

ISSUER = "chargeops"
AUDIENCE = "chargeops-api"
ALGORITHM = "HS256"


@dataclass(frozen=True)
class Claims:
    user_id: int
    token_version: int


class TokenCodec:
    def __init__(self, key: bytes, ttl_s: int) -> None:
        self._key = key
        self.ttl_s = ttl_s

    def issue(self, user_id: int, token_version: int, now: datetime) -> str:
        payload = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": str(user_id),
            "ver": token_version,
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=self.ttl_s)).timestamp()),
        }
        return jwt.encode(payload, self._key, algorithm=ALGORITHM)

    def read(self, token: str, now: datetime) -> Claims:
        try:
            payload = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "iss", "aud"], "verify_iat": False, "verify_exp": False},
                leeway=0,
            )
        except jwt.InvalidTokenError as error:
            raise Unauthenticated(f"the token is not valid ({error})") from None
        if payload["exp"] <= now.timestamp():
            raise Unauthenticated("the token has expired; log in again")
        try:
            return Claims(int(payload["sub"]), int(payload.get("ver", -1)))
        except (TypeError, ValueError):
            raise Unauthenticated("the token is not valid (bad subject)") from None
