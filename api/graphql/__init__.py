"""GraphQL adapter (strawberry): types, queries and subscriptions over the domain services."""
