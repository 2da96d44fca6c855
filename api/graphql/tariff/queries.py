"""Reading tariffs: anyone may (drivers see prices before they plug in)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api.graphql.context import Info
from api.graphql.errors import maps_domain_errors, parse_int_id
from api.graphql.tariff.types import StationTariff, TariffVersion
from api.tariff.errors import NoTariff


@strawberry.type
class TariffQueries:
    @strawberry.field(
        description="A station's tariff at a moment (default now): the version in force, the price and its "
        "next change. Null while the station has no tariff in force. No login needed."
    )
    @maps_domain_errors
    async def station_tariff(
        self, info: Info, station_id: strawberry.ID, at: datetime | None = None
    ) -> StationTariff | None:
        try:
            now = await info.context.services.tariffs.price_now(parse_int_id(station_id, "station"), at)
        except NoTariff:
            return None
        return StationTariff.of(now)

    @strawberry.field(description="Every version of a station's tariff, oldest first. No login needed.")
    @maps_domain_errors
    async def station_tariff_versions(self, info: Info, station_id: strawberry.ID) -> list[TariffVersion]:
        versions = await info.context.services.tariffs.versions(parse_int_id(station_id, "station"))
        return [TariffVersion.of(v) for v in versions]
