"""Who am I, and the cards I may manage."""

from __future__ import annotations

import strawberry

from api.graphql.access.types import IdTag, Me
from api.graphql.context import Info
from api.graphql.enums import IdTagKind, IdTagStatus
from api.graphql.errors import maps_domain_errors


@strawberry.type
class AccessQueries:
    @strawberry.field(description="The logged-in person, or null without a token.")
    @maps_domain_errors
    async def me(self, info: Info) -> Me | None:
        viewer = await info.context.viewer()
        return Me.of(viewer) if viewer else None

    @strawberry.field(description="Cards the viewer may see: all (platform), an operator's, a fleet's, or one's own.")
    @maps_domain_errors
    async def id_tags(
        self, info: Info, status: IdTagStatus | None = None, kind: IdTagKind | None = None, first: int = 50
    ) -> list[IdTag]:
        tags = await info.context.services.access.id_tags(await info.context.viewer(), status, kind, first)
        return [IdTag.of(t) for t in tags]
