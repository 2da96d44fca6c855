"""OCPP security profiles at the handshake, over real sockets: Basic auth (1), TLS and Basic auth (2), TLS
client certificates (3); refusals (401/403, a SecurityEvent, a counted reason); password rotation through
OCPP 1.6 (AuthorizationKey, hex) and 2.0.1 (SecurityCtrlr.BasicAuthPassword) from GraphQL.

TLS runs on a second listener of the same node (its app, on another port, with ``chargeops serve``'s own TLS
options and WebSocket protocol), with a CA, a server certificate and pile certificates made here.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from prometheus_client import REGISTRY
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidMessage, InvalidStatus

from api.access.passwords import hash_password
from api.charge_point.dto import HandshakeProof
from api.cli import tls_options
from api.models import ChargePoint
from api.models.enums import Role
from api.ocpp import security
from api.ocpp.security import TlsWebSocketProtocol
from api.settings import Settings, SettingsError
from tests.support.cp_client import StrictChargePoint
from tests.support.cp_client_v201 import StrictChargingStation
from tests.support.gql_client import data, gql

PASSWORD = "Pile-Secret-0001"
OTHER_PASSWORD = "Pile-Secret-0002"

SET_PASSWORD = """mutation($cp: ID!, $password: String, $apply: Boolean! = true) {
  setChargePointPassword(chargePointId: $cp, password: $password, applyOnPile: $apply) {
    chargePointId stored password result { outcome status } } }"""
SET_PROFILE = """mutation($cp: ID!, $profile: Int!) {
  setChargePointSecurityProfile(chargePointId: $cp, profile: $profile) { chargePointId securityProfile hasPassword } }"""


# -- a small PKI ------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Pki:
    folder: Path
    ca_file: Path
    ca_key: ec.EllipticCurvePrivateKey
    ca_name: x509.Name
    server_cert: Path
    server_key: Path

    def client(self, common_name: str, *, dns: str | None = None, signed_by_us: bool = True) -> tuple[Path, Path]:
        """A client certificate (and key) for ``common_name``; by our CA, or by a stranger's."""
        issuer_key, issuer_name = self.ca_key, self.ca_name
        if not signed_by_us:
            issuer_key = ec.generate_private_key(ec.SECP256R1())
            issuer_name = _name("Some other CA")
        key = ec.generate_private_key(ec.SECP256R1())
        san = [x509.DNSName(dns)] if dns else None
        cert = _certificate(_name(common_name), key, issuer_name, issuer_key, san=san, client=True)
        stem = self.folder / f"client-{common_name}-{dns}-{signed_by_us}"
        return _write(stem, cert, key)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ChargeOps test"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(
    subject: x509.Name, key: ec.EllipticCurvePrivateKey, issuer: x509.Name, issuer_key: ec.EllipticCurvePrivateKey,
    *, ca: bool = False, san: list[x509.GeneralName] | None = None, client: bool = False,
) -> x509.Certificate:
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                          key_encipherment=False, data_encipherment=False, key_agreement=False,
                          encipher_only=False, decipher_only=False), critical=True)
    else:
        usage = x509.ExtendedKeyUsageOID.CLIENT_AUTH if client else x509.ExtendedKeyUsageOID.SERVER_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _write(stem: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> tuple[Path, Path]:
    cert_file, key_file = stem.with_suffix(".crt"), stem.with_suffix(".key")
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ))
    return cert_file, key_file


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder = tmp_path_factory.mktemp("pki")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("ChargeOps test CA")
    ca = _certificate(ca_name, ca_key, ca_name, ca_key, ca=True)
    ca_file, _ = _write(folder / "ca", ca, ca_key)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = _certificate(_name("127.0.0.1"), server_key, ca_name, ca_key,
                          san=[x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")])
    server_cert, server_key_file = _write(folder / "server", server, server_key)
    return Pki(folder, ca_file, ca_key, ca_name, server_cert, server_key_file)


@pytest.fixture(scope="module")
async def tls_url(server, pki: Pki) -> AsyncIterator[str]:
    """The node's app on a second port, with TLS exactly as ``chargeops serve`` sets it up."""
    settings = Settings(tls_cert_file=str(pki.server_cert), tls_key_file=str(pki.server_key),
                        tls_client_ca_file=str(pki.ca_file))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(server.app, ws=TlsWebSocketProtocol, lifespan="off", log_level="warning",
                            **tls_options(settings))
    uv = uvicorn.Server(config)
    task = asyncio.create_task(uv.serve(sockets=[sock]))
    while not uv.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"wss://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        uv.should_exit = True
        await task
        sock.close()


def client_tls(pki: Pki, certificate: tuple[Path, Path] | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki.ca_file))  # a strict client: checks the server's name
    if certificate is not None:
        context.load_cert_chain(*map(str, certificate))
    return context


# -- helpers -------------------------------------------------------------------------------------------


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


async def open_pile(
    url: str, headers: dict[str, str] | None = None, tls: ssl.SSLContext | None = None,
    kind: type[StrictChargePoint] = StrictChargePoint,
) -> StrictChargePoint:
    ws = await connect(url, subprotocols=[kind.subprotocol], additional_headers=headers, ssl=tls,  # type: ignore[list-item]
                       open_timeout=5)
    return kind(ws)


async def connects(url: str, headers: dict[str, str] | None = None, tls: ssl.SSLContext | None = None) -> bool:
    """The pile gets in and is answered (a Heartbeat)."""
    pile = await open_pile(url, headers, tls)
    try:
        return bool((await pile.call("Heartbeat", {}))["currentTime"])
    finally:
        await pile.close()


async def refusal(url: str, headers: dict[str, str] | None = None, tls: ssl.SSLContext | None = None) -> Any:
    """The HTTP response that refused the upgrade."""
    with pytest.raises(InvalidStatus) as refused:
        await open_pile(url, headers, tls)
    return refused.value.response


async def secured_pile(server, profile: int, password: str | None = PASSWORD) -> ChargePoint:
    cp = await server.builders.charge_point()
    if password is not None:
        await server.services.charge_points.set_password_hash(cp.id, await hash_password(password))
    return await server.services.charge_points.set_security_profile(cp.id, profile)


async def security_events(server, charge_point_id: str) -> list[dict[str, Any]]:
    """Oldest first."""
    events = await server.services.charge_points.events(charge_point_id)
    return [e.payload for e in reversed(events) if e.kind == "SecurityEvent"]


def refusals(reason: str) -> float:
    return REGISTRY.get_sample_value("chargeops_ocpp_handshake_refusals_total", {"reason": reason}) or 0.0


# -- profile 1: Basic auth -----------------------------------------------------------------------------


async def test_profile_1_pile_with_its_password_connects(server):
    # given
    cp = await secured_pile(server, 1)

    # when / then
    assert await connects(server.ocpp_url(cp.id), basic(cp.id, PASSWORD))
    assert await security_events(server, cp.id) == []


@pytest.mark.parametrize(
    ("credentials", "reason"),
    [
        pytest.param(lambda cp, other: basic(cp, OTHER_PASSWORD), "wrong_credentials", id="wrong password"),
        pytest.param(lambda cp, other: None, "missing_credentials", id="no credentials"),
        pytest.param(lambda cp, other: basic(other, OTHER_PASSWORD), "wrong_credentials", id="other pile's login"),
        pytest.param(lambda cp, other: basic(cp, OTHER_PASSWORD), "wrong_credentials", id="other pile's password"),
        pytest.param(lambda cp, other: {"Authorization": "Basic !!!"}, "missing_credentials", id="unreadable"),
        pytest.param(lambda cp, other: {"Authorization": "Bearer " + PASSWORD}, "missing_credentials", id="bearer"),
    ],
)
async def test_profile_1_pile_without_the_right_credentials_is_refused_with_401(server, credentials, reason):
    # given: two piles, each with its own password
    cp = await secured_pile(server, 1, PASSWORD)
    other = await secured_pile(server, 1, OTHER_PASSWORD)
    before = refusals(reason)

    # when
    response = await refusal(server.ocpp_url(cp.id), credentials(cp.id, other.id))

    # then
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic ")
    events = await security_events(server, cp.id)
    assert [e["reason"] for e in events] == [reason]
    assert events[0]["tls"] is False and events[0]["remote"] == "127.0.0.1"
    assert refusals(reason) == before + 1
    assert (await server.services.charge_points.get(cp.id)).online is False


async def test_unregistered_pile_is_refused_with_403_and_counted(server):
    # given
    before = refusals("unregistered")

    # when
    response = await refusal(server.ocpp_url("NOBODY-WITH-A-PASSWORD"), basic("NOBODY-WITH-A-PASSWORD", PASSWORD))

    # then
    assert response.status_code == 403
    assert not await ChargePoint.filter(id="NOBODY-WITH-A-PASSWORD").exists()
    assert refusals("unregistered") == before + 1


async def test_profile_0_pile_without_a_password_connects_bare_but_with_one_must_present_it(server):
    # given
    bare = await secured_pile(server, 0, password=None)
    with_password = await secured_pile(server, 0)

    # when / then
    assert await connects(server.ocpp_url(bare.id))
    assert await connects(server.ocpp_url(bare.id), basic(bare.id, "whatever-it-sends"))  # nothing to check
    assert (await refusal(server.ocpp_url(with_password.id))).status_code == 401
    assert await connects(server.ocpp_url(with_password.id), basic(with_password.id, PASSWORD))


async def test_proxy_headers_are_not_believed_by_default(server):
    # given: a profile 2 pile over plain ws, claiming a proxy ended TLS
    cp = await secured_pile(server, 2)

    # when
    response = await refusal(server.ocpp_url(cp.id), {"X-Forwarded-Proto": "https", **basic(cp.id, PASSWORD)})

    # then
    assert response.status_code == 403
    assert [e["reason"] for e in await security_events(server, cp.id)] == ["tls_required"]


def test_proxy_headers_count_only_when_trusted_and_verified(pki):
    # given
    cert_file, _ = pki.client("CP-PROXY-1")
    escaped = cert_file.read_text().replace("\n", "%0A").replace(" ", "%20").replace("+", "%2B")
    headers = [(b"x-forwarded-proto", b"https"), (b"x-client-cert", escaped.encode()),
               (b"x-client-verify", b"SUCCESS")]
    scope = {"type": "websocket", "scheme": "wss", "headers": headers, "extensions": {}}  # scheme: never believed

    # when
    trusted = security.proof_of(scope, "CP-PROXY-1", trust_proxy=True)
    untrusted = security.proof_of(scope, "CP-PROXY-1", trust_proxy=False)
    failed = security.proof_of({**scope, "headers": [*headers[:2], (b"x-client-verify", b"FAILED:unknown ca")]},
                               "CP-PROXY-1", trust_proxy=True)

    # then
    assert trusted == HandshakeProof(secure=True, certificate_names=("CP-PROXY-1",))
    assert untrusted == HandshakeProof(secure=False)
    assert failed.certificate_names == ()  # shown, but it names nobody: refused as a wrong certificate


def test_basic_credentials_of_an_identity_with_a_colon():
    headers = [(b"authorization", b"Basic " + base64.b64encode(b"CP:7:pass:word"))]
    assert security.basic_credentials(headers, "CP:7") == ("CP:7", "pass:word")
    assert security.basic_credentials(headers, "CP") == ("CP", "7:pass:word")


# -- profile 2: TLS and Basic auth ---------------------------------------------------------------------


async def test_profile_2_pile_connects_over_tls_with_its_password(server, tls_url, pki):
    # given
    cp = await secured_pile(server, 2)

    # when / then
    assert await connects(f"{tls_url}/ocpp/{cp.id}", basic(cp.id, PASSWORD), client_tls(pki))
    assert (await refusal(f"{tls_url}/ocpp/{cp.id}", basic(cp.id, OTHER_PASSWORD), client_tls(pki))).status_code == 401
    assert [e["reason"] for e in await security_events(server, cp.id)] == ["wrong_credentials"]
    assert (await security_events(server, cp.id))[0]["tls"] is True


async def test_profile_2_pile_over_plain_ws_is_refused(server):
    # given
    cp = await secured_pile(server, 2)
    before = refusals("tls_required")

    # when
    response = await refusal(server.ocpp_url(cp.id), basic(cp.id, PASSWORD))

    # then: the right password does not help over plain ws
    assert response.status_code == 403
    assert [e["reason"] for e in await security_events(server, cp.id)] == ["tls_required"]
    assert refusals("tls_required") == before + 1


async def test_profile_1_pile_may_also_use_tls(server, tls_url, pki):
    cp = await secured_pile(server, 1)
    assert await connects(f"{tls_url}/ocpp/{cp.id}", basic(cp.id, PASSWORD), client_tls(pki))


# -- profile 3: TLS client certificates ----------------------------------------------------------------


async def test_profile_3_pile_connects_with_its_own_certificate(server, tls_url, pki):
    # given: no password at all; the certificate names the pile (its subject CN, or a SAN)
    by_cn = await secured_pile(server, 3, password=None)
    by_san = await secured_pile(server, 3, password=None)

    # when / then
    assert await connects(f"{tls_url}/ocpp/{by_cn.id}", tls=client_tls(pki, pki.client(by_cn.id)))
    assert await connects(f"{tls_url}/ocpp/{by_san.id}", tls=client_tls(pki, pki.client("pile", dns=by_san.id)))
    assert await security_events(server, by_cn.id) == []


async def test_profile_3_pile_with_another_piles_certificate_is_refused(server, tls_url, pki):
    # given
    cp = await secured_pile(server, 3, password=None)
    other = await secured_pile(server, 3, password=None)
    before = refusals("wrong_client_cert")

    # when
    response = await refusal(f"{tls_url}/ocpp/{cp.id}", tls=client_tls(pki, pki.client(other.id)))

    # then
    assert response.status_code == 403
    events = await security_events(server, cp.id)
    assert [e["reason"] for e in events] == ["wrong_client_cert"]
    assert other.id in events[0]["message"]
    assert refusals("wrong_client_cert") == before + 1


async def test_profile_3_pile_without_a_certificate_is_refused_even_with_a_password(server, tls_url, pki):
    # given
    cp = await secured_pile(server, 3)

    # when
    over_tls = await refusal(f"{tls_url}/ocpp/{cp.id}", basic(cp.id, PASSWORD), client_tls(pki))
    plain = await refusal(server.ocpp_url(cp.id), basic(cp.id, PASSWORD))

    # then
    assert (over_tls.status_code, plain.status_code) == (403, 403)
    assert [e["reason"] for e in await security_events(server, cp.id)] == ["missing_client_cert", "tls_required"]


async def test_a_certificate_from_another_ca_fails_the_tls_handshake(server, tls_url, pki):
    # given
    cp = await secured_pile(server, 3, password=None)
    stranger = client_tls(pki, pki.client(cp.id, signed_by_us=False))

    # when / then: refused by TLS itself (an alert instead of an HTTP answer); nothing reaches the app
    with pytest.raises((ssl.SSLError, ConnectionError, InvalidMessage)):
        await connects(f"{tls_url}/ocpp/{cp.id}", tls=stranger)
    assert await security_events(server, cp.id) == []
    assert (await server.services.charge_points.get(cp.id)).online is False


# -- the mutations -------------------------------------------------------------------------------------


async def test_a_provisioned_password_and_profile_1_from_graphql(server):
    # given
    cp = await server.builders.charge_point()
    token = server.admin_token

    # when
    provisioned = await data(server.base_url, SET_PASSWORD, {"cp": cp.id, "password": PASSWORD, "apply": False},
                             token=token)
    profile = await data(server.base_url, SET_PROFILE, {"cp": cp.id, "profile": 1}, token=token)

    # then
    assert provisioned["setChargePointPassword"] == {
        "chargePointId": cp.id, "stored": True, "password": None, "result": None,
    }
    assert profile["setChargePointSecurityProfile"] == {"chargePointId": cp.id, "securityProfile": 1, "hasPassword": True}
    shown = await data(server.base_url, "query($cp: ID!) { chargePoint(id: $cp) { securityProfile hasPassword } }",
                       {"cp": cp.id}, token=token)
    assert shown["chargePoint"] == {"securityProfile": 1, "hasPassword": True}
    assert (await refusal(server.ocpp_url(cp.id))).status_code == 401
    assert await connects(server.ocpp_url(cp.id), basic(cp.id, PASSWORD))
    stored = await ChargePoint.get(id=cp.id)
    assert stored.password_hash is not None and PASSWORD not in stored.password_hash
    assert stored.password_hash.startswith("$argon2id$")


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"profile": 1}, "no password yet"),
        ({"profile": 4}, "does not exist"),
    ],
)
async def test_security_profile_refuses_what_would_lock_a_pile_out(server, variables, message):
    cp = await server.builders.charge_point()
    body = await gql(server.base_url, SET_PROFILE, {"cp": cp.id, **variables}, token=server.admin_token)
    assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    assert message in body["errors"][0]["message"]
    assert (await ChargePoint.get(id=cp.id)).security_profile == 0


async def test_only_operator_admins_set_the_profile_and_station_staff_rotate_passwords(server):
    # given
    station = await server.builders.station()
    cp = await server.builders.charge_point(station)
    _, manager = await server.builders.person(Role.STATION_MANAGER, station_id=station.id)
    _, operator = await server.builders.person(Role.OPERATOR_ADMIN, operator_id=station.operator_id)
    _, elsewhere = await server.builders.person(Role.STATION_MANAGER, station_id=(await server.builders.station()).id)

    # when
    by_manager = await gql(server.base_url, SET_PROFILE, {"cp": cp.id, "profile": 3}, token=manager)
    by_operator = await gql(server.base_url, SET_PROFILE, {"cp": cp.id, "profile": 3}, token=operator)
    rotated = await gql(server.base_url, SET_PASSWORD, {"cp": cp.id, "password": PASSWORD, "apply": False},
                        token=manager)
    foreign = await gql(server.base_url, SET_PASSWORD, {"cp": cp.id, "apply": False}, token=elsewhere)
    anonymous = await gql(server.base_url, SET_PASSWORD, {"cp": cp.id, "apply": False})

    # then
    assert by_manager["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert by_operator["data"]["setChargePointSecurityProfile"]["securityProfile"] == 3
    assert rotated["data"]["setChargePointPassword"]["stored"] is True
    assert foreign["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize("password", ["short-1", "x" * 21, "has spaces in it!!", "パスワードパスワードパスワードパスワード"])
async def test_a_password_piles_cannot_hold_is_refused(server, password):
    cp = await server.builders.charge_point()
    body = await gql(server.base_url, SET_PASSWORD, {"cp": cp.id, "password": password, "apply": False},
                     token=server.admin_token)
    assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    assert (await ChargePoint.get(id=cp.id)).password_hash is None


async def test_the_password_is_not_set_through_change_configuration(server):
    cp = await server.builders.charge_point()
    mutation = 'mutation($cp: ID!) { changeConfiguration(chargePointId: $cp, key: "AuthorizationKey", value: "00") { outcome } }'
    body = await gql(server.base_url, mutation, {"cp": cp.id}, token=server.admin_token)
    assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    assert "setChargePointPassword" in body["errors"][0]["message"]


# -- rotation through OCPP -----------------------------------------------------------------------------


async def rotate(server, pile: StrictChargePoint, charge_point_id: str, action: str, answer: dict[str, Any]):
    """Run setChargePointPassword (generated) while the pile answers ``action``; (CALL frame, mutation result)."""
    mutation = asyncio.create_task(gql(server.base_url, SET_PASSWORD, {"cp": charge_point_id}, token=server.admin_token))
    frame = await pile.expect_call(action)
    await pile.answer(frame, answer)
    body = await mutation
    assert "errors" not in body, body["errors"]
    return frame, body["data"]["setChargePointPassword"]


async def test_rotation_on_a_16_pile_that_accepts(server):
    # given: a profile 1 pile, connected with its password
    cp = await secured_pile(server, 1)
    pile = await open_pile(server.ocpp_url(cp.id), basic(cp.id, PASSWORD))
    await pile.boot()

    # when
    frame, result = await rotate(server, pile, cp.id, "ChangeConfiguration", {"status": "Accepted"})
    await pile.close()

    # then: the pile got the generated password hex-encoded (20 bytes, the 1.6 maximum)
    new = result["password"]
    assert len(new) == 20 and new != PASSWORD
    assert frame[3] == {"key": "AuthorizationKey", "value": new.encode("ascii").hex()}
    assert result["stored"] is True and result["result"] == {"outcome": "ACCEPTED", "status": "Accepted"}
    # until the pile first uses the new password the old one still opens (it may reconnect before switching)
    assert await connects(server.ocpp_url(cp.id), basic(cp.id, PASSWORD))
    assert await connects(server.ocpp_url(cp.id), basic(cp.id, new))
    assert (await refusal(server.ocpp_url(cp.id), basic(cp.id, PASSWORD))).status_code == 401
    assert [e["reason"] for e in await security_events(server, cp.id)] == ["wrong_credentials"]


async def test_rotation_without_grace_refuses_the_old_password_at_once(server, monkeypatch):
    # given
    monkeypatch.setattr(server.services.charge_points, "password_grace_s", 0)
    cp = await secured_pile(server, 1)
    pile = await open_pile(server.ocpp_url(cp.id), basic(cp.id, PASSWORD))

    # when
    _, result = await rotate(server, pile, cp.id, "ChangeConfiguration", {"status": "RebootRequired"})
    await pile.close()

    # then
    assert result["stored"] is True
    assert (await refusal(server.ocpp_url(cp.id), basic(cp.id, PASSWORD))).status_code == 401
    assert await connects(server.ocpp_url(cp.id), basic(cp.id, result["password"]))


async def test_rotation_on_a_16_pile_that_rejects_keeps_the_old_password(server):
    # given
    cp = await secured_pile(server, 1)
    pile = await open_pile(server.ocpp_url(cp.id), basic(cp.id, PASSWORD))
    await pile.boot()

    # when
    frame, result = await rotate(server, pile, cp.id, "ChangeConfiguration", {"status": "Rejected"})
    await pile.close()

    # then
    assert result == {"chargePointId": cp.id, "stored": False, "password": None,
                      "result": {"outcome": "REJECTED", "status": "Rejected"}}
    offered = bytes.fromhex(frame[3]["value"]).decode("ascii")
    assert (await refusal(server.ocpp_url(cp.id), basic(cp.id, offered))).status_code == 401
    assert await connects(server.ocpp_url(cp.id), basic(cp.id, PASSWORD))


async def test_rotation_on_a_201_pile(server):
    # given
    cp = await secured_pile(server, 1)
    station = await open_pile(server.ocpp_url(cp.id), basic(cp.id, PASSWORD), kind=StrictChargingStation)
    await station.boot()
    variable = {"component": {"name": "SecurityCtrlr"}, "variable": {"name": "BasicAuthPassword"}}

    # when
    frame, result = await rotate(server, station, cp.id, "SetVariables",
                                 {"setVariableResult": [{"attributeStatus": "Accepted", **variable}]})
    await station.close()

    # then: 2.0.1 takes the password in clear, up to 40 characters
    new = result["password"]
    assert len(new) == 32
    assert frame[3] == {"setVariableData": [{"attributeValue": new, **variable}]}
    assert result["stored"] is True and result["result"]["outcome"] == "ACCEPTED"
    assert await connects(server.ocpp_url(cp.id), basic(cp.id, new))
    assert (await refusal(server.ocpp_url(cp.id), basic(cp.id, PASSWORD))).status_code == 401


async def test_rotation_on_a_201_pile_that_rejects(server):
    # given
    cp = await secured_pile(server, 1)
    station = await open_pile(server.ocpp_url(cp.id), basic(cp.id, PASSWORD), kind=StrictChargingStation)
    variable = {"component": {"name": "SecurityCtrlr"}, "variable": {"name": "BasicAuthPassword"}}

    # when
    frame, result = await rotate(server, station, cp.id, "SetVariables",
                                 {"setVariableResult": [{"attributeStatus": "Rejected", **variable}]})
    await station.close()

    # then
    assert result["stored"] is False and result["result"]["outcome"] == "REJECTED"
    offered = frame[3]["setVariableData"][0]["attributeValue"]
    assert (await refusal(server.ocpp_url(cp.id), basic(cp.id, offered))).status_code == 401
    assert await connects(server.ocpp_url(cp.id), basic(cp.id, PASSWORD))


async def test_an_offline_pile_keeps_its_password_and_the_trail_never_shows_one(server):
    # given
    cp = await secured_pile(server, 1)

    # when
    body = await data(server.base_url, SET_PASSWORD, {"cp": cp.id}, token=server.admin_token)
    trail = await data(
        server.base_url,
        'query($cp: ID!) { auditTrail(filter: {actionPrefix: "pile.set_password", chargePointId: $cp}) '
        "{ entries { action outcome details result } } }",
        {"cp": cp.id}, token=server.admin_token,
    )

    # then
    assert body["setChargePointPassword"] == {"chargePointId": cp.id, "stored": False, "password": None,
                                             "result": {"outcome": "OFFLINE", "status": None}}
    entries = trail["auditTrail"]["entries"]
    assert [(e["action"], e["outcome"]) for e in entries] == [("pile.set_password", "offline")]
    assert entries[0]["details"]["password"] == "(hidden)"
    assert await connects(server.ocpp_url(cp.id), basic(cp.id, PASSWORD))


def test_the_metric_has_a_closed_set_of_reasons(server):
    # every reason is exported from the start (at 0 until it happens), and no other
    reasons = {
        "invalid_identity", "unregistered", "rejected", "missing_credentials", "wrong_credentials", "no_password",
        "tls_required", "missing_client_cert", "wrong_client_cert",
    }
    samples = [s for metric in REGISTRY.collect() if metric.name == "chargeops_ocpp_handshake_refusals"
               for s in metric.samples if s.name.endswith("_total")]
    assert {s.labels["reason"] for s in samples} == reasons


def test_tls_settings_become_serves_uvicorn_options():
    # given
    env = {"CHARGEOPS_TLS_CERT_FILE": "/etc/cs/server.crt", "CHARGEOPS_TLS_KEY_FILE": "/etc/cs/server.key",
           "CHARGEOPS_TLS_CLIENT_CA_FILE": "/etc/cs/piles-ca.crt", "CHARGEOPS_TRUST_PROXY_HEADERS": "0"}

    # when
    settings = Settings.from_env(env)

    # then: a client certificate is asked for, not required (profiles 0-2 share the port)
    assert tls_options(settings) == {
        "ssl_certfile": "/etc/cs/server.crt", "ssl_keyfile": "/etc/cs/server.key",
        "ssl_ca_certs": "/etc/cs/piles-ca.crt", "ssl_cert_reqs": ssl.CERT_OPTIONAL,
    }
    assert tls_options(Settings.from_env({})) == {}
    assert Settings.from_env({}).trust_proxy_headers is False
    with pytest.raises(SettingsError):
        Settings.from_env({"CHARGEOPS_TLS_CLIENT_CA_FILE": "/etc/cs/piles-ca.crt"})
