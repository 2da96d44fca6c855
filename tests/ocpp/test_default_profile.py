"""The deployment's default security profile (CHARGEOPS_OCPP_DEFAULT_SECURITY_PROFILE, DESIGN §4): the profile of
every pile an operator gave none, auto-registered piles included; shown by GraphQL as the pile's profile; the
demo under it (each demo pile has its own password, which the simulator sends).

The suite's node runs with the development setting (0); these tests run a second node under the production
default (1) on the same database, or a ``chargeops serve --demo`` process of its own.
"""

from __future__ import annotations

from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from api.access.passwords import hash_password
from api.models import ChargePoint
from api.models.enums import RegistrationStatus
from api.settings import Settings, SettingsError
from api.simulator.run import SimulationOptions, run_simulation
from tests.ocpp._listener import basic, second_node
from tests.support.cp_client import StrictChargePoint
from tests.support.gql_client import data, gql
from tests.support.serve_process import ServeProcess

PASSWORD = "Default-Profile-01"
PROFILE = "query($id: ID!) { chargePoint(id: $id) { securityProfile hasPassword registrationStatus } }"
SET_PASSWORD = """mutation($cp: ID!, $password: String) {
  setChargePointPassword(chargePointId: $cp, password: $password, applyOnPile: false) { stored } }"""
SET_PROFILE = """mutation($cp: ID!, $profile: Int!) {
  setChargePointSecurityProfile(chargePointId: $cp, profile: $profile) { securityProfile } }"""


async def refused(url: str, headers: dict[str, str] | None = None) -> Any:
    """The HTTP response that refused the upgrade."""
    with pytest.raises(InvalidStatus) as refusal:
        await connect(url, subprotocols=["ocpp1.6"], additional_headers=headers, open_timeout=5)  # type: ignore[list-item]
    return refusal.value.response


async def boots(url: str, headers: dict[str, str] | None = None) -> str:
    """The pile gets in; its BootNotification's status."""
    ws = await connect(url, subprotocols=["ocpp1.6"], additional_headers=headers, open_timeout=5)  # type: ignore[list-item]
    pile = StrictChargePoint(ws)
    try:
        return str((await pile.boot())["status"])
    finally:
        await pile.close()


async def security_events(services: Any, charge_point_id: str) -> list[dict[str, Any]]:
    events = await services.charge_points.events(charge_point_id)
    return [e.payload for e in reversed(events) if e.kind == "SecurityEvent"]


def test_the_production_default_is_basic_auth_and_other_values_are_checked():
    assert Settings().ocpp_default_security_profile == 1
    assert Settings.from_env({}).ocpp_default_security_profile == 1
    assert Settings.from_env({"CHARGEOPS_OCPP_DEFAULT_SECURITY_PROFILE": "0"}).ocpp_default_security_profile == 0
    for wrong in ("4", "-1", "one"):
        with pytest.raises(SettingsError, match="OCPP_DEFAULT_SECURITY_PROFILE"):
            Settings.from_env({"CHARGEOPS_OCPP_DEFAULT_SECURITY_PROFILE": wrong})


async def test_a_pile_without_a_profile_of_its_own_must_meet_the_default(server):
    # given: a registered pile with no profile and no password of its own
    cp = await server.builders.charge_point()

    async with second_node(server, ocpp_default_security_profile=1) as node:
        # when: it connects bare
        response = await refused(node.ocpp_url(cp.id))

        # then: 401, and its SecurityEvent tells the operator what to do
        assert response.status_code == 401
        events = await security_events(server.services, cp.id)
        assert [e["reason"] for e in events] == ["no_password"]
        assert "setChargePointPassword" in events[0]["message"]
        assert (await ChargePoint.get(id=cp.id)).online is False

        # when: the operator sets its password (not sent: the pile is offline), configured on the pile by hand
        assert (await data(node.base_url, SET_PASSWORD, {"cp": cp.id, "password": PASSWORD},
                           token=server.admin_token))["setChargePointPassword"]["stored"] is True

        # then: it gets in with it, and only with it
        assert await boots(node.ocpp_url(cp.id), basic(cp.id, PASSWORD)) == "Accepted"
        assert (await refused(node.ocpp_url(cp.id))).status_code == 401

    # the suite's node (development setting) still asks for the password the pile now has
    assert (await refused(server.ocpp_url(cp.id))).status_code == 401


async def test_graphql_shows_the_profile_the_pile_must_meet(server):
    # given: a pile of no profile of its own, and one an operator put at profile 2
    bare = await server.builders.charge_point()
    own = await server.builders.charge_point()
    await server.services.charge_points.set_password_hash(own.id, await hash_password(PASSWORD))
    await server.services.charge_points.set_security_profile(own.id, 2)

    async with second_node(server, ocpp_default_security_profile=1) as node:
        # when
        under_default = await data(node.base_url, PROFILE, {"id": bare.id}, token=server.admin_token)
        under_own = await data(node.base_url, PROFILE, {"id": own.id}, token=server.admin_token)

    # then: never 0 where the default asks for 1; an operator's own profile wins
    assert under_default["chargePoint"]["securityProfile"] == 1
    assert under_own["chargePoint"]["securityProfile"] == 2
    # the development node shows 0 for the same pile: it really may connect bare there
    shown = await data(server.base_url, PROFILE, {"id": bare.id}, token=server.admin_token)
    assert shown["chargePoint"]["securityProfile"] == 0


async def test_an_operator_cannot_put_a_pile_below_a_default_that_authenticates(server):
    # given
    cp = await server.builders.charge_point()
    await server.services.charge_points.set_password_hash(cp.id, await hash_password(PASSWORD))

    async with second_node(server, ocpp_default_security_profile=1) as node:
        # when
        body = await gql(node.base_url, SET_PROFILE, {"cp": cp.id, "profile": 0}, token=server.admin_token)
        kept = await data(node.base_url, SET_PROFILE, {"cp": cp.id, "profile": 1}, token=server.admin_token)

    # then
    assert [e["extensions"]["code"] for e in body["errors"]] == ["INVALID_INPUT"]
    assert "development setting" in body["errors"][0]["message"]
    assert kept["setChargePointSecurityProfile"]["securityProfile"] == 1


async def test_an_auto_registered_pile_without_a_password_is_kept_pending_and_refused(server):
    # given: a node that auto-registers unknown piles, under the production default
    charge_point_id = "AUTO-DEFAULT-1"
    async with second_node(server, ocpp_default_security_profile=1, ocpp_auto_register=True) as node:
        # when: a new pile arrives with credentials no one gave it
        response = await refused(node.ocpp_url(charge_point_id), basic(charge_point_id, "Made-Up-Password-1"))

        # then: refused, but registered (pending), with a SecurityEvent for the operator to act on
        assert response.status_code == 401
        found = await ChargePoint.get(id=charge_point_id)
        assert found.registration_status == RegistrationStatus.PENDING and found.password_hash is None
        assert [e["reason"] for e in await security_events(server.services, charge_point_id)] == ["no_password"]
        shown = await data(node.base_url, PROFILE, {"id": charge_point_id}, token=server.admin_token)
        assert shown["chargePoint"] == {"securityProfile": 1, "hasPassword": False, "registrationStatus": "PENDING"}

        # when: the operator gives it a password
        await data(node.base_url, SET_PASSWORD, {"cp": charge_point_id, "password": PASSWORD}, token=server.admin_token)

        # then: it connects, still pending until accepted
        assert await boots(node.ocpp_url(charge_point_id), basic(charge_point_id, PASSWORD)) == "Pending"


async def test_the_demo_under_the_production_default_seeds_pile_passwords_the_simulator_sends(tmp_path):
    # given: `chargeops serve --demo` with the production default (the README's run command)
    node = ServeProcess({
        "PATH": "/usr/bin:/bin", "CHARGEOPS_DATABASE_URL": f"sqlite://{tmp_path / 'demo.sqlite3'}",
        "CHARGEOPS_FILES_DIR": str(tmp_path / "files"), "CHARGEOPS_SECRET_KEY": "demo-default-" + "d" * 32,
        "CHARGEOPS_OCPP_DEFAULT_SECURITY_PROFILE": "1",
    })
    node.env["CHARGEOPS_PUBLIC_URL"] = node.url
    await node.start()
    try:
        # when: the six simulated demo piles connect by themselves
        report = await run_simulation(SimulationOptions(
            url=f"{node.ws_url}/ocpp", piles=6, duration_s=4, connect_spread_s=0.5, idle_s=(30.0, 30.0),
        ))

        # then: each got in with its own password; a bare connection does not
        assert (report.piles_booted, report.connection_errors) == (6, 0)
        assert (await refused(node.ocpp_url("DEMO-0001"))).status_code == 401
        token = (await data(node.url, 'mutation { login(login: "admin", password: "chargeops-demo") { token } }'
                            ))["login"]["token"]
        shown = await data(node.url, PROFILE, {"id": "DEMO-0001"}, token=token)
        assert shown["chargePoint"] == {"securityProfile": 1, "hasPassword": True, "registrationStatus": "ACCEPTED"}
    finally:
        await node.stop()
