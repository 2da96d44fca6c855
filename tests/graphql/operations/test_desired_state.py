"""Desired state survives reconnects: a station locked while its piles are offline is locked on each pile
right after it boots again, and GraphQL shows desired vs reported state."""

from __future__ import annotations

import asyncio

from tests.support.cp_client import StrictChargePoint
from tests.support.gql_client import data, gql

LOCK = """mutation($s: ID!, $op: Boolean!) { r: setStationAvailability(stationId: $s, operative: $op) {
  operative piles { chargePointId outcome } } }"""
STATE = """query($s: ID!) { station(id: $s) { chargePoints { id desiredAvailability availabilityApplied status
  desiredConfiguration { key value lastStatus } } } }"""


async def test_station_locked_while_offline_is_locked_after_each_pile_boots(server):
    # given: a station with two piles, both offline
    station = await server.builders.station()
    piles = [await server.builders.charge_point(station) for _ in range(2)]

    # when: an operator locks the station
    locked = (await data(server.base_url, LOCK, {"s": station.id, "op": False}, token=server.admin_token))["r"]

    # then: nothing could be sent, the wish is kept and shown as not applied
    assert sorted(p["outcome"] for p in locked["piles"]) == ["OFFLINE", "OFFLINE"]
    state = (await data(server.base_url, STATE, {"s": station.id}, token=server.admin_token))["station"]
    assert {(cp["desiredAvailability"], cp["availabilityApplied"]) for cp in state["chargePoints"]} == {
        ("INOPERATIVE", False)}

    # when: each pile connects and boots
    for pile in piles:
        client = await StrictChargePoint.connect(server.ocpp_url(pile.id))
        await client.boot()
        # then: right after the BootNotification answer, the pile is told to be inoperative
        frame = await client.expect_call("ChangeAvailability", timeout=5)
        assert frame[3] == {"connectorId": 0, "type": "Inoperative"}
        await client.answer(frame, {"status": "Accepted"})
        await client.status(0, "Unavailable")
        await client.close()

    await asyncio.sleep(0.2)
    state = (await data(server.base_url, STATE, {"s": station.id}, token=server.admin_token))["station"]
    assert [(cp["desiredAvailability"], cp["availabilityApplied"], cp["status"]) for cp in state["chargePoints"]] == [
        ("INOPERATIVE", True, "UNAVAILABLE")] * 2


async def test_lock_is_reapplied_after_every_reboot_and_unlock_while_offline_too(server):
    station = await server.builders.station()
    pile = await server.builders.charge_point(station)
    client = await StrictChargePoint.connect(server.ocpp_url(pile.id))
    await client.boot()

    # locked while online: the pile agrees
    locking = asyncio.create_task(data(server.base_url, LOCK, {"s": station.id, "op": False}, token=server.admin_token))
    await client.answer(await client.expect_call("ChangeAvailability"), {"status": "Accepted"})
    assert (await locking)["r"]["piles"][0]["outcome"] == "ACCEPTED"

    # the pile reboots: the lock is sent again (a pile may have lost it)
    await client.boot()
    frame = await client.expect_call("ChangeAvailability")
    assert frame[3] == {"connectorId": 0, "type": "Inoperative"}
    await client.answer(frame, {"status": "Accepted"})
    await client.close()

    # unlocked while offline: sent once it is back, then never again
    await asyncio.sleep(0.1)
    unlocked = (await data(server.base_url, LOCK, {"s": station.id, "op": True}, token=server.admin_token))["r"]
    assert unlocked["piles"][0]["outcome"] == "OFFLINE"
    client = await StrictChargePoint.connect(server.ocpp_url(pile.id))
    await client.boot()
    frame = await client.expect_call("ChangeAvailability")
    assert frame[3] == {"connectorId": 0, "type": "Operative"}
    await client.answer(frame, {"status": "Accepted"})
    await asyncio.sleep(0.1)
    await client.boot()
    assert (await client.call("Heartbeat", {}))["currentTime"]  # no call came in between
    assert client.server_calls.empty()
    await client.close()


async def test_changed_configuration_is_reapplied_after_boot(server):
    station = await server.builders.station()
    pile = await server.builders.charge_point(station)
    change = """mutation($cp: ID!) { r: changeConfiguration(chargePointId: $cp, key: "MeterValueSampleInterval",
      value: "15") { outcome } }"""
    assert (await data(server.base_url, change, {"cp": pile.id}, token=server.admin_token))["r"]["outcome"] == "OFFLINE"

    client = await StrictChargePoint.connect(server.ocpp_url(pile.id))
    await client.boot()
    frame = await client.expect_call("ChangeConfiguration")
    assert frame[3] == {"key": "MeterValueSampleInterval", "value": "15"}
    await client.answer(frame, {"status": "Accepted"})
    await asyncio.sleep(0.2)
    state = (await data(server.base_url, STATE, {"s": station.id}, token=server.admin_token))["station"]
    assert state["chargePoints"][0]["desiredConfiguration"] == [
        {"key": "MeterValueSampleInterval", "value": "15", "lastStatus": "Accepted"}]
    await client.close()


async def test_a_rejected_value_stays_desired_until_forgotten_and_then_is_no_longer_sent(server):
    # given: a pile that rejects a configuration value
    station = await server.builders.station()
    pile = await server.builders.charge_point(station)
    client = await StrictChargePoint.connect(server.ocpp_url(pile.id))
    await client.boot()
    change = """mutation($cp: ID!) { r: changeConfiguration(chargePointId: $cp, key: "WebSocketPingInterval",
      value: "5") { outcome status } }"""
    sending = asyncio.create_task(data(server.base_url, change, {"cp": pile.id}, token=server.admin_token))
    await client.answer(await client.expect_call("ChangeConfiguration"), {"status": "Rejected"})
    assert (await sending)["r"] == {"outcome": "REJECTED", "status": "Rejected"}

    # when: the operator forgets it
    forget = """mutation($cp: ID!, $k: String!) { r: forgetDesiredConfiguration(chargePointId: $cp, key: $k) }"""
    assert (await data(server.base_url, forget, {"cp": pile.id, "k": "WebSocketPingInterval"},
                       token=server.admin_token))["r"] is True

    # then: it is gone from the desired state, is not sent after the next boot, and forgetting again says so
    state = (await data(server.base_url, STATE, {"s": station.id}, token=server.admin_token))["station"]
    assert state["chargePoints"][0]["desiredConfiguration"] == []
    await client.boot()
    assert (await client.call("Heartbeat", {}))["currentTime"]
    assert client.server_calls.empty()
    again = await gql(server.base_url, forget, {"cp": pile.id, "k": "WebSocketPingInterval"},
                      token=server.admin_token)
    assert again["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    await client.close()
