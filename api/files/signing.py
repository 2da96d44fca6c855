"""Signed, time-limited URLs: HMAC-SHA256 over a canonical string, and per-purpose keys from one secret.

A signature covers the HTTP method, the storage key, the expiry (unix seconds) and every other signed
query parameter (name and value), so a download link cannot be replayed as an upload (or the reverse),
pointed at another file, given a longer life, or served under another name or content type.

Canonical string (version 1), every field percent-encoded (RFC 3986, nothing kept) so none can hold
the separators::

    chargeops-url-v1 \\n METHOD \\n key \\n expires \\n name=value&name=value   (params sorted by name)

The signature is url-safe base64 of the 32-byte MAC, without padding (43 characters).

    DomainError
    ├── BadSignature                  BAD_SIGNATURE
    └── LinkExpired                   LINK_EXPIRED
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from urllib.parse import quote

from api.core.errors import DomainError

VERSION = "chargeops-url-v1"
METHODS = frozenset({"GET", "HEAD", "PUT", "POST"})
SIGNATURE_CHARS = 43
_PARAM_NAME = re.compile(r"[a-z][a-z0-9_-]{0,31}")
_RESERVED = frozenset({"expires", "sig"})


class BadSignature(DomainError):
    code = "BAD_SIGNATURE"


class LinkExpired(DomainError):
    code = "LINK_EXPIRED"


def derive_key(secret_key: str, purpose: str) -> bytes:
    """A 32-byte key for one purpose (HKDF-SHA256, RFC 5869), so one settings secret serves many uses.

    Keys for different purposes are independent: knowing one (or a MAC made with it) tells nothing about
    another or about the secret.
    """
    if not secret_key:
        raise ValueError("derive_key needs a non-empty secret")
    if not purpose:
        raise ValueError("derive_key needs a purpose")
    prk = hmac.new(b"chargeops-key-derivation", secret_key.encode("utf-8"), hashlib.sha256).digest()
    return hmac.new(prk, purpose.encode("utf-8") + b"\x01", hashlib.sha256).digest()


def _enc(value: str) -> str:
    return quote(value, safe="", errors="surrogatepass")


def canonical(method: str, key: str, expires: int, params: Mapping[str, str]) -> bytes:
    verb = method.upper()
    if verb not in METHODS:
        raise ValueError(f"cannot sign method {method!r}")
    for name in params:
        if not _PARAM_NAME.fullmatch(name) or name in _RESERVED:
            raise ValueError(f"cannot sign a parameter named {name!r}")
    signed = "&".join(f"{name}={_enc(params[name])}" for name in sorted(params))
    return "\n".join((VERSION, verb, _enc(key), str(int(expires)), signed)).encode("ascii")


class UrlSigner:
    """Signs and verifies (method, key, expiry, params) with one HMAC-SHA256 key."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("a URL signing secret needs at least 16 bytes")
        self._secret = bytes(secret)

    def sign(self, method: str, key: str, expires: int, params: Mapping[str, str] | None = None) -> str:
        mac = hmac.new(self._secret, canonical(method, key, expires, params or {}), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")

    def verify(
        self,
        method: str,
        key: str,
        expires: int,
        params: Mapping[str, str] | None,
        signature: str,
        *,
        now: int,
    ) -> None:
        """Raise BadSignature unless ``signature`` is ours for exactly these values, then LinkExpired if
        ``now`` (unix seconds) is past ``expires``. The signature is checked first, so a forged expiry
        is reported as a bad signature, never as an expired link."""
        expected = self.sign(method, key, expires, params).encode("ascii")
        given = signature.encode("utf-8", "replace")
        if not hmac.compare_digest(expected, given):
            raise BadSignature("the link's signature is not valid")
        if now > expires:
            raise LinkExpired("the link has expired")
