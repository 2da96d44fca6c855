"""WeChat mini-program login: ``wx.login``'s code -> the user's openid (``/sns/jscode2session``, PAYMENTS.md D1).

Our own small client on httpx (the SDKs are blocking and hard-code the host): the host is configurable, so tests
reach a local fake. The AppSecret travels only in this server-to-server call; the session key never leaves us.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from api.payments.providers.errors import ProviderError

PROVIDER = "wechat"
RETRYABLE = frozenset({-1, 45011})
"""System busy; too many logins (rate limit): the same user may try again shortly."""


@dataclass(frozen=True)
class WeChatSession:
    openid: str
    unionid: str | None = None
    session_key: str = field(default="", repr=False)


class WeChatLoginClient:
    def __init__(
        self, appid: str, secret: str, *, base_url: str = "https://api.weixin.qq.com",
        transport: httpx.AsyncBaseTransport | None = None, timeout_s: float = 10,
    ) -> None:
        self.appid = appid
        self._secret = secret
        self._http = httpx.AsyncClient(base_url=base_url.rstrip("/"), transport=transport, timeout=timeout_s,
                                       trust_env=False)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def code_to_session(self, js_code: str) -> WeChatSession:
        """The openid behind a ``wx.login`` code (valid once, for five minutes). ProviderError otherwise."""
        try:
            answer = await self._http.get("/sns/jscode2session", params={
                "appid": self.appid, "secret": self._secret, "js_code": js_code, "grant_type": "authorization_code",
            })
        except httpx.HTTPError as e:
            raise ProviderError(PROVIDER, "NETWORK", f"WeChat could not be reached: {e}", retryable=True) from e
        if answer.status_code >= 500:
            raise ProviderError(PROVIDER, f"HTTP_{answer.status_code}", "WeChat is unavailable",
                                http_status=answer.status_code, retryable=True)
        try:
            body = answer.json()
        except ValueError:
            raise ProviderError(PROVIDER, "BAD_ANSWER", "WeChat answered something that is not JSON") from None
        errcode = int(body.get("errcode") or 0)
        if errcode != 0 or not isinstance(body.get("openid"), str):
            raise ProviderError(PROVIDER, str(errcode), str(body.get("errmsg") or "no openid"),
                                http_status=answer.status_code, retryable=errcode in RETRYABLE)
        return WeChatSession(body["openid"], body.get("unionid"), str(body.get("session_key") or ""))
