"""GraphQL over HTTP and over WebSocket at one path.

HTTP follows the GraphQL-over-HTTP specification (graphql.github.io/graphql-over-http), which strawberry's
own view does not: strawberry answers every request error with ``200`` and knows nothing of
``application/graphql-response+json``. The rules we implement, and why:

* **Media types.** Responses are ``application/graphql-response+json`` or ``application/json``, chosen by the
  ``Accept`` header with q-values. No ``Accept`` (or only wildcards) means ``application/graphql-response+json``:
  the specification's watershed (2025-01-01) has passed. An ``Accept`` that admits neither gets ``406``.
  A browser asking for ``text/html`` on ``GET`` gets GraphiQL, served from our own static files.
* **Status codes with ``application/graphql-response+json``.** A response with ``data`` (even ``null``
  because a field error reached the root) is ``200``; a request error (the JSON is not a GraphQL request,
  the document does not parse or validate, the operation cannot be chosen, the variables do not coerce)
  is ``400`` and carries no ``data`` entry.
* **Status codes with ``application/json``** (legacy clients): every well-formed request gets ``200``,
  including GraphQL request errors; only an ill-formed one (bad JSON, ``query`` not a string...) gets ``400``.
* **Methods.** ``GET`` (parameters in the query string, ``variables``/``extensions`` JSON-encoded) may run
  queries only: a mutation over ``GET`` is ``405`` with ``Allow: POST``. ``POST`` needs ``Content-Type:
  application/json`` (``415`` otherwise). Anything else is ``405`` with ``Allow: GET, POST``.
  Subscriptions are served over WebSocket only. Bodies over 1 MiB get ``413``.
* An unexpected failure while executing (the database went away) is ``500``, never a ``200`` that hides it.

WebSocket: strawberry's ``graphql-transport-ws`` (the protocol of the standard ``graphql-ws`` client) and the
legacy ``graphql-ws`` protocol; a client that offers no subprotocol is spoken to in ``graphql-transport-ws``.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError, OperationDefinitionNode, parse
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.schema import BaseSchema
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from api.graphql.fanout import SharedSubscriptions, SharingTransportWSHandler
from api.web.graphiql import graphiql_html, static_routes

log = logging.getLogger(__name__)

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
APPLICATION_JSON = "application/json"
TEXT_HTML = "text/html"
MAX_BODY_BYTES = 1 << 20
MULTIPART = "multipart/form-data"
MAX_UPLOAD_FILES = 5

ContextGetter = Callable[[HTTPConnection], Awaitable[Any]]


@dataclass(frozen=True)
class GraphQLRequest:
    query: str
    operation_name: str | None
    variables: dict[str, Any] | None
    extensions: dict[str, Any] | None


class RequestError(Exception):
    """The HTTP request is not a well-formed GraphQL-over-HTTP request."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


# --- content negotiation ---------------------------------------------------------------------------------


def _media_ranges(accept: str) -> list[tuple[str, float, int]]:
    """``Accept`` as (media range, q, position), without parameters other than q."""
    ranges = []
    for position, part in enumerate(accept.split(",")):
        fields = [field.strip() for field in part.split(";")]
        media = fields[0].lower()
        if not media:
            continue
        q = 1.0
        for parameter in fields[1:]:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = 0.0
        ranges.append((media, q, position))
    return ranges


def negotiate(accept: str | None, offered: Sequence[str]) -> str | None:
    """The offered media type the client prefers most (ties go to the order of ``offered``), or None."""
    if accept is None or not accept.strip():
        return offered[0]
    best: tuple[float, int, int] | None = None
    chosen = None
    for rank, media in enumerate(offered):
        kind = media.split("/")[0]
        quality = None
        specificity = -1
        for media_range, q, _ in _media_ranges(accept):
            if media_range == media:
                level = 2
            elif media_range == f"{kind}/*":
                level = 1
            elif media_range == "*/*":
                level = 0
            else:
                continue
            if level > specificity:  # the most specific range decides the quality
                specificity, quality = level, q
        if quality is None or quality <= 0:
            continue
        # prefer higher q; then what the client named exactly; then our order
        key = (quality, specificity, -rank)
        if best is None or key > best:
            best, chosen = key, media
    return chosen


# --- request parsing -------------------------------------------------------------------------------------


def _optional_string(value: object, name: str) -> str | None:
    if value is None or isinstance(value, str):
        return value or None
    raise RequestError(400, f"{name} must be a string")


def _optional_map(value: object, name: str) -> dict[str, Any] | None:
    if value is None or isinstance(value, dict):
        return value
    raise RequestError(400, f"{name} must be a JSON object")


def _from_params(params: dict[str, Any]) -> GraphQLRequest:
    query = params.get("query")
    if not isinstance(query, str) or not query.strip():
        raise RequestError(400, "query must be a non-empty string")
    return GraphQLRequest(
        query=query,
        operation_name=_optional_string(params.get("operationName"), "operationName"),
        variables=_optional_map(params.get("variables"), "variables"),
        extensions=_optional_map(params.get("extensions"), "extensions"),
    )


def _decode_json_param(raw: str | None, name: str) -> Any:
    if raw is None or raw == "":
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise RequestError(400, f"{name} is not valid JSON") from None


def parse_get(request: Request) -> GraphQLRequest:
    params = request.query_params
    return _from_params(
        {
            "query": params.get("query"),
            "operationName": params.get("operationName"),
            "variables": _decode_json_param(params.get("variables"), "variables"),
            "extensions": _decode_json_param(params.get("extensions"), "extensions"),
        }
    )


def _put_file(variables: dict[str, Any], path: str, upload: Any) -> None:
    """Place ``upload`` at ``variables.a.0.b`` (a path of the multipart map), where the client put null."""
    parts = path.split(".")
    if len(parts) < 2 or parts[0] != "variables":
        raise RequestError(400, f"map path {path!r} must start with 'variables.'")
    node: Any = variables
    for i, part in enumerate(parts[1:], start=1):
        last = i == len(parts) - 1
        key: Any = int(part) if isinstance(node, list) and part.isdigit() else part
        try:
            if last:
                if node[key] is not None:
                    raise RequestError(400, f"map path {path!r} must point at a null variable")
                node[key] = upload
            else:
                node = node[key]
        except (KeyError, IndexError, TypeError):
            raise RequestError(400, f"map path {path!r} does not exist in the operation's variables") from None


async def parse_multipart(request: Request, max_upload_bytes: int) -> tuple[GraphQLRequest, Any]:
    """The GraphQL multipart request spec (operations, map, files); returns the request and the form to close."""
    if request.headers.get("authorization") is None:
        raise RequestError(401, "file uploads need 'Authorization: Bearer <token>'")
    declared = request.headers.get("content-length")
    if declared is None or not declared.isdigit():
        raise RequestError(411, "file uploads need a Content-Length")
    if int(declared) > max_upload_bytes + MAX_BODY_BYTES:
        raise RequestError(413, f"files are limited to {max_upload_bytes} bytes")
    form = await request.form(max_files=MAX_UPLOAD_FILES, max_fields=2, max_part_size=MAX_BODY_BYTES)
    try:
        try:
            operations = json.loads(str(form.get("operations", "")))
            mapping = json.loads(str(form.get("map", "")))
        except ValueError:
            raise RequestError(400, "multipart uploads need JSON 'operations' and 'map' fields") from None
        if not isinstance(operations, dict):
            raise RequestError(400, "'operations' must be one JSON object (batches are not supported)")
        if not isinstance(mapping, dict) or not all(
            isinstance(paths, list) and all(isinstance(p, str) for p in paths) for paths in mapping.values()
        ):
            raise RequestError(400, "'map' must be an object of file field -> list of variable paths")
        request_ = _from_params(operations)
        variables = request_.variables if request_.variables is not None else {}
        for field_name, paths in mapping.items():
            upload = form.get(field_name)
            if upload is None or isinstance(upload, str):
                raise RequestError(400, f"the map names file field {field_name!r}, which the request lacks")
            for path in paths:
                _put_file(variables, path, upload)
        return GraphQLRequest(request_.query, request_.operation_name, variables, request_.extensions), form
    except BaseException:
        await form.close()
        raise


async def parse_post(request: Request) -> GraphQLRequest:
    content_type = request.headers.get("content-type", "")
    media, *parameters = [field.strip().lower() for field in content_type.split(";")]
    if media != APPLICATION_JSON:
        raise RequestError(415, "POST bodies must be application/json (or multipart/form-data for file uploads)")
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip() == "charset" and value.strip().strip('"') not in ("utf-8", "utf8"):
            raise RequestError(415, "only the utf-8 charset is supported")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise RequestError(413, f"request bodies are limited to {MAX_BODY_BYTES} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise RequestError(413, f"request bodies are limited to {MAX_BODY_BYTES} bytes")
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise RequestError(400, "the body is not valid JSON") from None
    if isinstance(payload, list):
        raise RequestError(400, "batched requests are not supported; send one operation per request")
    if not isinstance(payload, dict):
        raise RequestError(400, "the body must be a JSON object")
    return _from_params(payload)


# --- the HTTP endpoint -----------------------------------------------------------------------------------


def _json(body: dict[str, Any], status: int, media: str, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status_code=status,
        media_type=f"{media}; charset=utf-8",
        headers={"Vary": "Accept", "Cache-Control": "no-store", **(headers or {})},
    )


def _request_error(error: RequestError, media: str) -> Response:
    return _json({"errors": [{"message": error.message}]}, error.status, media, error.headers)


def _is_unexpected(error: GraphQLError) -> bool:
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)


@functools.lru_cache(maxsize=512)
def _operation_count(query: str) -> int:
    """How many operations the document defines (0 when it does not parse: execution reports that)."""
    try:
        document = parse(query)
    except GraphQLError:
        return 0
    return sum(isinstance(definition, OperationDefinitionNode) for definition in document.definitions)


class GraphQLHTTPEndpoint:
    def __init__(
        self, schema: BaseSchema, context_getter: ContextGetter, *, graphiql: bool, path: str, max_upload_bytes: int
    ) -> None:
        self.max_upload_bytes = max_upload_bytes
        self.schema = schema
        self.context_getter = context_getter
        self.graphiql = graphiql
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.handle(Request(scope, receive))
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        method = request.method
        if method not in ("GET", "POST"):
            return _json(
                {"errors": [{"message": f"{method} is not supported; use GET or POST"}]},
                405,
                GRAPHQL_RESPONSE_JSON,
                {"Allow": "GET, POST"},
            )
        accept = request.headers.get("accept")
        offered = [GRAPHQL_RESPONSE_JSON, APPLICATION_JSON]
        if method == "GET" and self.graphiql and "query" not in request.query_params:
            offered.append(TEXT_HTML)
        media = negotiate(accept, offered)
        if media is None:
            return _json(
                {"errors": [{"message": f"cannot answer in any of: {accept}; accepted: {', '.join(offered)}"}]},
                406,
                APPLICATION_JSON,
            )
        if media == TEXT_HTML:
            return HTMLResponse(graphiql_html(self.path), headers={"Vary": "Accept"})
        form = None
        try:
            if method == "POST" and request.headers.get("content-type", "").lower().startswith(MULTIPART):
                graphql_request, form = await parse_multipart(request, self.max_upload_bytes)
            else:
                graphql_request = parse_get(request) if method == "GET" else await parse_post(request)
        except RequestError as error:
            return _request_error(error, media)
        try:
            return await self._execute(request, graphql_request, media)
        finally:
            if form is not None:
                await form.close()

    async def _execute(self, request: Request, graphql_request: GraphQLRequest, media: str) -> Response:
        allowed = (
            {OperationType.QUERY}
            if request.method == "GET"
            else {OperationType.QUERY, OperationType.MUTATION}
        )
        if graphql_request.operation_name is None and _operation_count(graphql_request.query) > 1:
            # the spec's GetOperation(): several operations need a name (strawberry would run the first)
            error = GraphQLError("operationName is required: the document has several operations")
            return self._graphql_request_error([error], media)
        context = await self.context_getter(request)
        try:
            result = await self.schema.execute(
                graphql_request.query,
                variable_values=graphql_request.variables,
                context_value=context,
                operation_name=graphql_request.operation_name,
                allowed_operation_types=allowed,
                operation_extensions=graphql_request.extensions,
            )
        except InvalidOperationTypeError as error:
            if error.operation_type == OperationType.MUTATION:
                return _request_error(RequestError(405, "mutations need POST", {"Allow": "POST"}), media)
            return _request_error(
                RequestError(400, "subscriptions are served over WebSocket (graphql-transport-ws) at this path"),
                media,
            )
        except CannotGetOperationTypeError as error:
            name = error.operation_name
            message = f"no operation named {name!r}" if name else "operationName is required: the document has several"
            return self._graphql_request_error([GraphQLError(message)], media)
        except MissingQueryError:
            return _request_error(RequestError(400, "query must be a non-empty string"), media)
        return self._respond(result, media)

    def _graphql_request_error(self, errors: list[GraphQLError], media: str) -> Response:
        status = 400 if media == GRAPHQL_RESPONSE_JSON else 200
        return _json({"errors": [error.formatted for error in errors]}, status, media)

    def _respond(self, result: ExecutionResult, media: str) -> Response:
        errors = list(result.errors or [])
        if result.data is None and errors and all(error.path is None for error in errors):
            # Nothing executed: parse, validation or variable coercion failed (execution errors carry a path),
            # or execution could not start at all.
            if any(_is_unexpected(error) for error in errors):
                for error in errors:
                    log.error("GraphQL request failed", exc_info=error.original_error)
                return _json({"errors": [{"message": "internal error"}]}, 500, media)
            return self._graphql_request_error(errors, media)
        body: dict[str, Any] = {}
        if errors:
            body["errors"] = [error.formatted for error in errors]
        body["data"] = result.data
        if result.extensions:
            body["extensions"] = result.extensions
        return _json(body, 200, media)


# --- WebSocket -------------------------------------------------------------------------------------------


class GraphQLWebSocket(GraphQL):  # type: ignore[misc]
    """strawberry's WebSocket protocols, with our context, a default for clients that offer no subprotocol, and
    shared streams for subscribers of the same subscription (``api/graphql/fanout.py``)."""

    graphql_transport_ws_handler_class = SharingTransportWSHandler

    def __init__(self, schema: BaseSchema, context_getter: ContextGetter) -> None:
        super().__init__(schema, graphql_ide=None, allow_queries_via_get=False)
        self._context_getter = context_getter
        self.shared_subscriptions = SharedSubscriptions(schema)

    async def get_context(self, request: Any, response: Any) -> Any:
        return await self._context_getter(request)

    async def pick_websocket_subprotocol(self, request: WebSocket) -> str | None:
        if not request.scope.get("subprotocols"):
            return GRAPHQL_TRANSPORT_WS_PROTOCOL
        result: str | None = await super().pick_websocket_subprotocol(request)
        return result

    async def create_websocket_response(self, request: WebSocket, subprotocol: str | None) -> WebSocket:
        # name the subprotocol in the handshake only if the client offered it (RFC 6455 4.1)
        # (with no common subprotocol we accept without one, and strawberry closes with 4406)
        offered = request.scope.get("subprotocols") or []
        await request.accept(subprotocol=subprotocol if subprotocol in offered else None)
        return request


def graphql_routes(
    schema: BaseSchema, context_getter: ContextGetter, *, path: str = "/graphql", graphiql: bool = True,
    max_upload_bytes: int = 20 << 20,
) -> list[BaseRoute]:
    """HTTP and WebSocket routes for ``schema`` at ``path``, plus GraphiQL's static files."""
    endpoint = GraphQLHTTPEndpoint(
        schema, context_getter, graphiql=graphiql, path=path, max_upload_bytes=max_upload_bytes
    )
    routes: list[BaseRoute] = [
        Route(path, endpoint),  # an ASGI app: every method reaches it, so it can answer 405 itself
        WebSocketRoute(path, GraphQLWebSocket(schema, context_getter)),
    ]
    if graphiql:
        routes.extend(static_routes())
    return routes
