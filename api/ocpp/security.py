"""What a pile shows at its WebSocket handshake (OCPP security profiles 1-3), and how it is refused.

- **Basic auth** (profiles 1, 2): ``Authorization: Basic base64(<charge point id>:<password>)``. The id may
  itself hold a colon (our identities allow one), so the user name is the id when the credentials start with it.
- **TLS** (profiles 2, 3): the scope has the ASGI TLS extension when the server terminates TLS itself
  (``chargeops serve`` with CHARGEOPS_TLS_CERT_FILE); behind a proxy, only a trusted ``X-Forwarded-Proto``.
  Not the scope's ``scheme``: uvicorn rewrites it from ``X-Forwarded-Proto`` for its own trusted addresses
  (127.0.0.1 by default), whatever CHARGEOPS_TRUST_PROXY_HEADERS says.
- **Client certificate** (profile 3): read from the ASGI TLS extension, ``scope["extensions"]["tls"]
  ["client_cert_chain"]`` (PEM, leaf first). uvicorn does not fill that extension, so ``TlsWebSocketProtocol``
  (uvicorn's websockets-sansio protocol, which ``serve`` uses) adds it from the connection's
  ``transport.get_extra_info("ssl_object").getpeercert(binary_form=True)``. The TLS handshake has already
  verified the certificate against CHARGEOPS_TLS_CLIENT_CA_FILE (``CERT_OPTIONAL``: one that does not chain
  to the CA fails the TLS handshake; none at all is allowed, for profiles 0-2), so every certificate that
  reaches us was signed by the CA. Behind a TLS-terminating proxy (CHARGEOPS_TRUST_PROXY_HEADERS), the
  proxy's ``X-Client-Cert`` (URL-encoded PEM, nginx's ``$ssl_client_escaped_cert``) counts only with
  ``X-Client-Verify: SUCCESS``.

A refusal answers HTTP 401 (credentials missing or wrong, with ``WWW-Authenticate: Basic``) or 403
(unknown or rejected id, no TLS, wrong or missing certificate) through the ASGI WebSocket denial response;
the WebSocket never opens. The reason is not told to the pile, only logged and counted.

Refusals are limited (``HandshakeLimits``): past them a handshake is answered 429 with ``Retry-After`` before
any password hash is checked or any row written. The address counted is the TCP peer as the server saw it,
or, with CHARGEOPS_TRUST_PROXY_HEADERS, the last ``X-Forwarded-For`` entry (the one our proxy added); not
the scope's ``client``, which uvicorn rewrites from ``X-Forwarded-For`` for its own trusted addresses.
"""

from __future__ import annotations

import base64
import binascii
import math
import ssl
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from cryptography import x509
from cryptography.x509.oid import NameOID
from starlette.responses import PlainTextResponse
from starlette.websockets import WebSocket
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request

from api.charge_point.dto import HandshakeProof

TLS_VERSIONS = {"TLSv1.2": 0x0303, "TLSv1.3": 0x0304}
REALM = 'Basic realm="OCPP", charset="UTF-8"'
PEER = "chargeops.peer"
"""Scope key of the TCP peer (host, port) as the server accepted it, before uvicorn's proxy-header rewrite."""


class TlsWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websockets-sansio protocol, plus the ASGI TLS extension (client certificate) in the scope."""

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)  # absent when the upgrade itself was refused
        ssl_object = self.transport.get_extra_info("ssl_object") if self.transport is not None else None
        # the ASGI app runs in a task that has not started yet: the scope can still be completed
        if scope is not None:
            scope[PEER] = self.client  # uvicorn's proxy-headers middleware rewrites "client" in place
        if scope is not None and ssl_object is not None:
            scope["extensions"]["tls"] = tls_extension(ssl_object)

    async def send(self, message: Any) -> None:
        await super().send(message)
        if message["type"] == "websocket.http.response.body" and not message.get("more_body", False):
            # uvicorn 0.54 leaves the handshake "incomplete" after a denial response it sent itself, then logs
            # "ASGI callable returned without completing handshake" at ERROR for every refused pile
            self.handshake_complete = True


def tls_extension(ssl_object: ssl.SSLObject) -> dict[str, Any]:
    """The ASGI TLS extension's fields we can fill from Python's ssl object."""
    der = ssl_object.getpeercert(binary_form=True)
    name = x509.load_der_x509_certificate(der).subject.rfc4514_string() if der else None
    return {
        "server_cert": None,
        "client_cert_chain": [ssl.DER_cert_to_PEM_cert(der)] if der else [],
        "client_cert_name": name,
        "client_cert_error": None,  # verified by the handshake, or none was presented
        "tls_version": TLS_VERSIONS.get(ssl_object.version() or ""),
        "cipher_suite": None,
    }


def certificate_names(pem: str) -> tuple[str, ...]:
    """Subject common names, then DNS and URI subject alternative names, of a PEM certificate."""
    cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
    names = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        pass
    else:
        names += san.get_values_for_type(x509.DNSName)
        names += san.get_values_for_type(x509.UniformResourceIdentifier)
    return tuple(names)


def basic_credentials(headers: Iterable[tuple[bytes, bytes]], charge_point_id: str) -> tuple[str, str] | None:
    """(user name, password) of an ``Authorization: Basic`` header, or None when absent or unreadable."""
    for name, value in headers:
        if name.lower() != b"authorization":
            continue
        scheme, _, token = value.decode("latin-1").strip().partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        if decoded.startswith(f"{charge_point_id}:"):
            return charge_point_id, decoded[len(charge_point_id) + 1:]
        user, colon, password = decoded.partition(":")
        return (user, password) if colon else None
    return None


def _header(headers: Iterable[tuple[bytes, bytes]], wanted: bytes) -> str | None:
    for name, value in headers:
        if name.lower() == wanted:
            return value.decode("latin-1").strip()
    return None


def _names_or_nothing(pem: str) -> tuple[str, ...]:
    try:
        return certificate_names(pem)
    except ValueError:
        return ()  # presented, but not a certificate we can read: it names no pile


def proof_of(scope: dict[str, Any], charge_point_id: str, *, trust_proxy: bool) -> HandshakeProof:
    """Read what the pile showed from the ASGI scope of its upgrade request."""
    headers: list[tuple[bytes, bytes]] = list(scope.get("headers") or [])
    # not the scope's scheme: uvicorn rewrites it from X-Forwarded-Proto for its trusted proxy addresses
    tls = (scope.get("extensions") or {}).get("tls")
    secure = tls is not None
    names: tuple[str, ...] | None = None
    if tls and tls.get("client_cert_chain"):
        names = () if tls.get("client_cert_error") else _names_or_nothing(tls["client_cert_chain"][0])
    if trust_proxy:
        forwarded = (_header(headers, b"x-forwarded-proto") or "").split(",")[0].strip().lower()
        secure = secure or forwarded in ("https", "wss")
        escaped = _header(headers, b"x-client-cert")
        if escaped:
            verified = (_header(headers, b"x-client-verify") or "").upper() == "SUCCESS"
            names = _names_or_nothing(unquote(escaped)) if verified else ()
    credentials = basic_credentials(headers, charge_point_id)
    return HandshakeProof(
        secure=secure,
        username=credentials[0] if credentials else None,
        password=credentials[1] if credentials else None,
        certificate_names=names,
    )


def client_address(scope: dict[str, Any], *, trust_proxy: bool) -> str:
    """The address the handshake limits count and the security events name (see the module's docstring)."""
    if trust_proxy:
        forwarded = [v.decode("latin-1") for n, v in scope.get("headers") or [] if n.lower() == b"x-forwarded-for"]
        entries = [e.strip() for value in forwarded for e in value.split(",") if e.strip()]
        if entries:
            return entries[-1][:64]
    peer = scope.get(PEER) or scope.get("client")
    return str(peer[0]) if peer else "?"


async def refuse(websocket: WebSocket, status: int, retry_after_s: int | None = None) -> None:
    """Answer the upgrade with ``status`` (401 asks for Basic credentials, 429 says when to come back); the
    WebSocket never opens."""
    if "websocket.http.response" not in websocket.scope.get("extensions", {}):
        await websocket.close(code=1008)  # a server without denial responses answers 403
        return
    headers: dict[str, str] | None = None
    if status == 401:
        headers, text = {"WWW-Authenticate": REALM}, "authentication required\n"
    elif status == 429:
        headers, text = {"Retry-After": str(retry_after_s or 1)}, "too many refused handshakes\n"
    else:
        text = "forbidden\n"
    await websocket.send_denial_response(PlainTextResponse(text, status_code=status, headers=headers))


# -- limits on refused handshakes --------------------------------------------------------------------------


SUMMARY_REMOTES = 10
"""Addresses a window's summary SecurityEvent names at most."""


@dataclass
class AddressWindow:
    started: float
    refusals: int = 0


@dataclass
class PileWindow:
    """One window of refused handshakes claiming a registered pile's id; what its SecurityEvent sums up."""

    charge_point_id: str
    started: float
    ends: float
    refusals: int = 0
    """Refusals counted (each one's password was checked)."""
    addresses: set[str] = field(default_factory=set)
    """Addresses that were refused as this pile in the window."""
    remotes: set[str] = field(default_factory=set)
    """Addresses the summary names (a few): refused or answered 429 as this pile."""
    throttled: int = 0
    """Handshakes refused at once (429) in the window."""
    summed: Counter[str] = field(default_factory=Counter)
    """Refusals by reason that got no SecurityEvent of their own (the pile's limit was reached)."""
    summary_due: bool = False
    """A summary SecurityEvent is scheduled for the window's end."""

    def note_remote(self, address: str) -> None:
        if len(self.remotes) < SUMMARY_REMOTES:
            self.remotes.add(address)


@dataclass(frozen=True)
class Throttle:
    limit: str
    """``address`` or ``pile``: which limit was reached (the metric's label)."""
    retry_after_s: int
    window: PileWindow | None
    """The claimed pile's window, when it has one (its summary counts this refusal)."""


MAX_TRACKED = 100_000
"""Addresses, piles and last good addresses each node remembers at most (the oldest are forgotten first)."""


class HandshakeLimits:
    """Refused handshakes counted per address and per claimed pile, in fixed windows that start with their
    first refusal; one node's own counts (several nodes each apply the limits).

    - **Per address**: after ``per_address`` refusals in its window, every handshake from that address is
      answered 429 until the window ends; refusals answered 429 do not count, so the window ends on time
      whatever the address keeps sending.
    - **Per pile**: after ``per_pile`` refusals claiming one pile id (from any addresses) in its window, an
      address that was itself refused as that pile in the window is answered 429, and refusals of other
      addresses are still checked but summed into the window's one SecurityEvent instead of a row each.

    Why a pile with the right password is not locked out by someone hammering its id from elsewhere: the pile
    limit never refuses an address that was not itself refused as that pile in the current window, and the
    address limit does not apply to a pile's last address that connected successfully as it (this node
    remembers one per pile). So an attacker at another address costs the pile nothing; one behind the same
    address (a shared NAT) can delay a pile that never connected from there, and a pile that failed itself (an
    old password) waits at most one window (``window_s``) for its pile window to end. The price: an attacker
    with many addresses gets one verified guess per address per window once the pile's limit is reached,
    which the per-address limit and the length of pile passwords (≥ 16 characters) make harmless.
    Unregistered ids count against their address only, so a scan of random ids keeps no per-pile state.
    """

    def __init__(
        self, per_address: int, per_pile: int, window_s: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.per_address = per_address
        self.per_pile = per_pile
        self.window_s = window_s
        self.clock = clock
        self._addresses: OrderedDict[str, AddressWindow] = OrderedDict()
        self._piles: OrderedDict[str, PileWindow] = OrderedDict()
        self._last_good: OrderedDict[str, str] = OrderedDict()

    def _expire(self, now: float) -> None:
        # windows sit in the order they started, so the expired ones are at the front
        for table in (self._addresses, self._piles):
            while table:
                first = next(iter(table.values()))
                if now - first.started < self.window_s and len(table) <= MAX_TRACKED:
                    break
                table.popitem(last=False)

    def check(self, address: str, charge_point_id: str) -> Throttle | None:
        """Whether this handshake is refused at once (429), before anything else is done for it."""
        now = self.clock()
        self._expire(now)
        pile = self._piles.get(charge_point_id)
        seen = self._addresses.get(address)
        if (
            self.per_address and seen is not None and seen.refusals >= self.per_address
            and self._last_good.get(charge_point_id) != address
        ):
            return Throttle("address", self._retry_after(seen.started, now), self._throttled(pile))
        if self.per_pile and pile is not None and pile.refusals >= self.per_pile and address in pile.addresses:
            return Throttle("pile", self._retry_after(pile.started, now), self._throttled(pile))
        return None

    def refused(self, address: str, charge_point_id: str | None) -> PileWindow | None:
        """Count a refusal (``charge_point_id`` None: no registered pile to count it against). Returns the
        pile's window when this refusal goes into its summary instead of a SecurityEvent of its own."""
        now = self.clock()
        seen = self._addresses.get(address)
        if seen is None or now - seen.started >= self.window_s:
            self._addresses.pop(address, None)
            seen = self._addresses[address] = AddressWindow(now)
        seen.refusals += 1
        if charge_point_id is None:
            return None
        pile = self._piles.get(charge_point_id)
        if pile is None or now - pile.started >= self.window_s:
            self._piles.pop(charge_point_id, None)
            pile = self._piles[charge_point_id] = PileWindow(charge_point_id, now, now + self.window_s)
        pile.addresses.add(address)
        pile.note_remote(address)
        pile.refusals += 1
        return pile if self.per_pile and pile.refusals > self.per_pile else None

    def connected(self, address: str, charge_point_id: str) -> None:
        """The pile passed its handshake from ``address``: its address from now on, as far as the limits go."""
        self._last_good.pop(charge_point_id, None)
        self._last_good[charge_point_id] = address
        while len(self._last_good) > MAX_TRACKED:
            self._last_good.popitem(last=False)

    def _retry_after(self, started: float, now: float) -> int:
        return max(1, math.ceil(started + self.window_s - now))

    @staticmethod
    def _throttled(pile: PileWindow | None) -> PileWindow | None:
        if pile is not None:
            pile.throttled += 1
        return pile
