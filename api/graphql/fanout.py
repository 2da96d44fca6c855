"""Shared subscription streams: one execution per event, however many subscribers watch it.

A thousand dashboards watching one session used to cost a thousand GraphQL executions of every sample, one
after the other on the event loop (bench/RESULTS.md, "Live fan-out": p99 942 ms at 1,000 subscribers). Here,
subscribers of a *shareable* subscription field that send the same document, operation name and variables,
and that ask as the same audience (the same viewer, so the same visibility), join one group. The group runs
the subscription once (its *leader* stream, with a context of its own), encodes each result's payload to JSON
once, and hands the encoded text to every member; a member only wraps it in its own
``{"id": …, "type": "next", …}`` frame and writes it to its socket.

Authorization stays per subscriber. Before joining, each subscriber runs the subscription itself in *probe*
mode (``Context.probe``): a shareable resolver performs its own checks exactly as in a normal run, and then
returns without subscribing to anything. A subscriber whose probe yields an error gets that error (the same
frames an unshared run sends) and never joins; only a subscriber whose own check passed sees the group's data.
The leader repeats the check with the first member's credentials when it starts.

Every member has a bounded queue and its own writer task: the leader only appends to the queues, so a
subscriber whose socket is slow or gone never delays the others. One that falls ``queue_size`` frames behind
is dropped (an error frame, then ``complete``), as the bus drops a slow subscriber (DESIGN.md §5).

Only fields whose resolvers honour ``Context.probe`` may be listed in ``SHAREABLE_FIELDS``; every other
operation (queries over WebSocket, other subscriptions, the legacy ``graphql-ws`` protocol) runs as strawberry
runs it.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections import deque
from collections.abc import Callable, Hashable
from contextlib import suppress
from typing import Any

from graphql import FieldNode, GraphQLError, OperationDefinitionNode, OperationType, parse
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
    _OperationStreamClosed,
)
from strawberry.types.execution import ExecutionResult, PreExecutionError
from strawberry.utils.aio import aclosing
from starlette.websockets import WebSocketDisconnect

from api.graphql.context import Context

log = logging.getLogger(__name__)

SHAREABLE_FIELDS = frozenset({"sessionUpdates", "connectorStatus"})
"""Subscription fields whose resolvers return right after their checks when ``info.context.probe`` is set."""

QUEUE_SIZE = 1000
"""Frames a member may fall behind before it is dropped (the bus's default queue size)."""

GroupKey = tuple[str, str | None, str, Hashable]


@functools.lru_cache(maxsize=256)
def shareable_field(query: str, operation_name: str | None) -> str | None:
    """The root field of the document's subscription operation if it may be shared, else None.

    Anything unusual (a parse error, several operations without a name, a fragment at the root) goes the
    unshared way, where strawberry reports what is wrong exactly as before.
    """
    try:
        document = parse(query)
    except GraphQLError:
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name is not None and o.name.value == operation_name]
    if len(operations) != 1 or operations[0].operation != OperationType.SUBSCRIPTION:
        return None
    selections = operations[0].selection_set.selections
    if len(selections) != 1 or not isinstance(selections[0], FieldNode) or selections[0].directives:
        return None
    name = selections[0].name.value
    return name if name in SHAREABLE_FIELDS else None


class _End:
    """Queue item: the group's stream is over (``error`` frames the subscriber gets before ``complete``)."""

    def __init__(self, dropped: str | None = None) -> None:
        self.dropped = dropped


class Member:
    """One subscriber's place in a group: a bounded queue of encoded payloads and a wake-up for its writer."""

    def __init__(self, group: Group) -> None:
        self.group = group
        self.items: deque[str | _End] = deque()
        self.wakeup = asyncio.Event()
        self.received = 0
        self.over = False

    def offer(self, item: str | _End) -> None:
        if self.over:
            return
        if isinstance(item, _End):
            self.over = True
        elif len(self.items) >= self.group.hub.queue_size:
            self.items.clear()
            self.over = True
            item = _End(dropped=f"subscriber fell {self.group.hub.queue_size} events behind and was dropped")
        self.items.append(item)
        self.wakeup.set()

    async def next(self) -> str | _End:
        while not self.items:
            self.wakeup.clear()
            await self.wakeup.wait()
        item = self.items.popleft()
        if isinstance(item, str):
            self.received += 1
        return item


class Group:
    """Subscribers of one (document, operation, variables, audience) and the one stream that feeds them."""

    def __init__(self, hub: SharedSubscriptions, key: GroupKey, variables: dict[str, Any] | None) -> None:
        self.hub = hub
        self.key = key
        self.variables = variables
        self.members: set[Member] = set()
        self.leader: asyncio.Task[None] | None = None

    def join(self) -> Member:
        member = Member(self)
        self.members.add(member)
        return member

    def leave(self, member: Member) -> None:
        self.members.discard(member)
        if not self.members:
            self.hub.forget(self)
            if self.leader is not None:
                self.leader.cancel()

    def broadcast(self, item: str | _End) -> None:
        for member in tuple(self.members):
            member.offer(item)

    async def lead(self, context: Context, root_value: Any, encode: Callable[[object], str]) -> None:
        """Run the subscription once and hand each result, encoded once, to every member."""
        query, operation_name, _, _ = self.key
        try:
            source = await self.hub.schema.stream(
                query,
                variable_values=self.variables,
                context_value=context,
                root_value=root_value,
                operation_name=operation_name,
            )
            async with aclosing(source):
                async for result in source:
                    if isinstance(result, PreExecutionError) or not isinstance(result, ExecutionResult):
                        # the probe ran the same document, so this cannot happen short of a bug
                        log.error("shared subscription %r failed before executing", operation_name)
                        break
                    self.broadcast(encode(next_payload(result)))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("shared subscription stream failed")
        finally:
            # out of the registry first, so nobody joins a stream that has ended
            self.hub.forget(self)
            self.broadcast(_End())


def next_payload(result: ExecutionResult) -> dict[str, Any]:
    """The ``payload`` of a graphql-transport-ws ``next`` message, as strawberry's handler builds it."""
    payload: dict[str, Any] = {"data": result.data}
    if result.errors:
        payload["errors"] = [error.formatted for error in result.errors]
    if result.extensions:
        payload["extensions"] = result.extensions
    return payload


class SharedSubscriptions:
    """The live groups of one GraphQL endpoint."""

    def __init__(self, schema: Any, queue_size: int = QUEUE_SIZE) -> None:
        self.schema = schema
        self.queue_size = queue_size
        self._groups: dict[GroupKey, Group] = {}

    def group(self, key: GroupKey, variables: dict[str, Any] | None) -> tuple[Group, bool]:
        """The group for ``key`` and whether it was just made (its caller then starts the leader)."""
        group = self._groups.get(key)
        if group is not None:
            return group, False
        group = self._groups[key] = Group(self, key, variables)
        return group, True

    def forget(self, group: Group) -> None:
        if self._groups.get(group.key) is group:
            del self._groups[group.key]

    def subscriber_count(self) -> int:
        """Subscribers served by shared streams on this node (tests and benchmarks wait for it)."""
        return sum(len(group.members) for group in self._groups.values())


class SharingTransportWSHandler(BaseGraphQLTransportWSHandler[Context, Any]):
    """strawberry's graphql-transport-ws handler, with shareable subscriptions served from a group."""

    async def run_operation(self, operation: Operation[Context, Any]) -> None:
        hub: SharedSubscriptions | None = getattr(self.view, "shared_subscriptions", None)
        if hub is None or shareable_field(operation.query, operation.operation_name) is None:
            await super().run_operation(operation)
            return
        try:
            await self._run_shared(hub, operation)
        except _OperationStreamClosed:
            return
        except Exception as error:  # as strawberry's own run_operation: log, complete, forget the id
            await self.handle_task_exception(error)
            with suppress(Exception):
                await operation.send_operation_message({"id": operation.id, "type": "complete"})
            self.operations.pop(operation.id, None)
            raise

    async def _run_shared(self, hub: SharedSubscriptions, operation: Operation[Context, Any]) -> None:
        probe = self.context.fork(probe=True)
        if not await self._probe(operation, probe):
            return
        key: GroupKey = (
            operation.query,
            operation.operation_name,
            json.dumps(operation.variables or {}, sort_keys=True, default=str),
            await probe.audience(),  # read by the probe's checks already, in most cases
        )
        group, new = hub.group(key, operation.variables)
        member = group.join()
        if new:
            group.leader = asyncio.create_task(
                group.lead(probe.fork(), self.root_value, self.view.encode_json_string)
            )
        try:
            end = await self._deliver(operation, member)
        except WebSocketDisconnected:
            return
        finally:
            group.leave(member)
        if end.dropped is None and member.received == 0:
            # The group ended before this subscriber got anything (it joined as the stream finished, e.g. as
            # the session closed): run its own stream, which reads the current state.
            await super().run_operation(operation)
            return
        if end.dropped is not None:
            payload = {"data": None, "errors": [{"message": end.dropped}]}
            await operation.send_operation_message({"id": operation.id, "type": "next", "payload": payload})
        await operation.send_operation_message({"id": operation.id, "type": "complete"})

    async def _probe(self, operation: Operation[Context, Any], context: Context) -> bool:
        """Run the subscriber's own checks; True if they passed, else its error frames have been sent."""
        source = await self.schema.stream(
            operation.query,
            variable_values=operation.variables,
            context_value=context,
            root_value=self.root_value,
            operation_name=operation.operation_name,
        )
        answered = False
        async with aclosing(source):
            async for result in source:
                if not answered and isinstance(result, PreExecutionError):
                    await self._handle_pre_execution_error(operation, result)  # sends the error (or closes)
                    return False
                if not isinstance(result, ExecutionResult):
                    await self._reject_incremental_delivery(operation)
                    return False
                await operation.send_next(result)
                answered = True
        if answered:
            await operation.send_operation_message({"id": operation.id, "type": "complete"})
        return not answered

    async def _deliver(self, operation: Operation[Context, Any], member: Member) -> _End:
        prefix = '{"id": ' + json.dumps(operation.id) + ', "type": "next", "payload": '
        websocket = self.websocket.ws
        while True:
            item = await member.next()
            if isinstance(item, _End):
                return item
            if operation.completed:
                continue
            try:
                await websocket.send_text(prefix + item + "}")
            except WebSocketDisconnect as error:
                raise WebSocketDisconnected from error

