"""Live updates over graphql-transport-ws, fed by real OCPP frames from a pile."""

from __future__ import annotations

import asyncio

from tests.support.cp_client import StrictChargePoint
from tests.support.gql_client import subscribe

UPDATES = """
subscription($id: ID!) {
  sessionUpdates(sessionId: $id) {
    __typename
    ... on SessionSampleRecorded { sample { powerW socPct energyWh } sessionEnergyWh }
    ... on SessionPhaseEntered { phase source }
    ... on SessionClosed { stopReason energyWh }
  }
}
"""


async def wait_for_subscriber(server, channel: str) -> None:
    for _ in range(200):
        if server.services.bus.subscriber_count(channel):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"nobody subscribed to {channel}")


async def test_session_updates_stream_samples_phases_and_end(server):
    # given: an active DC session
    pile = await server.builders.charge_point()
    vin = await server.builders.vehicle()
    client = await StrictChargePoint.connect(server.ocpp_url(pile.id))
    tx = (await client.start(1, vin, meter_start=5_000))["transactionId"]

    async with subscribe(server.ws_url, UPDATES, {"id": tx}, token=server.admin_token) as updates:
        await wait_for_subscriber(server, f"session:{tx}")

        # when
        await client.status(1, "Charging")
        await client.meter(1, tx, energy_wh=5_400, power_w=90_000, soc=41)
        await client.meter(1, tx, energy_wh=5_900, power_w=88_000, soc=42)
        await client.stop(tx, meter_stop=6_000, reason="EVDisconnected")

        # then
        received = [(await updates.next())["data"]["sessionUpdates"] for _ in range(6)]
        await updates.expect_complete()

    assert received == [
        {"__typename": "SessionPhaseEntered", "phase": "CHARGING", "source": "status"},
        {"__typename": "SessionSampleRecorded", "sample": {"powerW": 90_000, "socPct": 41, "energyWh": 5_400},
         "sessionEnergyWh": 400},
        {"__typename": "SessionSampleRecorded", "sample": {"powerW": 88_000, "socPct": 42, "energyWh": 5_900},
         "sessionEnergyWh": 900},
        {"__typename": "SessionPhaseEntered", "phase": "ENDING", "source": "transaction"},
        {"__typename": "SessionPhaseEntered", "phase": "ENDED", "source": "transaction"},
        {"__typename": "SessionClosed", "stopReason": "EVDisconnected", "energyWh": 1_000},
    ]
    await client.close()


async def test_subscribing_to_a_finished_session_yields_its_end_and_completes(server):
    # given
    pile = await server.builders.charge_point()
    tag = await server.builders.id_tag()
    client = await StrictChargePoint.connect(server.ocpp_url(pile.id))
    tx = (await client.start(1, tag, meter_start=0))["transactionId"]
    await client.stop(tx, meter_stop=1234)

    # when
    async with subscribe(server.ws_url, UPDATES, {"id": tx}, token=server.admin_token) as updates:
        first = await updates.next()
        await updates.expect_complete()

    # then
    assert first["data"]["sessionUpdates"] == {"__typename": "SessionClosed", "stopReason": "Local", "energyWh": 1234}
    await client.close()


async def test_subscribing_to_an_unknown_session_gives_a_coded_error(server):
    # when
    async with subscribe(server.ws_url, UPDATES, {"id": "99999999"}, token=server.admin_token) as updates:
        message = await updates.next()

    # then
    assert message["data"] is None
    assert [e["extensions"]["code"] for e in message["errors"]] == ["SESSION_NOT_FOUND"]


async def test_connector_status_subscription_feeds_map_markers(server):
    # given
    station = await server.builders.station()
    pile = await server.builders.charge_point(station)
    client = await StrictChargePoint.connect(server.ocpp_url(pile.id))
    await client.status(1, "Available")
    await client.status(2, "Available")
    query = """subscription($id: ID!) { connectorStatus(stationId: $id) {
                 chargePointId connectorNo status errorCode counts { total available charging faulted } } }"""

    async with subscribe(server.ws_url, query, {"id": station.id}, token=server.admin_token) as updates:
        await wait_for_subscriber(server, f"station:{station.id}")

        # when
        await client.status(1, "Preparing")
        await client.status(2, "Faulted", error_code="HighTemperature")

        # then
        first = (await updates.next())["data"]["connectorStatus"]
        second = (await updates.next())["data"]["connectorStatus"]

    assert first == {"chargePointId": pile.id, "connectorNo": 1, "status": "PREPARING", "errorCode": "NoError",
                     "counts": {"total": 2, "available": 1, "charging": 1, "faulted": 0}}
    assert second == {"chargePointId": pile.id, "connectorNo": 2, "status": "FAULTED", "errorCode": "HighTemperature",
                      "counts": {"total": 2, "available": 0, "charging": 1, "faulted": 1}}
    await client.close()
