"""The per-operation GraphQL context: services, fresh dataloaders, the request, and who is asking."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import strawberry
from starlette.requests import HTTPConnection

from api.access.dto import Viewer, Visibility
from api.access.errors import Unauthenticated
from api.access.service import require_viewer
from api.container import Services
from api.graphql.loaders import Loaders, build_loaders

BEARER = "bearer "


@dataclass
class Context:
    services: Services
    request: HTTPConnection | None
    loaders: Loaders = field(init=False)
    connection_params: dict[str, Any] | None = None
    """The graphql-transport-ws ``connection_init`` payload (strawberry sets it): browsers and mini-programs
    cannot set headers on a WebSocket, so the token comes as ``{"authorization": "Bearer …"}`` here."""
    _viewer: Viewer | None = field(default=None, init=False)
    _viewer_read: bool = field(default=False, init=False)
    _visibility: Visibility | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.loaders = build_loaders(self.services)

    def fresh_loaders(self) -> Loaders:
        """Subscriptions live long; each pushed event resolves with new loaders so nothing is cached stale."""
        self.loaders = build_loaders(self.services)
        return self.loaders

    def _authorization(self) -> str | None:
        if self.connection_params:
            for name in ("authorization", "Authorization"):
                value = self.connection_params.get(name)
                if isinstance(value, str):
                    return value
        if self.request is not None:
            return self.request.headers.get("authorization")
        return None

    async def viewer(self) -> Viewer | None:
        """Who is asking (None: nobody logged in). A token that is present but bad is an error, not anonymity."""
        if not self._viewer_read:
            header = self._authorization()
            if header:
                if not header.lower().startswith(BEARER) or not header[len(BEARER):].strip():
                    raise Unauthenticated("the Authorization header must be 'Bearer <token>'")
                self._viewer = await self.services.access.viewer_from_token(header[len(BEARER):].strip())
            self._viewer_read = True
        return self._viewer

    async def require_viewer(self) -> Viewer:
        return require_viewer(await self.viewer())

    async def session_visibility(self) -> Visibility:
        if self._visibility is None:
            self._visibility = await self.services.access.visibility(await self.viewer())
        return self._visibility


Info = strawberry.Info[Context, Any]
