"""A local fake of WeChat's jscode2session (PAYMENTS.md F3): single-use codes, the errors WeChat gives."""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


@dataclass
class WeChatLoginFake:
    appid: str
    secret: str
    codes: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    """Unused codes: code -> (openid, unionid)."""
    busy: int = 0
    """Answer this many calls with -1 (system busy)."""
    calls: int = 0

    def issue(self, code: str, openid: str, unionid: str | None = None) -> None:
        """What wx.login does on a phone: a fresh code for this user."""
        self.codes[code] = (openid, unionid)

    @property
    def app(self) -> Starlette:
        return Starlette(routes=[Route("/sns/jscode2session", self._session, methods=["GET"])])

    async def _session(self, request: Request) -> JSONResponse:
        self.calls += 1
        q = request.query_params
        if self.busy > 0:
            self.busy -= 1
            return JSONResponse({"errcode": -1, "errmsg": "system error"})
        if q.get("grant_type") != "authorization_code" or not q.get("js_code"):
            return JSONResponse({"errcode": 40002, "errmsg": "invalid grant_type"})
        if q.get("appid") != self.appid:
            return JSONResponse({"errcode": 40013, "errmsg": "invalid appid"})
        if q.get("secret") != self.secret:
            return JSONResponse({"errcode": 40125, "errmsg": "invalid appsecret"})
        found = self.codes.pop(q["js_code"], None)  # a code works once
        if found is None:
            return JSONResponse({"errcode": 40029, "errmsg": "invalid code"})
        openid, unionid = found
        body = {"openid": openid, "session_key": "tiihtNczf5v6AKRyjwEUhQ=="}
        if unionid:
            body["unionid"] = unionid
        return JSONResponse(body)
