"""The Redis event bus between two nodes, against a real Redis (CHARGEOPS_TEST_REDIS_URL, default 127.0.0.1:6379)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import redis.asyncio as redis

from api.charge_point.events import ConnectorStatusChanged
from api.charging.events import SessionPhaseChanged
from api.core.bus import SubscriberDropped
from api.core.redis_bus import RedisBus, event_codec
from api.metering.events import MeterSampleRecorded
from api.models.enums import ChargingPhase, ConnectorStatus

REDIS_URL = os.environ.get("CHARGEOPS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
AT = datetime(2026, 11, 29, 6, 30, 15, 250_000, tzinfo=UTC)


async def redis_or_skip() -> None:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except (OSError, redis.RedisError) as error:
        if os.environ.get("CHARGEOPS_CI") == "1":
            pytest.fail(f"CI needs Redis at {REDIS_URL}: {error}")
        pytest.skip(f"no Redis at {REDIS_URL}: {error}")
    finally:
        await client.aclose()


@pytest.fixture
async def nodes() -> AsyncIterator[tuple[RedisBus, RedisBus]]:
    await redis_or_skip()
    prefix = f"test-{uuid.uuid4().hex[:8]}:"  # pub/sub channels are server-wide: keep runs apart
    a = RedisBus(REDIS_URL, queue_size=5, prefix=prefix, node=f"{prefix}a")
    b = RedisBus(REDIS_URL, queue_size=5, prefix=prefix, node=f"{prefix}b")
    yield a, b
    await a.close()
    await b.close()


def sample(n: int) -> MeterSampleRecorded:
    return MeterSampleRecorded(
        session_id=7, charge_point_id="CP-1", connector_no=1, ts=AT, context="Sample.Periodic", energy_wh=n,
        power_w=60_000, current_ma=None, voltage_mv=None, soc_pct=55, temperature_decic=None, session_energy_wh=n,
    )


def test_events_survive_the_round_trip_with_their_types():
    codec = event_codec()
    for event in (
        sample(1),
        SessionPhaseChanged(session_id=3, phase=ChargingPhase.CHARGING, at=AT, source="status"),
        ConnectorStatusChanged(charge_point_id="CP-1", station_id=None, connector_id=None, connector_no=0,
                               status=ConnectorStatus.FAULTED, error_code="GroundFailure", at=AT),
    ):
        back = codec.decode(codec.encode(event))
        assert back == event
        assert type(back) is type(event)
    restored = codec.decode(codec.encode(SessionPhaseChanged(session_id=3, phase=ChargingPhase.ENDING, at=AT,
                                                             source="x")))
    assert isinstance(restored, SessionPhaseChanged) and isinstance(restored.phase, ChargingPhase)
    with pytest.raises(ValueError, match="unknown type"):
        codec.decode('{"t": "api.nowhere.Nothing", "f": {}}')


async def test_a_subscriber_on_one_node_sees_what_another_node_publishes(nodes):
    a, b = nodes
    async with a.subscribe("session:7") as events:
        # subscribe returned: Redis confirmed it, so nothing published from now on is missed
        for n in range(3):
            await b.publish("session:7", sample(n))
        await b.publish("session:8", sample(99))  # another channel: not delivered
        got = [await asyncio.wait_for(anext(events), 5) for _ in range(3)]
    assert [e.energy_wh for e in got] == [0, 1, 2]
    assert got[0] == sample(0)


async def test_one_redis_subscription_per_channel_per_node_and_none_left_after(nodes):
    a, b = nodes
    probe = redis.Redis.from_url(REDIS_URL)
    channel = a.prefix + "station:1"

    async def redis_subscribers() -> int:
        return dict(await probe.pubsub_numsub(channel))[channel.encode()]

    try:
        async with a.subscribe("station:1") as first, a.subscribe("station:1") as second:
            assert await redis_subscribers() == 1
            await b.publish("station:1", sample(5))
            assert (await asyncio.wait_for(anext(first), 5)).energy_wh == 5
            assert (await asyncio.wait_for(anext(second), 5)).energy_wh == 5
        for _ in range(50):
            if await redis_subscribers() == 0:
                break
            await asyncio.sleep(0.02)
        assert await redis_subscribers() == 0
    finally:
        await probe.aclose()


async def test_a_subscriber_that_falls_behind_is_dropped_not_the_node(nodes):
    a, b = nodes
    async with a.subscribe("session:7") as slow, a.subscribe("session:7") as keeping_up:
        for n in range(8):  # queue_size is 5
            await b.publish("session:7", sample(n))
            assert (await asyncio.wait_for(anext(keeping_up), 5)).energy_wh == n
        with pytest.raises(SubscriberDropped):
            for _ in range(8):
                await asyncio.wait_for(anext(slow), 5)


async def test_a_broken_redis_link_drops_subscribers_and_the_node_recovers(nodes):
    a, b = nodes
    admin = redis.Redis.from_url(REDIS_URL)
    try:
        async with a.subscribe("session:9") as events:
            await b.publish("session:9", sample(1))
            assert (await asyncio.wait_for(anext(events), 5)).energy_wh == 1
            # the link of node a's subscriptions breaks (as when Redis restarts)
            ours = [c["id"] for c in await admin.client_list(_type="pubsub") if c["name"] == a.client_name]
            assert len(ours) == 1
            assert await admin.client_kill_filter(_id=ours[0]) == 1
            with pytest.raises(SubscriberDropped):
                await asyncio.wait_for(anext(events), 5)
        # a client that subscribes again gets what is published from then on
        async with a.subscribe("session:9") as again:
            await b.publish("session:9", sample(2))
            assert (await asyncio.wait_for(anext(again), 5)).energy_wh == 2
    finally:
        await admin.aclose()
