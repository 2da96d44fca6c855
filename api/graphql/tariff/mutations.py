"""Publishing a station's next tariff version (needs the right to set its tariffs; audited)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from api.graphql.context import Info
from api.graphql.errors import maps_domain_errors, parse_int_id
from api.graphql.tariff.types import TariffInput, TariffVersion


@strawberry.type
class TariffMutations:
    @strawberry.mutation(
        description="Publish a new version of a station's tariff. Versions are never edited: a correction is "
        "a new version, and the newest publication decides from its effectiveFrom on."
    )
    @maps_domain_errors
    async def publish_tariff(
        self, info: Info, station_id: strawberry.ID, input: TariffInput,
        effective_from: Annotated[
            datetime | None,
            strawberry.argument(description="With a zone; from a minute ago to a year ahead; null: now."),
        ] = None,
    ) -> TariffVersion:
        viewer = await info.context.viewer()
        version = await info.context.services.tariffs.publish(
            viewer, parse_int_id(station_id, "station"), input.to_domain(), effective_from
        )
        return TariffVersion.of(version)
