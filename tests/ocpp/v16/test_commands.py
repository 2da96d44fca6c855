"""Commands to a pile over OCPP 1.6J: the right CALL goes out, and every kind of answer comes back typed.

The pile is the strict test client: the server's CALLs must validate against the official schemas.
"""

from __future__ import annotations

import asyncio

import pytest

from api.commands.dto import ChangeAvailability, Outcome, RemoteStart, RemoteStop, Reset, UnlockConnector
from api.core.errors import InvalidInput
from tests.support.cp_client import StrictChargePoint


async def connected_pile(server):
    pile = await server.builders.charge_point()
    client = await StrictChargePoint.connect(server.ocpp_url(pile.id))
    await client.boot()
    return pile, client


@pytest.mark.parametrize(
    ("command", "action", "payload", "answer", "outcome", "status"),
    [
        (RemoteStart("TAG1", 1), "RemoteStartTransaction", {"idTag": "TAG1", "connectorId": 1},
         {"status": "Accepted"}, Outcome.ACCEPTED, "Accepted"),
        (RemoteStart("TAG1"), "RemoteStartTransaction", {"idTag": "TAG1"},
         {"status": "Rejected"}, Outcome.REJECTED, "Rejected"),
        (RemoteStop(42), "RemoteStopTransaction", {"transactionId": 42},
         {"status": "Accepted"}, Outcome.ACCEPTED, "Accepted"),
        (ChangeAvailability(0, operative=False), "ChangeAvailability", {"connectorId": 0, "type": "Inoperative"},
         {"status": "Scheduled"}, Outcome.ACCEPTED, "Scheduled"),
        (ChangeAvailability(2, operative=True), "ChangeAvailability", {"connectorId": 2, "type": "Operative"},
         {"status": "Rejected"}, Outcome.REJECTED, "Rejected"),
        (UnlockConnector(1), "UnlockConnector", {"connectorId": 1},
         {"status": "UnlockFailed"}, Outcome.REJECTED, "UnlockFailed"),
        (Reset(hard=True), "Reset", {"type": "Hard"}, {"status": "Accepted"}, Outcome.ACCEPTED, "Accepted"),
    ],
)
async def test_command_sends_the_call_and_returns_the_piles_answer(server, command, action, payload, answer,
                                                                   outcome, status):
    # given
    pile, client = await connected_pile(server)

    # when
    sending = asyncio.create_task(server.services.commands.send(pile.id, command))
    frame = await client.expect_call(action)
    await client.answer(frame, answer)
    result = await asyncio.wait_for(sending, 5)

    # then
    assert frame[3] == payload
    assert (result.outcome, result.status) == (outcome, status)
    await client.close()


async def test_callerror_from_the_pile_is_an_error_result(server):
    pile, client = await connected_pile(server)
    sending = asyncio.create_task(server.services.commands.send(pile.id, Reset()))
    frame = await client.expect_call("Reset")
    await client.answer_error(frame, "NotSupported", "no soft reset here")
    result = await asyncio.wait_for(sending, 5)
    assert (result.outcome, result.status) == (Outcome.ERROR, "NotSupported")
    assert "no soft reset" in result.message
    await client.close()


async def test_answer_that_breaks_the_schema_is_an_error_result(server):
    pile, client = await connected_pile(server)
    sending = asyncio.create_task(server.services.commands.send(pile.id, UnlockConnector(1)))
    frame = await client.expect_call("UnlockConnector")
    await client.answer(frame, {"status": "Maybe"}, validate=False)
    result = await asyncio.wait_for(sending, 5)
    assert result.outcome == Outcome.ERROR
    await client.close()


async def test_offline_pile_gets_nothing_sent(server):
    pile = await server.builders.charge_point()
    result = await server.services.commands.send(pile.id, RemoteStop(1))
    assert result.outcome == Outcome.OFFLINE


async def test_silent_pile_times_out_and_the_connection_stays_usable(server):
    # given: the server waits ocpp_response_timeout_s (5 s in tests) for an answer
    pile, client = await connected_pile(server)

    # when: the pile never answers
    result = await server.services.commands.send(pile.id, RemoteStop(7))

    # then
    assert result.outcome == Outcome.TIMED_OUT
    await client.expect_call("RemoteStopTransaction")
    assert (await client.call("Heartbeat", {}))["currentTime"]
    await client.close()


@pytest.mark.parametrize(
    "command", [UnlockConnector(0), ChangeAvailability(-1, operative=True), RemoteStart(""), RemoteStart("T", 0)]
)
async def test_bad_arguments_are_refused_before_anything_is_sent(server, command):
    pile, client = await connected_pile(server)
    with pytest.raises(InvalidInput):
        await server.services.commands.send(pile.id, command)
    assert client.server_calls.empty()
    await client.close()
