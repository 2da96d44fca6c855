"""The schema: per-domain Query, Mutation and Subscription classes merged into one; exported to schema/schema.graphql."""

from __future__ import annotations

import strawberry
from strawberry.tools import merge_types

from api.graphql.access.mutations import AccessMutations
from api.graphql.access.queries import AccessQueries
from api.graphql.audit.queries import AuditQueries
from api.graphql.charging.queries import ChargingQueries
from api.graphql.charging.subscriptions import ChargingSubscriptions
from api.graphql.operations.mutations import OperationsMutations
from api.graphql.station.queries import StationQueries
from api.graphql.station.subscriptions import StationSubscriptions

Query = merge_types("Query", (StationQueries, ChargingQueries, AccessQueries, AuditQueries))
Mutation = merge_types("Mutation", (AccessMutations, OperationsMutations))
Subscription = merge_types("Subscription", (StationSubscriptions, ChargingSubscriptions))

schema = strawberry.Schema(query=Query, mutation=Mutation, subscription=Subscription)


def export_sdl() -> str:
    return schema.as_str() + "\n"
