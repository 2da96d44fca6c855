"""The per-operation GraphQL context: services, fresh dataloaders, and the request."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import strawberry
from starlette.requests import HTTPConnection

from api.container import Services
from api.graphql.loaders import Loaders, build_loaders


@dataclass
class Context:
    services: Services
    request: HTTPConnection | None
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = build_loaders(self.services)

    def fresh_loaders(self) -> Loaders:
        """Subscriptions live long; each pushed event resolves with new loaders so nothing is cached stale."""
        self.loaders = build_loaders(self.services)
        return self.loaders


Info = strawberry.Info[Context, Any]
