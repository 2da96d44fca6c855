"""The event bus across nodes: Redis pub/sub carries every event, each node fans it out to its own subscribers.

Same interface and guarantees as ``InProcessBus`` (bounded queues, a slow subscriber is dropped), plus:

- ``subscribe`` returns only once Redis confirmed the subscription, so an event published anywhere after it
  returns reaches the subscriber;
- a node subscribes each channel once in Redis however many local subscribers it has, and unsubscribes when
  the last one leaves;
- a node's own events also come back through Redis, so every subscriber on every node sees one order;
- pub/sub delivers at most once: when the Redis link breaks, every local subscriber is dropped
  (``SubscriberDropped``), so a client knows to subscribe again and re-read the state, instead of silently
  missing what was published during the gap.

Events travel as JSON (``api.core.codec``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as redis
from redis.exceptions import RedisError

from api.core import metrics
from api.core.bus import Event, InProcessBus
from api.core.codec import DataclassCodec, subclasses

log = logging.getLogger(__name__)

SUBSCRIBE_TIMEOUT_S = 5.0


def event_codec() -> DataclassCodec:
    """Every ``Event`` subclass (and the dataclasses inside them) may travel."""
    return DataclassCodec(lambda: [c for c in subclasses(Event)])


class RedisBus:
    def __init__(self, url: str, queue_size: int = 1000, prefix: str = "chargeops:", node: str = "") -> None:
        self.url = url
        self.prefix = prefix
        self.client_name = f"chargeops-bus-{node or f'{socket.gethostname()}-{os.getpid()}'}"
        """How this node's connections appear in Redis's CLIENT LIST."""
        self.codec = event_codec()
        self._redis = redis.Redis.from_url(url, client_name=self.client_name)
        self._local = InProcessBus(queue_size)
        self._pubsub: Any = None
        self._listener: asyncio.Task[None] | None = None
        self._refs: dict[str, int] = {}
        self._pending: dict[str, asyncio.Event] = {}
        self._generation = 0
        """Bumped when the Redis link breaks: subscriptions of an earlier generation no longer count."""
        self._lock = asyncio.Lock()
        self._closed = False

    @property
    def redis(self) -> redis.Redis:
        """The node's Redis client, for what else nodes keep in Redis (liveness)."""
        return self._redis

    async def publish(self, channel: str, event: Event) -> None:
        await self.publish_counted(channel, event)

    async def publish_counted(self, channel: str, event: Event) -> int:
        """Publish; returns how many nodes were subscribed to the channel (0: nobody heard it)."""
        # the publish time rides along (as "at" beside the event) to measure the bus's lag on delivery
        envelope = '{"at":%r,"event":%s}' % (time.time(), self.codec.encode(event))
        receivers: int = await self._redis.publish(self.prefix + channel, envelope)
        return receivers

    def subscriber_count(self, channel: str) -> int:
        """Local subscribers of ``channel`` once Redis confirmed it (they receive what is published now)."""
        confirmed = channel in self._refs and channel not in self._pending
        return self._local.subscriber_count(channel) if confirmed else 0

    @asynccontextmanager
    async def subscribe(self, *channel_names: str) -> AsyncIterator[AsyncIterator[Event]]:
        async with self._local.subscribe(*channel_names) as events:
            generation = await self._acquire(channel_names)
            try:
                yield events
            finally:
                await self._release(channel_names, generation)

    async def _acquire(self, names: tuple[str, ...]) -> int:
        async with self._lock:
            if self._closed:
                raise RuntimeError("the bus is closed")
            if self._pubsub is None:
                self._pubsub = self._redis.pubsub()
            fresh = [n for n in dict.fromkeys(names) if self._refs.get(n, 0) == 0]
            for name in names:
                self._refs[name] = self._refs.get(name, 0) + 1
            waits = []
            for name in fresh:
                self._pending[name] = asyncio.Event()
                waits.append(self._pending[name].wait())
            generation = self._generation
            if fresh:
                try:
                    await self._pubsub.subscribe(*[self.prefix + n for n in fresh])
                except (RedisError, OSError):
                    self._forget(names)
                    raise
                if self._listener is None or self._listener.done():
                    self._listener = asyncio.create_task(self._listen(), name="redis-bus listener")
        if waits:
            try:
                await asyncio.wait_for(asyncio.gather(*waits), SUBSCRIBE_TIMEOUT_S)
            except TimeoutError:
                await self._release(names, generation)
                raise
        return generation

    def _forget(self, names: tuple[str, ...]) -> list[str]:
        gone = []
        for name in names:
            left = self._refs.get(name, 0) - 1
            if left > 0:
                self._refs[name] = left
            elif name in self._refs:
                del self._refs[name]
                gone.append(name)
        return gone

    async def _release(self, names: tuple[str, ...], generation: int) -> None:
        async with self._lock:
            if generation != self._generation or self._closed:
                return  # the link broke since: its subscriptions are gone already
            gone = self._forget(names)
            if gone and self._pubsub is not None:
                try:
                    await self._pubsub.unsubscribe(*[self.prefix + n for n in gone])
                except (RedisError, OSError) as error:
                    log.warning("redis bus: unsubscribe failed (%s); the link will be renewed", error)

    async def _listen(self) -> None:
        while not self._closed:
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except (RedisError, OSError) as error:
                if self._closed:
                    return
                log.warning("redis bus: link lost (%s); dropping this node's subscribers", error)
                await self._renew()
                return
            if message is None:
                continue
            kind = message["type"]
            channel = message["channel"].decode()[len(self.prefix):]
            if kind == "subscribe":
                pending = self._pending.pop(channel, None)
                if pending is not None:
                    pending.set()
            elif kind == "message":
                try:
                    envelope = json.loads(message["data"])
                    event = self.codec.restore_object(envelope["event"])
                    metrics.bus_lag_seconds.observe(max(0.0, time.time() - float(envelope["at"])))
                except (ValueError, KeyError, TypeError) as error:
                    log.error("redis bus: dropped an unreadable event on %s: %s", channel, error)
                    continue
                await self._local.publish(channel, event)

    async def _renew(self) -> None:
        async with self._lock:
            self._generation += 1
            self._refs.clear()
            self._pending.clear()
            old, self._pubsub = self._pubsub, None
            self._local.drop_all()
        if old is not None:
            try:
                await old.aclose()
            except (RedisError, OSError):
                pass

    async def close(self) -> None:
        async with self._lock:
            self._closed = True
        if self._listener is not None:
            self._listener.cancel()
            try:
                await self._listener
            except (asyncio.CancelledError, RedisError, OSError):
                pass
        await self._local.close()
        if self._pubsub is not None:
            await self._pubsub.aclose()
        await self._redis.aclose()
