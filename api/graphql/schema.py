"""The schema: per-domain Query and Subscription classes merged into one; exported to schema/schema.graphql."""

from __future__ import annotations

import strawberry
from strawberry.tools import merge_types

from api.graphql.charging.queries import ChargingQueries
from api.graphql.charging.subscriptions import ChargingSubscriptions
from api.graphql.station.queries import StationQueries
from api.graphql.station.subscriptions import StationSubscriptions

Query = merge_types("Query", (StationQueries, ChargingQueries))
Subscription = merge_types("Subscription", (StationSubscriptions, ChargingSubscriptions))

schema = strawberry.Schema(query=Query, subscription=Subscription)


def export_sdl() -> str:
    return schema.as_str() + "\n"
