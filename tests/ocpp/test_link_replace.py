"""A second connection with the same pile id replaces the first cleanly, in 1.6 and 2.0.1.

The old socket is closed (4000); a command waiting for an answer on it ends at once with OFFLINE instead of
waiting out the response timeout; the next command goes to the new socket; what the pile sent on the old socket
and sends again on the new one is stored once; and however fast a pile reconnects, it stays online while a
socket of it is open and goes offline when the last one closes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time

import pytest
from websockets.exceptions import ConnectionClosed

from api.commands.dto import Outcome, Reset
from api.models import ChargingSession
from tests.support.cp_client import StrictChargePoint, now
from tests.support.cp_client_v201 import StrictChargingStation

DIALECTS = [pytest.param(StrictChargePoint, id="1.6"), pytest.param(StrictChargingStation, id="2.0.1")]


async def closed_code(client: StrictChargePoint) -> int | None:
    """Read until the server closes the socket; the close code it sent."""
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(client.ws.recv(), 5)
    return closed.value.rcvd.code if closed.value.rcvd is not None else None


async def online(server, charge_point_id: str) -> bool:
    return (await server.services.charge_points.get(charge_point_id)).online


async def eventually_offline(server, charge_point_id: str) -> bool:
    for _ in range(200):
        if not await online(server, charge_point_id):
            return True
        await asyncio.sleep(0.01)
    return False


@pytest.mark.parametrize("pile", DIALECTS)
async def test_command_in_flight_on_the_old_socket_ends_offline_and_the_next_goes_to_the_new_one(server, pile):
    # given: a pile holds a command without answering it
    cp = await server.builders.charge_point()
    old = await pile.connect(server.ocpp_url(cp.id))
    await old.boot()
    waiting = asyncio.create_task(server.services.commands.send(cp.id, Reset()))
    await old.expect_call("Reset")

    # when: the pile connects again (a reboot, a new modem link) while the old socket still looks open
    started = time.monotonic()
    new = await pile.connect(server.ocpp_url(cp.id))
    in_flight = await asyncio.wait_for(waiting, 4)  # the response timeout is 5 s: this must not wait it out

    # then: the command on the old socket got a clear answer, not a hang
    assert in_flight.outcome == Outcome.OFFLINE
    assert "may have acted" in (in_flight.message or "")
    assert time.monotonic() - started < 4
    assert await closed_code(old) == 4000

    # and the next command reaches the new socket, and its answer comes back
    await new.boot()
    following = asyncio.create_task(server.services.commands.send(cp.id, Reset()))
    frame = await new.expect_call("Reset")
    await new.answer(frame, {"status": "Accepted"})
    assert (await asyncio.wait_for(following, 5)).outcome == Outcome.ACCEPTED
    assert await online(server, cp.id)

    # and when the new socket closes, nothing keeps the pile online
    await new.close()
    assert await eventually_offline(server, cp.id)


@pytest.mark.parametrize("pile", DIALECTS)
async def test_an_answer_arriving_on_the_old_socket_after_the_swap_is_not_taken(server, pile):
    # given
    cp = await server.builders.charge_point()
    old = await pile.connect(server.ocpp_url(cp.id))
    await old.boot()
    first = asyncio.create_task(server.services.commands.send(cp.id, Reset()))
    stale = await old.expect_call("Reset")
    new = await pile.connect(server.ocpp_url(cp.id))
    assert (await asyncio.wait_for(first, 4)).outcome == Outcome.OFFLINE

    # when: the old socket's late answer races the new socket's command
    second = asyncio.create_task(server.services.commands.send(cp.id, Reset(hard=True)))
    with pytest.raises(ConnectionClosed):
        await old.answer(stale, {"status": "Accepted"})
        await closed_code(old)
    frame = await new.expect_call("Reset")
    await new.answer(frame, {"status": "Rejected"})

    # then: the second command has the new socket's answer, not the old one's
    result = await asyncio.wait_for(second, 5)
    assert (result.outcome, result.status) == (Outcome.REJECTED, "Rejected")
    await new.close()


async def test_start_sent_on_the_old_socket_and_resent_on_the_new_one_is_one_session(server, caplog):
    # given: a pile sends StartTransaction and loses its link before it reads the answer
    cp = await server.builders.charge_point()
    tag = await server.builders.id_tag()
    old = await StrictChargePoint.connect(server.ocpp_url(cp.id))
    await old.boot()
    start = {"connectorId": 1, "idTag": tag, "meterStart": 1_000, "timestamp": now()}
    caplog.set_level(logging.ERROR)
    await old.send_raw(json.dumps([2, "lost-1", "StartTransaction", start]))

    # when: it connects again at once and sends the same StartTransaction (OCPP-J: resend the unanswered)
    new = await StrictChargePoint.connect(server.ocpp_url(cp.id))
    await new.boot()
    answer = await new.call("StartTransaction", start)
    again = await new.call("StartTransaction", start)

    # then: one session, whichever socket's handling stored it
    assert answer["transactionId"] == again["transactionId"]
    assert await ChargingSession.filter(charge_point_id=cp.id).count() == 1
    await new.stop(answer["transactionId"], 2_000)
    session = await ChargingSession.get(id=answer["transactionId"])
    assert (session.status.value, session.energy_wh) == ("completed", 1_000)
    # and an answer that could not go out on the closed socket is no server error
    assert [r for r in caplog.records if r.name.startswith("uvicorn")] == []
    await new.close()


@pytest.mark.parametrize("pile", DIALECTS)
async def test_rapid_reconnects_leave_exactly_one_live_socket_and_the_pile_online(server, pile, caplog):
    # given
    cp = await server.builders.charge_point()
    sockets = []
    caplog.set_level(logging.ERROR)

    # when: the pile reconnects 12 times without closing, then 12 times closing first (a flapping modem)
    for _ in range(12):
        sockets.append(await pile.connect(server.ocpp_url(cp.id)))
    for _ in range(12):
        await sockets[-1].ws.close()
        sockets.append(await pile.connect(server.ocpp_url(cp.id)))
        await asyncio.sleep(0.02)  # let the closed socket's end race the new socket's start
        assert await online(server, cp.id)

    # then: every replaced socket was closed with 4000, only the last one answers, and the pile is online
    for replaced in sockets[:11]:
        assert await closed_code(replaced) == 4000
    live = sockets[-1]
    assert (await live.call("Heartbeat", {}))["currentTime"]
    await asyncio.sleep(0.1)
    assert await online(server, cp.id)

    # and when the last socket closes the pile is offline, and no socket's end was a server error
    await live.close()
    assert await eventually_offline(server, cp.id)
    assert [r.getMessage() for r in caplog.records if r.name.startswith("uvicorn")] == []


async def test_two_connections_racing_in_leave_the_later_one_live(server):
    # given
    cp = await server.builders.charge_point()

    # when: several sockets of the same pile open at the same moment
    clients = await asyncio.gather(*(StrictChargePoint.connect(server.ocpp_url(cp.id)) for _ in range(5)))

    # then: exactly one of them stays open, and it is the one the server answers
    alive = []
    for client in clients:
        try:
            alive.append((client, await asyncio.wait_for(client.call("Heartbeat", {}), 2)))
        except (ConnectionClosed, TimeoutError):
            pass
    assert len(alive) == 1
    assert await online(server, cp.id)
    await alive[0][0].close()
    assert await eventually_offline(server, cp.id)
