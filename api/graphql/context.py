"""The per-operation GraphQL context: services, fresh dataloaders, the request, and who is asking."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
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
    probe: bool = False
    """Set while a subscriber's checks run before it joins a shared stream (``api/graphql/fanout.py``): a
    shareable subscription resolver returns right after its checks instead of subscribing to the bus."""
    _viewer: Viewer | None = field(default=None, init=False)
    _viewer_read: bool = field(default=False, init=False)
    _visibility: Visibility | None = field(default=None, init=False)
    _reading: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)
    """Resolvers run concurrently (every live session of a map answer asks for the visibility at once): the
    first reads the viewer and the visibility, the others wait for it instead of each reading them again."""

    def __post_init__(self) -> None:
        self.loaders = build_loaders(self.services)

    def fork(self, *, probe: bool = False) -> Context:
        """A context for another run for the same client: same credentials and viewer, its own loaders."""
        other = Context(self.services, self.request, connection_params=self.connection_params, probe=probe)
        other._viewer, other._viewer_read, other._visibility = self._viewer, self._viewer_read, self._visibility
        return other

    async def audience(self) -> Hashable:
        """Whom an answer is for: the viewer (whose grants decide what it may see), or, when the credentials do
        not name one, the credentials themselves. Subscribers with equal audiences may share one stream."""
        try:
            return ("viewer", await self.viewer())
        except Unauthenticated:
            return ("credentials", self._authorization())

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
            async with self._reading:
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
            viewer = await self.viewer()
            async with self._reading:
                if self._visibility is None:
                    self._visibility = await self.services.access.visibility(viewer)
        return self._visibility


Info = strawberry.Info[Context, Any]
