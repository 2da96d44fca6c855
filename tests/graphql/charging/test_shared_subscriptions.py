"""Many subscribers of one session: one shared stream, every event to each of them once, in order.

The node runs a shareable subscription once per (document, variables, viewer) and hands the encoded result to
every subscriber (api/graphql/fanout.py); these tests drive it with real OCPP frames and real sockets.
"""

from __future__ import annotations

import asyncio
import json
from contextlib import AsyncExitStack
from typing import Any

import pytest
from starlette.routing import WebSocketRoute

from api.models.enums import Role
from tests.support.cp_client import StrictChargePoint
from tests.support.gql_client import Subscription, subscribe

UPDATES = """
subscription($id: ID!) {
  sessionUpdates(sessionId: $id) {
    __typename
    ... on SessionSampleRecorded { sample { energyWh } sessionEnergyWh }
    ... on SessionPhaseEntered { phase }
    ... on SessionClosed { stopReason energyWh }
  }
}
"""


def shared_subscribers(server) -> int:
    """Subscribers the node serves from shared streams (the GraphQL WebSocket endpoint's count)."""
    return sum(
        route.app.shared_subscriptions.subscriber_count()
        for route in server.app.routes
        if isinstance(route, WebSocketRoute) and hasattr(route.app, "shared_subscriptions")
    )


async def wait_for_shared(server, count: int) -> None:
    for _ in range(500):
        if shared_subscribers(server) == count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{shared_subscribers(server)} shared subscribers, expected {count}")


async def until_complete(updates: Subscription) -> list[dict[str, Any]]:
    received = []
    while True:
        try:
            received.append((await updates.next(timeout=10))["data"]["sessionUpdates"])
        except StopAsyncIteration:
            return received


async def charging_session(server) -> tuple[StrictChargePoint, int]:
    pile = await server.builders.charge_point()
    vin = await server.builders.vehicle()
    client = await StrictChargePoint.connect(server.ocpp_url(pile.id))
    tx = (await client.start(1, vin, meter_start=10_000))["transactionId"]
    return client, tx


def sample(energy_wh: int) -> dict[str, Any]:
    return {"__typename": "SessionSampleRecorded", "sample": {"energyWh": energy_wh},
            "sessionEnergyWh": energy_wh - 10_000}


def end(reason: str, energy_wh: int) -> list[dict[str, Any]]:
    return [{"__typename": "SessionPhaseEntered", "phase": "ENDING"},
            {"__typename": "SessionPhaseEntered", "phase": "ENDED"},
            {"__typename": "SessionClosed", "stopReason": reason, "energyWh": energy_wh}]


async def test_every_subscriber_gets_every_event_once_in_order(server):
    # given: 30 subscribers of one session, as the same admin
    client, tx = await charging_session(server)
    async with AsyncExitStack() as stack:
        subscriptions = [
            await stack.enter_async_context(subscribe(server.ws_url, UPDATES, {"id": tx}, token=server.admin_token))
            for _ in range(30)
        ]
        await wait_for_shared(server, 30)

        # when
        for energy in range(10_100, 11_100, 100):
            await client.meter(1, tx, energy_wh=energy, power_w=7_000)
        await client.stop(tx, meter_stop=11_000, reason="EVDisconnected")

        # then
        received = await asyncio.gather(*(until_complete(s) for s in subscriptions))

    expected = [sample(energy) for energy in range(10_100, 11_100, 100)]
    expected.extend(end("EVDisconnected", 1_000))
    assert all(r == expected for r in received), [r for r in received if r != expected][0]
    assert server.services.bus.subscriber_count(f"session:{tx}") == 0
    assert shared_subscribers(server) == 0
    await client.close()


async def test_a_subscriber_that_may_not_watch_gets_its_error_and_no_data(server):
    # given: the admin watches the session; a driver who has nothing to do with it asks too
    client, tx = await charging_session(server)
    _, stranger = await server.builders.person(Role.DRIVER)
    async with subscribe(server.ws_url, UPDATES, {"id": tx}, token=server.admin_token) as watcher:
        await wait_for_shared(server, 1)
        async with subscribe(server.ws_url, UPDATES, {"id": tx}, token=stranger) as refused:
            # when
            answer = await refused.next()
            await refused.expect_complete()
            await client.meter(1, tx, energy_wh=10_500, power_w=7_000)

            # then
            assert (await watcher.next())["data"]["sessionUpdates"] == sample(10_500)
            assert shared_subscribers(server) == 1
            with pytest.raises(TimeoutError):  # nothing after its complete: the sample went to the watcher only
                await asyncio.wait_for(refused.ws.recv(), 0.5)

    assert answer["data"] is None
    assert [e["extensions"]["code"] for e in answer["errors"]] == ["FORBIDDEN"]
    await client.close()


async def test_a_stalled_and_a_vanished_subscriber_do_not_hold_up_the_others(server):
    # given: three subscribers; one stops reading its socket, one disappears without a close
    client, tx = await charging_session(server)
    async with AsyncExitStack() as stack:
        healthy, stalled, vanished = [
            await stack.enter_async_context(subscribe(server.ws_url, UPDATES, {"id": tx}, token=server.admin_token))
            for _ in range(3)
        ]
        await wait_for_shared(server, 3)
        stalled.ws.transport.pause_reading()
        vanished.ws.transport.abort()

        # when
        for energy in range(10_100, 12_100, 100):
            await client.meter(1, tx, energy_wh=energy, power_w=7_000)

        # then: the healthy one has every sample, each within the client's timeout
        got = [(await healthy.next())["data"]["sessionUpdates"] for _ in range(20)]
        assert got == [sample(energy) for energy in range(10_100, 12_100, 100)]
        await wait_for_shared(server, 2)  # the vanished one has left its group

        # and the stalled one, once it reads again, has them all too
        stalled.ws.transport.resume_reading()
        late = [(await stalled.next())["data"]["sessionUpdates"] for _ in range(20)]
        assert late == got
    await client.close()


async def test_subscribers_of_different_sessions_get_only_their_own(server):
    # given
    first_client, first = await charging_session(server)
    second_client, second = await charging_session(server)
    async with (
        subscribe(server.ws_url, UPDATES, {"id": first}, token=server.admin_token) as a,
        subscribe(server.ws_url, UPDATES, {"id": second}, token=server.admin_token) as b,
    ):
        await wait_for_shared(server, 2)

        # when
        await first_client.meter(1, first, energy_wh=10_100, power_w=7_000)
        await second_client.meter(1, second, energy_wh=10_200, power_w=7_000)
        await first_client.stop(first, meter_stop=10_100)
        await second_client.stop(second, meter_stop=10_200)

        # then
        got_a, got_b = await asyncio.gather(until_complete(a), until_complete(b))

    assert got_a == [sample(10_100), *end("Local", 100)]
    assert got_b == [sample(10_200), *end("Local", 200)]
    await first_client.close()
    await second_client.close()


async def test_a_document_that_does_not_validate_gets_the_protocol_error_message(server):
    # given
    _, tx = await charging_session(server)
    query = "subscription($id: ID!) { sessionUpdates(sessionId: $id) { noSuchField } }"

    # when
    async with subscribe(server.ws_url, query, {"id": tx}, token=server.admin_token) as updates:
        message = json.loads(await asyncio.wait_for(updates.ws.recv(), 5))

    # then: graphql-transport-ws's "error" (no "next", no "complete"), and nobody joined a group
    assert message["type"] == "error"
    assert message["id"] == "1"
    assert len(message["payload"]) == 1
    assert message["payload"][0]["message"].startswith("Cannot query field 'noSuchField' on type 'SessionUpdate'")
    assert shared_subscribers(server) == 0
