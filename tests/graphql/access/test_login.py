"""Staff login with argon2id passwords and JWTs: good and bad credentials, lockout, bad/expired/revoked tokens."""

from __future__ import annotations

from datetime import timedelta

import jwt

from api.access.dto import Grant
from api.access.tokens import AUDIENCE, ISSUER
from api.models.enums import Role
from tests.support.builders import unique
from tests.support.gql_client import gql

LOGIN = """mutation($l: String!, $p: String!) { login(login: $l, password: $p) {
  token expiresInS me { name grants { role stationId } } } }"""
ME = "{ me { id name grants { role } } }"


async def staff(server, password: str = "correct-horse-battery") -> tuple[str, str]:
    station = await server.builders.station()
    login = unique("mgr").lower()
    await server.services.access.create_user(
        None, "站长", login, password, [Grant(Role.STATION_MANAGER, station_id=station.id)]
    )
    return login, str(station.id)


async def test_login_gives_a_token_that_identifies_the_person(server):
    login, station_id = await staff(server)
    body = await gql(server.base_url, LOGIN, {"l": login.upper(), "p": "correct-horse-battery"})
    result = body["data"]["login"]
    assert result["me"] == {"name": "站长", "grants": [{"role": "STATION_MANAGER", "stationId": station_id}]}
    assert result["expiresInS"] == server.services.settings.token_ttl_s
    me = await gql(server.base_url, ME, token=result["token"])
    assert me["data"]["me"]["name"] == "站长"
    # stored hash is argon2id, never the password
    user = await server.services.access.viewer_from_token(result["token"])
    from api.models import User

    stored = await User.get(id=user.user_id)
    assert stored.password_hash.startswith("$argon2id$")
    assert "correct-horse-battery" not in stored.password_hash


async def test_wrong_password_and_unknown_login_fail_alike_then_lock(server):
    login, _ = await staff(server)
    unknown = await gql(server.base_url, LOGIN, {"l": "nobody-here", "p": "whatever-it-is"})
    wrong = await gql(server.base_url, LOGIN, {"l": login, "p": "not-the-password"})
    assert unknown["errors"][0]["extensions"]["code"] == wrong["errors"][0]["extensions"]["code"] == "LOGIN_FAILED"
    assert unknown["errors"][0]["message"] == wrong["errors"][0]["message"]
    for _ in range(4):
        await gql(server.base_url, LOGIN, {"l": login, "p": "not-the-password"})
    locked = await gql(server.base_url, LOGIN, {"l": login, "p": "correct-horse-battery"})
    assert locked["errors"][0]["extensions"]["code"] == "ACCOUNT_LOCKED"


async def test_bad_expired_and_revoked_tokens_are_refused_with_a_reason(server):
    login, _ = await staff(server)
    token = (await gql(server.base_url, LOGIN, {"l": login, "p": "correct-horse-battery"}))["data"]["login"]["token"]

    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert (await gql(server.base_url, ME, token=tampered))["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

    forged = jwt.encode({"sub": "1", "ver": 0, "iss": ISSUER, "aud": AUDIENCE, "iat": 0, "exp": 9999999999},
                        "not-our-key-not-our-key-not-our-key", algorithm="HS256")
    assert (await gql(server.base_url, ME, token=forged))["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

    none_alg = jwt.encode({"sub": "1", "ver": 0, "iss": ISSUER, "aud": AUDIENCE, "iat": 0, "exp": 9999999999},
                          None, algorithm="none")
    assert (await gql(server.base_url, ME, token=none_alg))["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

    claims = server.services.access.tokens.read(token, server.services.clock.now())
    expired = server.services.access.tokens.issue(
        claims.user_id, claims.token_version, server.services.clock.now() - timedelta(days=2)
    )
    body = await gql(server.base_url, ME, token=expired)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "expired" in body["errors"][0]["message"]

    change = """mutation { changePassword(currentPassword: "correct-horse-battery",
      newPassword: "another-good-passphrase") }"""
    assert (await gql(server.base_url, change, token=token))["data"] == {"changePassword": True}
    revoked = await gql(server.base_url, ME, token=token)
    assert "revoked" in revoked["errors"][0]["message"]
    relogin = await gql(server.base_url, LOGIN, {"l": login, "p": "another-good-passphrase"})
    assert relogin["data"]["login"]["token"]


async def test_me_is_null_without_a_token_and_malformed_headers_say_why(server):
    assert (await gql(server.base_url, ME))["data"] == {"me": None}
    import httpx

    async with httpx.AsyncClient(base_url=server.base_url) as client:
        response = await client.post("/graphql", json={"query": ME}, headers={"Authorization": "Basic abc"})
    assert "Bearer" in response.json()["errors"][0]["message"]


async def test_operator_admin_creates_staff_only_inside_its_operator(server):
    station = await server.builders.station()
    other = await server.builders.station()
    _, admin = await server.builders.person(Role.OPERATOR_ADMIN, operator_id=station.operator_id)
    create = """mutation($l: String!, $g: [GrantInput!]!) { createStaff(name: "值班员", login: $l,
      password: "correct-horse-battery", grants: $g) { id login grants { role stationId } } }"""
    ok = await gql(server.base_url, create, {"l": unique("duty").lower(),
                                              "g": [{"role": "STATION_MANAGER", "stationId": station.id}]}, token=admin)
    assert ok["data"]["createStaff"]["grants"] == [{"role": "STATION_MANAGER", "stationId": str(station.id)}]
    refused = await gql(server.base_url, create, {"l": unique("duty").lower(),
                                                   "g": [{"role": "STATION_MANAGER", "stationId": other.id}]},
                        token=admin)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    escalate = await gql(server.base_url, create, {"l": unique("duty").lower(), "g": [{"role": "PLATFORM_ADMIN"}]},
                         token=admin)
    assert escalate["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    weak = await gql(server.base_url, create, {"l": unique("duty").lower(),
                                                "g": [{"role": "STATION_MANAGER", "stationId": station.id}]},
                     token=admin)
    assert "errors" not in weak
    short = """mutation($l: String!, $s: ID!) { createStaff(name: "x", login: $l, password: "short",
      grants: [{role: STATION_MANAGER, stationId: $s}]) { id } }"""
    body = await gql(server.base_url, short, {"l": unique("duty").lower(), "s": station.id}, token=admin)
    assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
