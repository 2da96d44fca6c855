"""Domain errors become GraphQL errors with a stable ``extensions.code`` that clients switch on."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from graphql import GraphQLError

from api.core.errors import DomainError, InvalidInput

P = ParamSpec("P")
R = TypeVar("R")


def to_graphql_error(error: DomainError) -> GraphQLError:
    return GraphQLError(error.message, extensions={"code": error.code})


def maps_domain_errors(resolver: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    @functools.wraps(resolver)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await resolver(*args, **kwargs)
        except DomainError as error:
            raise to_graphql_error(error) from error

    return wrapper


def parse_int_id(value: object, what: str) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise InvalidInput(f"{what} id {value!r} is not a number") from None
    if number < 1 or number > 2**63 - 1:
        raise InvalidInput(f"{what} id {value!r} is out of range")
    return number
