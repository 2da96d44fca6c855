"""The schema: per-domain Query, Mutation and Subscription classes merged into one; exported to schema/schema.graphql."""

from __future__ import annotations

import logging

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors
from strawberry.types import ExecutionContext
from strawberry.tools import merge_types

from api.graphql.access.mutations import AccessMutations
from api.graphql.access.policy import StationAccessMutations, StationAccessQueries
from api.graphql.access.queries import AccessQueries
from api.graphql.audit.queries import AuditQueries
from api.graphql.charging.queries import ChargingQueries
from api.graphql.charging.subscriptions import ChargingSubscriptions
from api.graphql.files.schema import FileMutations, FileQueries
from api.graphql.operations.mutations import OperationsMutations
from api.graphql.orders.schema import OrderMutations, OrderQueries, OrderSubscriptions
from api.graphql.qr.schema import QrQueries
from api.graphql.station.queries import StationQueries
from api.graphql.station.subscriptions import StationSubscriptions
from api.graphql.tariff.mutations import TariffMutations
from api.graphql.tariff.queries import TariffQueries

Query = merge_types(
    "Query",
    (StationQueries, ChargingQueries, AccessQueries, StationAccessQueries, AuditQueries, FileQueries, TariffQueries,
     OrderQueries, QrQueries),
)
Mutation = merge_types(
    "Mutation", (AccessMutations, StationAccessMutations, OperationsMutations, FileMutations, TariffMutations,
                 OrderMutations)
)
Subscription = merge_types("Subscription", (StationSubscriptions, ChargingSubscriptions, OrderSubscriptions))

log = logging.getLogger("api.graphql")


def is_unexpected(error: GraphQLError) -> bool:
    """A bug, not a domain answer: its message may hold internals, so clients see only 'internal error'."""
    return error.original_error is not None and not isinstance(error.original_error, GraphQLError)


class ChargeOpsSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        # Expected errors (bad input, not found, forbidden) are answers, not incidents: no traceback for them.
        for error in errors:
            if is_unexpected(error):
                log.error("GraphQL resolver failed: %s", error.message, exc_info=error.original_error)
            else:
                log.debug("GraphQL error: %s", error.message)


schema = ChargeOpsSchema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    extensions=[lambda: MaskErrors(should_mask_error=is_unexpected, error_message="internal error")],
)


def export_sdl() -> str:
    return schema.as_str() + "\n"
