"""The event bus: the one way a state change reaches whoever watches it.

The domain publishes frozen dataclass events on named channels (built only by ``channels``) after the
transaction that caused them has committed; GraphQL subscriptions and cross-node plumbing subscribe.
``InProcessBus`` is the embedded default. Every subscriber has a bounded queue: a subscriber that
falls behind by more than ``queue_size`` events is dropped (its iterator raises ``SubscriberDropped``)
instead of letting memory grow without end.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

from api.core import metrics

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    """Base of every published event. Subclasses are frozen dataclasses of plain values."""


class SubscriberDropped(Exception):
    """The subscriber did not keep up with its channel and was disconnected."""


class channels:
    """Channel names, built in one place."""

    @staticmethod
    def session(session_id: int) -> str:
        return f"session:{session_id}"

    @staticmethod
    def station(station_id: int) -> str:
        return f"station:{station_id}"

    @staticmethod
    def charge_point(charge_point_id: str) -> str:
        return f"charge_point:{charge_point_id}"

    @staticmethod
    def order(order_id: int) -> str:
        return f"order:{order_id}"

    @staticmethod
    def node_commands(node: str) -> str:
        """Commands for the piles a node holds, sent by other nodes."""
        return f"node:{node}:commands"

    @staticmethod
    def node_replies(node: str) -> str:
        """Answers to the commands a node sent to other nodes."""
        return f"node:{node}:replies"

    @staticmethod
    def sessions() -> str:
        """Every session's lifecycle (start, phase, end), for operator dashboards."""
        return "sessions"


class EventBus(Protocol):
    async def publish(self, channel: str, event: Event) -> None: ...

    def subscribe(self, *channel_names: str) -> AbstractAsyncContextManager[AsyncIterator[Event]]: ...

    async def close(self) -> None: ...


_CLOSED = object()
_DROPPED = object()


class _Subscriber:
    def __init__(self, queue_size: int) -> None:
        self.queue: asyncio.Queue[object] = asyncio.Queue(maxsize=queue_size + 1)
        self.queue_size = queue_size
        self.dropped = False

    def offer(self, item: object) -> None:
        if self.dropped:
            return
        if self.queue.qsize() >= self.queue_size:
            self.drop()
            return
        self.queue.put_nowait(item)

    def drop(self) -> None:
        if not self.dropped:
            self.dropped = True
            self.queue.put_nowait(_DROPPED)  # fits: offer() keeps the spare slot free until a drop

    async def __aiter__(self) -> AsyncIterator[Event]:
        while True:
            item = await self.queue.get()
            if item is _DROPPED:
                raise SubscriberDropped(f"subscriber fell {self.queue_size} events behind and was dropped")
            if item is _CLOSED:
                return
            assert isinstance(item, Event)
            yield item


class InProcessBus:
    """Fan-out inside one process. ``publish`` never blocks on a slow subscriber."""

    def __init__(self, queue_size: int = 1000) -> None:
        self.queue_size = queue_size
        self._subscribers: dict[str, set[_Subscriber]] = {}

    async def publish(self, channel: str, event: Event) -> None:
        for subscriber in tuple(self._subscribers.get(channel, ())):
            subscriber.offer(event)

    def subscriber_count(self, channel: str) -> int:
        return len(self._subscribers.get(channel, ()))

    @asynccontextmanager
    async def subscribe(self, *channel_names: str) -> AsyncIterator[AsyncIterator[Event]]:
        subscriber = _Subscriber(self.queue_size)
        for name in channel_names:
            self._subscribers.setdefault(name, set()).add(subscriber)
        metrics.subscriptions_active.inc()
        try:
            yield subscriber.__aiter__()
        finally:
            metrics.subscriptions_active.dec()
            for name in channel_names:
                members = self._subscribers.get(name)
                if members is not None:
                    members.discard(subscriber)
                    if not members:
                        del self._subscribers[name]

    def drop_all(self) -> None:
        """Drop every subscriber (where the events came from broke): each iterator raises ``SubscriberDropped``."""
        for members in self._subscribers.values():
            for subscriber in members:
                subscriber.drop()

    async def close(self) -> None:
        for members in self._subscribers.values():
            for subscriber in members:
                if not subscriber.queue.full():
                    subscriber.queue.put_nowait(_CLOSED)
        self._subscribers.clear()
