"""Drivers log in through the mini-programs: WeChat ``wx.login`` and Alipay ``my.getAuthCode`` codes become a
driver account (made on first login) and a token. One person may link both: logging in with the second app
while holding a token of the first links it to the same account."""

from __future__ import annotations

import logging

from api.access.dto import Grant, Token, Viewer
from api.access.errors import LoginFailed
from api.access.service import AccessService
from api.core.errors import InvalidInput
from api.models.enums import Role
from api.payments.providers.alipay import AlipayClient
from api.payments.providers.errors import ProviderError
from api.payments.providers.wechat_login import WeChatLoginClient

log = logging.getLogger(__name__)

NAMES = {"wechatpay": "微信用户", "alipay": "支付宝用户"}


class MiniProgramLogin:
    def __init__(
        self, access: AccessService, *, wechat: WeChatLoginClient | None = None, alipay: AlipayClient | None = None
    ) -> None:
        self.access = access
        self.wechat = wechat
        self.alipay = alipay

    def use(self, *, wechat: WeChatLoginClient | None = None, alipay: AlipayClient | None = None) -> None:
        """Plug in the login clients (app composition; tests plug in ones that reach local fakes)."""
        self.wechat = wechat or self.wechat
        self.alipay = alipay or self.alipay

    async def with_wechat(self, code: str, viewer: Viewer | None) -> Token:
        if self.wechat is None:
            raise LoginFailed("WeChat login is not configured (CHARGEOPS_WECHAT_APPID and _APP_SECRET)")
        try:
            session = await self.wechat.code_to_session(_code(code))
        except ProviderError as e:
            raise _refused("WeChat", e) from e
        return await self._login("wechatpay", session.openid, viewer)

    async def with_alipay(self, auth_code: str, viewer: Viewer | None) -> Token:
        if self.alipay is None:
            raise LoginFailed("Alipay login is not configured (CHARGEOPS_ALIPAY_* settings)")
        try:
            token = await self.alipay.oauth_token(_code(auth_code))
        except ProviderError as e:
            raise _refused("Alipay", e) from e
        identity = token.open_id or token.user_id  # new apps get open ids only
        if not identity:
            raise LoginFailed("Alipay answered without the user's id")
        return await self._login("alipay", identity, viewer)

    async def _login(self, provider: str, identity: str, viewer: Viewer | None) -> Token:
        owner = await self.access.user_by_payer(provider, identity)
        if viewer is not None:  # link the second app to the account already logged in
            if owner is not None and owner != viewer.user_id:
                raise InvalidInput("this account of the app is already linked to another driver")
            if owner is None:
                await self.access.link_payer(viewer.user_id, provider, identity)
            return await self.access.token_for(viewer.user_id)
        if owner is None:
            user = await self.access.create_user(None, NAMES[provider], None, None, [Grant(Role.DRIVER)])
            await self.access.link_payer(user.id, provider, identity)
            owner = user.id
            log.info("a new driver %s signed up through %s", user.id, provider)
        return await self.access.token_for(owner)


def _code(code: str) -> str:
    code = code.strip()
    if not 1 <= len(code) <= 128 or not code.isprintable():
        raise InvalidInput("a login code has 1 to 128 printable characters")
    return code


def _refused(app: str, e: ProviderError) -> LoginFailed:
    if e.retryable:
        return LoginFailed(f"{app} could not check the login now ({e.provider_code}): try again in a moment")
    return LoginFailed(f"{app} refused the login code ({e.provider_code}: {e.message}); get a new one and retry")
