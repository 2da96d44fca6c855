"""The OCPP handshake: who may connect, with which subprotocol, and what a reconnect does."""

from __future__ import annotations

import asyncio

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from api.models import ChargePoint
from api.models.enums import RegistrationStatus
from tests.support.cp_client import StrictChargePoint


async def test_unknown_pile_is_refused_at_the_handshake_and_not_created(server):
    # when
    with pytest.raises(InvalidStatus) as refused:
        await StrictChargePoint.connect(server.ocpp_url("NOBODY-KNOWS-ME"))

    # then
    assert refused.value.response.status_code == 403
    assert not await ChargePoint.filter(id="NOBODY-KNOWS-ME").exists()


@pytest.mark.parametrize("identity", ["x" * 49, "bad%20id", "semi;colon"])
async def test_invalid_identity_is_refused(server, identity):
    with pytest.raises(InvalidStatus) as refused:
        await StrictChargePoint.connect(server.ocpp_url(identity))
    assert refused.value.response.status_code == 403


async def test_auto_registration_admits_unknown_piles_as_pending(server, monkeypatch):
    # given
    monkeypatch.setattr(server.services.charge_points, "auto_register", True)

    # when
    client = await StrictChargePoint.connect(server.ocpp_url("NEW-PILE-7"))
    boot = await client.boot()

    # then
    assert boot["status"] == "Pending"
    stored = await ChargePoint.get(id="NEW-PILE-7")
    assert stored.registration_status == RegistrationStatus.PENDING
    assert stored.station_id is None
    await client.close()


async def test_without_a_supported_subprotocol_the_socket_is_closed(server):
    # given
    cp = await server.builders.charge_point()

    # when
    async with connect(server.ocpp_url(cp.id), subprotocols=["ocpp0.9"]) as ws:  # type: ignore[list-item]
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)

    # then
    assert ws.subprotocol is None
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1002


async def test_reconnect_replaces_the_old_socket_and_keeps_the_pile_online(server):
    # given
    cp = await server.builders.charge_point()
    first = await StrictChargePoint.connect(server.ocpp_url(cp.id))
    await first.boot()

    # when
    second = await StrictChargePoint.connect(server.ocpp_url(cp.id))
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(first.ws.recv(), 5)
    await asyncio.sleep(0.05)

    # then
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4000
    assert (await server.services.charge_points.get(cp.id)).online is True
    assert (await second.call("Heartbeat", {}))["currentTime"]
    await second.close()
    for _ in range(100):
        if not (await server.services.charge_points.get(cp.id)).online:
            break
        await asyncio.sleep(0.01)
    assert (await server.services.charge_points.get(cp.id)).online is False


async def test_oversized_frame_closes_with_1009(server):
    # given
    cp = await server.builders.charge_point()
    client = await StrictChargePoint.connect(server.ocpp_url(cp.id))

    # when
    await client.send_raw('[2, "big", "DataTransfer", {"vendorId": "X", "data": "' + "a" * 70_000 + '"}]')

    # then
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(client.ws.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
