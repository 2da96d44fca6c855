"""Drivers log in through the mini-programs: wx.login codes against a local fake of jscode2session, and
my.getAuthCode codes against the Alipay fake; bad, reused and unlucky codes give clear errors."""

from __future__ import annotations

import uuid

import httpx
import pytest

from api.payments.providers.alipay import AlipayClient
from api.payments.providers.wechat_login import WeChatLoginClient
from tests.fakes.alipay import running_alipay_fake
from tests.fakes.serve import serve
from tests.fakes.wechat_login import WeChatLoginFake
from tests.support.gql_client import data, gql

WECHAT = """mutation($c: String!) { r: loginWithWechat(code: $c) { token me { id grants { role } } } }"""
ALIPAY = """mutation($c: String!) { r: loginWithAlipay(authCode: $c) { token me { id grants { role } } } }"""


@pytest.fixture(scope="module")
async def fakes(server):
    wechat = WeChatLoginFake("wx-test-appid", "app-secret-" + uuid.uuid4().hex)
    async with serve(wechat.app) as url, running_alipay_fake() as (alipay, config):
        async with AlipayClient(config, alipay.clock) as alipay_client:
            wechat_client = WeChatLoginClient(wechat.appid, wechat.secret, base_url=url)
            before = (server.services.logins.wechat, server.services.logins.alipay)
            server.services.logins.use(wechat=wechat_client, alipay=alipay_client)
            try:
                yield wechat, config.gateway_url.rsplit("/", 1)[0]
            finally:
                server.services.logins.wechat, server.services.logins.alipay = before
                await wechat_client.aclose()


async def test_a_first_wechat_login_makes_a_driver_and_the_next_finds_them(server, fakes):
    wechat, _ = fakes
    openid = f"o{uuid.uuid4().hex[:27]}"

    # when: a phone logs in twice (each wx.login gives a fresh code)
    wechat.issue("code-1-" + openid, openid)
    first = (await data(server.base_url, WECHAT, {"c": "code-1-" + openid}))["r"]
    wechat.issue("code-2-" + openid, openid)
    second = (await data(server.base_url, WECHAT, {"c": "code-2-" + openid}))["r"]

    # then: one driver account, and its token works
    assert first["me"]["id"] == second["me"]["id"]
    assert first["me"]["grants"] == [{"role": "DRIVER"}]
    me = await data(server.base_url, "{ me { id } }", token=second["token"])
    assert me["me"]["id"] == first["me"]["id"]
    assert await server.services.access.payer_id(int(first["me"]["id"]), "wechatpay") == openid


async def test_bad_reused_and_unlucky_codes_give_clear_errors(server, fakes):
    wechat, _ = fakes
    wechat.issue("once", f"o{uuid.uuid4().hex[:27]}")
    await data(server.base_url, WECHAT, {"c": "once"})

    reused = await gql(server.base_url, WECHAT, {"c": "once"})
    assert reused["errors"][0]["extensions"]["code"] == "LOGIN_FAILED"
    assert "40029" in reused["errors"][0]["message"] and "get a new one" in reused["errors"][0]["message"]

    wechat.busy = 1
    wechat.issue("busy", f"o{uuid.uuid4().hex[:27]}")
    busy = await gql(server.base_url, WECHAT, {"c": "busy"})
    assert "try again" in busy["errors"][0]["message"]
    assert (await data(server.base_url, WECHAT, {"c": "busy"}))["r"]["token"]  # the code still works afterwards

    empty = await gql(server.base_url, WECHAT, {"c": " "})
    assert empty["errors"][0]["extensions"]["code"] == "INVALID_INPUT"


async def test_one_driver_links_wechat_and_alipay(server, fakes):
    wechat, alipay = fakes
    openid = f"o{uuid.uuid4().hex[:27]}"
    wechat.issue("link-" + openid, openid)
    driver = (await data(server.base_url, WECHAT, {"c": "link-" + openid}))["r"]

    # when: the same driver logs in with Alipay while holding the WeChat token
    code = await _alipay_code(alipay, f"074a{uuid.uuid4().hex}")
    linked = (await data(server.base_url, ALIPAY, {"c": code}, token=driver["token"]))["r"]

    # then: the same account, now payable by both
    assert linked["me"]["id"] == driver["me"]["id"]
    assert await server.services.access.payer_id(int(driver["me"]["id"]), "alipay") is not None

    # and: an Alipay account already linked elsewhere is not taken over
    other_openid = f"o{uuid.uuid4().hex[:27]}"
    wechat.issue("other-" + other_openid, other_openid)
    other = (await data(server.base_url, WECHAT, {"c": "other-" + other_openid}))["r"]
    same_alipay = await server.services.access.payer_id(int(driver["me"]["id"]), "alipay")
    code = await _alipay_code(alipay, same_alipay)
    taken = await gql(server.base_url, ALIPAY, {"c": code}, token=other["token"])
    assert taken["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    assert "another driver" in taken["errors"][0]["message"]

    # and: a reused Alipay code is refused by Alipay
    again = await gql(server.base_url, ALIPAY, {"c": code})
    assert again["errors"][0]["extensions"]["code"] == "LOGIN_FAILED"


async def _alipay_code(alipay: str, open_id: str) -> str:
    """What my.getAuthCode gives the phone: a code the Alipay fake knows (``alipay`` is the fake's URL)."""
    code = uuid.uuid4().hex
    async with httpx.AsyncClient(base_url=alipay, trust_env=False) as control:
        answer = await control.post("/__fake__/alipay/oauth-codes", json={"code": code, "open_id": open_id})
        assert answer.status_code == 201, answer.text
    return code


async def test_alipay_login_needs_only_the_app_keys_not_alipay_payments(tmp_path):
    # a platform that takes WeChat Pay only (or the sandbox) still lets Alipay users log in
    from api.container import build_services
    from api.settings import Settings

    async with running_alipay_fake() as (_, config):
        (tmp_path / "app.pem").write_text(config.app_private_key_pem)
        (tmp_path / "alipay.pem").write_text(config.alipay_public_key_pem)
        settings = Settings(
            pay_providers="sandbox", alipay_app_id=config.app_id, alipay_gateway_url=config.gateway_url,
            alipay_private_key_file=str(tmp_path / "app.pem"), alipay_public_key_file=str(tmp_path / "alipay.pem"),
        )
        services = build_services(settings)
        try:
            assert "alipay" not in services.orders.providers
            assert isinstance(services.logins.alipay, AlipayClient)
        finally:
            for close in services.closers:
                await close()
