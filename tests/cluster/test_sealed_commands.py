"""A command's secret fields (a pile's new password) cross Redis sealed (AES-256-GCM, keyed from
CHARGEOPS_SECRET_KEY, bound to the command id), and a node that cannot open them answers an error instead of
acting.

The codec tests run everywhere; the Redis tests need the suite's node on a Redis bus (CHARGEOPS_TEST_REDIS_BUS,
the MariaDB pass): a second cluster node in the test process asks the suite's node, which holds the pile, while
a plain Redis subscriber keeps every byte published under the deployment's prefix.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import redis.asyncio as redis

from api.cluster.node import ClusterNode, command_codec
from api.commands import dto
from api.core.codec import SealedValueError
from api.core.redis_bus import RedisBus
from api.ocpp.gateway import LocalGateway
from api.ocpp.registry import Registry
from tests.support.cp_client import StrictChargePoint

PASSWORD = "Sealed-Pass-0001-xy"
SECRET = "cluster-sealing-test-" + "s" * 32


def test_a_secret_field_is_sealed_and_opens_only_for_the_same_key_and_command():
    # given
    codec = command_codec(SECRET)
    command = dto.SetBasicAuthPassword(PASSWORD)

    # when
    text = codec.encode(command, "request-1")

    # then: no clear password (nor its 1.6 hex form) on the wire; back whole with the same key and id
    assert PASSWORD not in text and PASSWORD.encode().hex() not in text
    assert set(json.loads(text)["f"]["password"]) == {"sealed"}
    assert codec.decode(text, "request-1") == command
    with pytest.raises(SealedValueError):
        codec.decode(text, "request-2")  # replayed as another command
    with pytest.raises(SealedValueError):
        command_codec("another-deployment-" + "k" * 32).decode(text, "request-1")
    with pytest.raises(SealedValueError):
        command_codec().decode(text, "request-1")


def test_a_secret_is_never_encoded_in_clear_nor_accepted_unsealed():
    with pytest.raises(SealedValueError, match="no sealer"):
        command_codec().encode(dto.SetBasicAuthPassword(PASSWORD), "request-1")
    forged = json.dumps({"t": "api.commands.dto.SetBasicAuthPassword", "f": {"password": PASSWORD}})
    with pytest.raises(SealedValueError, match="unsealed"):
        command_codec(SECRET).decode(forged, "request-1")
    sealed = json.loads(command_codec(SECRET).encode(dto.SetBasicAuthPassword(PASSWORD), "request-1"))
    token = sealed["f"]["password"]["sealed"]
    sealed["f"]["password"]["sealed"] = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with pytest.raises(SealedValueError):
        command_codec(SECRET).decode(json.dumps(sealed), "request-1")


def test_commands_without_secrets_are_unchanged():
    codec = command_codec(SECRET)
    command = dto.RemoteStart("DEMO0001", connector_no=1)
    assert codec.encode(command, "request-1") == command_codec().encode(command)


# -- across nodes, over Redis ------------------------------------------------------------------------------


def redis_bus_of(server: Any) -> RedisBus:
    bus = server.services.bus
    if not isinstance(bus, RedisBus):
        if os.environ.get("CHARGEOPS_CI") == "1" and os.environ.get("CHARGEOPS_TEST_DATABASE_URL"):
            pytest.fail("CI runs the MariaDB pass with CHARGEOPS_TEST_REDIS_BUS")
        pytest.skip("commands between nodes need the suite on Redis (CHARGEOPS_TEST_REDIS_BUS)")
    return bus


@asynccontextmanager
async def asking_node(server: Any, secret_key: str | None = None) -> AsyncIterator[ClusterNode]:
    """Another node of the deployment (holding no pile); ``secret_key``: one that differs from the others'."""
    bus = redis_bus_of(server)
    services = server.services if secret_key is None else dataclasses.replace(server.services, secret_key=secret_key)
    own_bus = RedisBus(os.environ["CHARGEOPS_TEST_REDIS_BUS"], prefix=bus.prefix)
    node = ClusterNode(services, own_bus, LocalGateway(Registry()), name=f"asking-{uuid.uuid4().hex[:8]}")
    await node.start()
    try:
        yield node
    finally:
        await node.stop()
        await own_bus.close()


@asynccontextmanager
async def wiretap(prefix: str) -> AsyncIterator[list[bytes]]:
    """Every message published on the deployment's channels while inside."""
    client = redis.from_url(os.environ["CHARGEOPS_TEST_REDIS_BUS"])
    pubsub = client.pubsub()
    await pubsub.psubscribe(f"{prefix}*")
    heard: list[bytes] = []

    async def listen() -> None:
        async for message in pubsub.listen():
            if message["type"] == "pmessage":
                heard.append(message["data"])

    task = asyncio.create_task(listen())
    try:
        yield heard
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await pubsub.aclose()
        await client.aclose()


async def held_pile(server: Any) -> tuple[str, StrictChargePoint]:
    cp = await server.builders.charge_point()
    pile = await StrictChargePoint.connect(server.ocpp_url(cp.id))
    await pile.boot()
    return cp.id, pile


async def test_a_password_sent_through_another_node_crosses_redis_sealed(server):
    # given: a pile held by the suite's node, and another node asked to give it a password
    bus = redis_bus_of(server)
    charge_point_id, pile = await held_pile(server)
    try:
        async with asking_node(server) as node, wiretap(bus.prefix) as heard:
            # when
            sent = asyncio.create_task(node.send(charge_point_id, dto.SetBasicAuthPassword(PASSWORD)))
            frame = await pile.expect_call("ChangeConfiguration")
            await pile.answer(frame, {"status": "Accepted"})
            result = await sent
            # the wiretap has its own socket: wait until it heard the answer too (published after the command)
            for _ in range(100):
                if any(b"CommandAnswered" in m for m in heard):
                    break
                await asyncio.sleep(0.05)

        # then: the pile got the password; Redis carried the command, never the password
        assert result.outcome == dto.Outcome.ACCEPTED
        assert frame[3] == {"key": "AuthorizationKey", "value": PASSWORD.encode().hex()}
        commands = [m for m in heard if b"SetBasicAuthPassword" in m]
        assert len(commands) == 1 and b"sealed" in commands[0]
        assert not [m for m in heard if PASSWORD.encode() in m or PASSWORD.encode().hex().encode() in m]
    finally:
        await pile.close()


async def test_a_node_that_cannot_open_the_secret_answers_an_error_and_sends_nothing(server):
    # given: a node of another secret key asks the suite's node
    redis_bus_of(server)
    charge_point_id, pile = await held_pile(server)
    try:
        async with asking_node(server, secret_key="not-this-deployments-key-" + "x" * 32) as node:
            # when
            result = await node.send(charge_point_id, dto.SetBasicAuthPassword(PASSWORD))

        # then: an error saying why, and nothing reached the pile (its next exchange is its own)
        assert result.outcome == dto.Outcome.ERROR
        assert "CHARGEOPS_SECRET_KEY" in result.message
        assert (await pile.call("Heartbeat", {}))["currentTime"]
        assert pile.server_calls.empty()
    finally:
        await pile.close()
