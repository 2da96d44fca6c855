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
"""

from __future__ import annotations

import base64
import binascii
import ssl
from collections.abc import Iterable
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


class TlsWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websockets-sansio protocol, plus the ASGI TLS extension (client certificate) in the scope."""

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)  # absent when the upgrade itself was refused
        ssl_object = self.transport.get_extra_info("ssl_object") if self.transport is not None else None
        if scope is not None and ssl_object is not None:
            # the ASGI app runs in a task that has not started yet: the scope can still be completed
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


async def refuse(websocket: WebSocket, status: int) -> None:
    """Answer the upgrade with ``status`` (401 asks for Basic credentials); the WebSocket never opens."""
    if "websocket.http.response" not in websocket.scope.get("extensions", {}):
        await websocket.close(code=1008)  # a server without denial responses answers 403
        return
    headers = {"WWW-Authenticate": REALM} if status == 401 else None
    text = "authentication required\n" if status == 401 else "forbidden\n"
    await websocket.send_denial_response(PlainTextResponse(text, status_code=status, headers=headers))
