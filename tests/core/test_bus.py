"""The in-process bus: fan-out, bounded queues, and publishing only after commit."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from api.core.bus import Event, InProcessBus, SubscriberDropped
from api.core.db import UnitOfWork
from api.models import Operator


@dataclass(frozen=True)
class Ping(Event):
    n: int


async def test_every_subscriber_of_a_channel_receives_in_order():
    # given
    bus = InProcessBus(queue_size=10)
    async with bus.subscribe("a") as first, bus.subscribe("a", "b") as second:
        # when
        for n in range(3):
            await bus.publish("a", Ping(n))
        await bus.publish("b", Ping(99))

        # then
        assert [(await anext(first)).n for _ in range(3)] == [0, 1, 2]
        assert [(await anext(second)).n for _ in range(4)] == [0, 1, 2, 99]
    assert bus.subscriber_count("a") == 0


async def test_a_slow_subscriber_is_dropped_not_grown():
    # given
    bus = InProcessBus(queue_size=3)
    async with bus.subscribe("a") as slow:
        # when
        for n in range(10):
            await bus.publish("a", Ping(n))

        # then: what fitted is delivered, then the drop is reported
        assert [(await anext(slow)).n for _ in range(3)] == [0, 1, 2]
        with pytest.raises(SubscriberDropped):
            await anext(slow)


async def test_events_are_published_after_commit_and_never_after_rollback(server):
    # given
    bus = InProcessBus()
    uow = UnitOfWork(bus)
    async with bus.subscribe("c") as events:
        # when: a transaction that fails after queueing an event
        with pytest.raises(RuntimeError):
            async with uow.begin() as outbox:
                await Operator.create(name="rolled-back-operator")
                outbox.publish("c", Ping(1))
                raise RuntimeError("boom")
        async with uow.begin() as outbox:
            outbox.publish("c", Ping(2))
            await Operator.create(name="committed-operator")
            assert bus.subscriber_count("c") == 1
            pending = asyncio.ensure_future(anext(events))
            await asyncio.sleep(0.01)
            assert not pending.done()  # nothing before commit

        # then
        assert (await asyncio.wait_for(pending, 1)).n == 2
    assert not await Operator.filter(name="rolled-back-operator").exists()
