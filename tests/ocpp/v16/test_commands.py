"""Commands to a pile over OCPP 1.6J: the right CALL goes out, and every kind of answer comes back typed.

The pile is the strict test client: the server's CALLs must validate against the official schemas.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from api.commands.dto import (
    CancelReservation,
    ChangeAvailability,
    ChangeConfiguration,
    ClearCache,
    CommandResult,
    ConfigurationKey,
    GetConfiguration,
    GetDiagnostics,
    GetLocalListVersion,
    LocalListEntry,
    Outcome,
    RemoteStart,
    RemoteStop,
    ReserveNow,
    Reset,
    SendLocalList,
    TriggerMessage,
    UnlockConnector,
    UpdateFirmware,
)
from api.core.errors import InvalidInput
from tests.support.cp_client import StrictChargePoint

BEIJING = timezone(timedelta(hours=8))
NOON_BEIJING = datetime(2025, 6, 1, 12, 0, tzinfo=BEIJING)
"""2025-06-01T04:00:00Z on the wire."""


def power_limit(profile_id: int, watts: int) -> dict[str, Any]:
    """The 1.6 chargingProfile a remote start with a power limit must carry."""
    return {
        "chargingProfileId": profile_id,
        "stackLevel": 0,
        "chargingProfilePurpose": "TxProfile",
        "chargingProfileKind": "Relative",
        "chargingSchedule": {
            "chargingRateUnit": "W",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": watts}],
        },
    }


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
        # a power limit rides along as a TxProfile for this transaction only
        (RemoteStart("TAG1", 2, max_power_w=7400), "RemoteStartTransaction",
         {"idTag": "TAG1", "connectorId": 2, "chargingProfile": power_limit(16002, 7400)},
         {"status": "Accepted"}, Outcome.ACCEPTED, "Accepted"),
        (RemoteStart("TAG1", max_power_w=11000), "RemoteStartTransaction",
         {"idTag": "TAG1", "chargingProfile": power_limit(16000, 11000)},
         {"status": "Rejected"}, Outcome.REJECTED, "Rejected"),
        (GetConfiguration(), "GetConfiguration", {},
         {"configurationKey": []}, Outcome.ACCEPTED, "Accepted"),
        (GetConfiguration(("HeartbeatInterval", "NoSuchKey")), "GetConfiguration",
         {"key": ["HeartbeatInterval", "NoSuchKey"]},
         {"unknownKey": ["HeartbeatInterval", "NoSuchKey"]}, Outcome.ACCEPTED, "Accepted"),
        (ChangeConfiguration("HeartbeatInterval", "300"), "ChangeConfiguration",
         {"key": "HeartbeatInterval", "value": "300"}, {"status": "Accepted"}, Outcome.ACCEPTED, "Accepted"),
        (ChangeConfiguration("WebSocketPingInterval", "60"), "ChangeConfiguration",
         {"key": "WebSocketPingInterval", "value": "60"},
         {"status": "RebootRequired"}, Outcome.ACCEPTED, "RebootRequired"),
        (ChangeConfiguration("ChargePointVendor", "X"), "ChangeConfiguration",
         {"key": "ChargePointVendor", "value": "X"}, {"status": "Rejected"}, Outcome.REJECTED, "Rejected"),
        (ChangeConfiguration("VendorThing", ""), "ChangeConfiguration",
         {"key": "VendorThing", "value": ""}, {"status": "NotSupported"}, Outcome.REJECTED, "NotSupported"),
        (ClearCache(), "ClearCache", {}, {"status": "Accepted"}, Outcome.ACCEPTED, "Accepted"),
        (ClearCache(), "ClearCache", {}, {"status": "Rejected"}, Outcome.REJECTED, "Rejected"),
        (TriggerMessage("StatusNotification", 1), "TriggerMessage",
         {"requestedMessage": "StatusNotification", "connectorId": 1},
         {"status": "Accepted"}, Outcome.ACCEPTED, "Accepted"),
        (TriggerMessage("Heartbeat"), "TriggerMessage", {"requestedMessage": "Heartbeat"},
         {"status": "Rejected"}, Outcome.REJECTED, "Rejected"),
        (TriggerMessage("DiagnosticsStatusNotification"), "TriggerMessage",
         {"requestedMessage": "DiagnosticsStatusNotification"},
         {"status": "NotImplemented"}, Outcome.REJECTED, "NotImplemented"),
        (ReserveNow(0, "TAG1", NOON_BEIJING, 7), "ReserveNow",
         {"connectorId": 0, "idTag": "TAG1", "expiryDate": "2025-06-01T04:00:00Z", "reservationId": 7},
         {"status": "Accepted"}, Outcome.ACCEPTED, "Accepted"),
        (ReserveNow(1, "TAG1", datetime(2025, 6, 1, 4, 0, 0, 250000, tzinfo=UTC), 8, parent_id_tag="FLEET"),
         "ReserveNow",
         {"connectorId": 1, "idTag": "TAG1", "expiryDate": "2025-06-01T04:00:00.250Z", "reservationId": 8,
          "parentIdTag": "FLEET"},
         {"status": "Occupied"}, Outcome.REJECTED, "Occupied"),
        (ReserveNow(2, "TAG1", NOON_BEIJING, 9), "ReserveNow",
         {"connectorId": 2, "idTag": "TAG1", "expiryDate": "2025-06-01T04:00:00Z", "reservationId": 9},
         {"status": "Faulted"}, Outcome.REJECTED, "Faulted"),
        (ReserveNow(2, "TAG1", NOON_BEIJING, 9), "ReserveNow",
         {"connectorId": 2, "idTag": "TAG1", "expiryDate": "2025-06-01T04:00:00Z", "reservationId": 9},
         {"status": "Unavailable"}, Outcome.REJECTED, "Unavailable"),
        (ReserveNow(2, "TAG1", NOON_BEIJING, 9), "ReserveNow",
         {"connectorId": 2, "idTag": "TAG1", "expiryDate": "2025-06-01T04:00:00Z", "reservationId": 9},
         {"status": "Rejected"}, Outcome.REJECTED, "Rejected"),
        (CancelReservation(7), "CancelReservation", {"reservationId": 7},
         {"status": "Accepted"}, Outcome.ACCEPTED, "Accepted"),
        (CancelReservation(8), "CancelReservation", {"reservationId": 8},
         {"status": "Rejected"}, Outcome.REJECTED, "Rejected"),
        (SendLocalList(1, True, (LocalListEntry("TAG1", "Accepted", NOON_BEIJING, "FLEET"),
                                 LocalListEntry("TAG2", "Blocked"))),
         "SendLocalList",
         {"listVersion": 1, "updateType": "Full", "localAuthorizationList": [
             {"idTag": "TAG1", "idTagInfo": {"status": "Accepted", "expiryDate": "2025-06-01T04:00:00Z",
                                             "parentIdTag": "FLEET"}},
             {"idTag": "TAG2", "idTagInfo": {"status": "Blocked"}}]},
         {"status": "Accepted"}, Outcome.ACCEPTED, "Accepted"),
        (SendLocalList(1, True, ()), "SendLocalList",
         {"listVersion": 1, "updateType": "Full", "localAuthorizationList": []},
         {"status": "NotSupported"}, Outcome.REJECTED, "NotSupported"),
        # status None removes a tag: the entry goes without idTagInfo
        (SendLocalList(2, False, (LocalListEntry("TAG2", None), LocalListEntry("TAG3", "Expired"))),
         "SendLocalList",
         {"listVersion": 2, "updateType": "Differential", "localAuthorizationList": [
             {"idTag": "TAG2"}, {"idTag": "TAG3", "idTagInfo": {"status": "Expired"}}]},
         {"status": "VersionMismatch"}, Outcome.REJECTED, "VersionMismatch"),
        (SendLocalList(3, False, (LocalListEntry("TAG4", "Invalid"),)), "SendLocalList",
         {"listVersion": 3, "updateType": "Differential",
          "localAuthorizationList": [{"idTag": "TAG4", "idTagInfo": {"status": "Invalid"}}]},
         {"status": "Failed"}, Outcome.REJECTED, "Failed"),
        (GetLocalListVersion(), "GetLocalListVersion", {}, {"listVersion": 5}, Outcome.ACCEPTED, "Accepted"),
        (GetLocalListVersion(), "GetLocalListVersion", {}, {"listVersion": -1},
         Outcome.REJECTED, "NotSupported"),
        (GetDiagnostics("ftp://diag.example.com/upload", NOON_BEIJING, NOON_BEIJING + timedelta(hours=1),
                        retries=3, retry_interval_s=60),
         "GetDiagnostics",
         {"location": "ftp://diag.example.com/upload", "startTime": "2025-06-01T04:00:00Z",
          "stopTime": "2025-06-01T05:00:00Z", "retries": 3, "retryInterval": 60},
         {"fileName": "diag-2025-06-01.zip"}, Outcome.ACCEPTED, "Accepted"),
        (GetDiagnostics("https://diag.example.com/upload"), "GetDiagnostics",
         {"location": "https://diag.example.com/upload"}, {}, Outcome.REJECTED, "NoDiagnostics"),
        (UpdateFirmware("https://fw.example.com/dc120-2.0.bin", NOON_BEIJING, 2, 30), "UpdateFirmware",
         {"location": "https://fw.example.com/dc120-2.0.bin", "retrieveDate": "2025-06-01T04:00:00Z",
          "retries": 2, "retryInterval": 30},
         {}, Outcome.ACCEPTED, "Accepted"),
        (UpdateFirmware("ftps://fw.example.com/fw.bin", NOON_BEIJING), "UpdateFirmware",
         {"location": "ftps://fw.example.com/fw.bin", "retrieveDate": "2025-06-01T04:00:00Z"},
         {}, Outcome.ACCEPTED, "Accepted"),
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


@pytest.mark.parametrize(
    ("command", "action", "answer", "expected"),
    [
        (GetConfiguration(), "GetConfiguration",
         {"configurationKey": [{"key": "HeartbeatInterval", "readonly": False, "value": "300"},
                               {"key": "ChargePointVendor", "readonly": True, "value": "TestVendor"},
                               {"key": "AuthorizationKey", "readonly": False}]},
         CommandResult(Outcome.ACCEPTED, "Accepted", configuration=(
             ConfigurationKey("HeartbeatInterval", "300", readonly=False),
             ConfigurationKey("ChargePointVendor", "TestVendor", readonly=True),
             ConfigurationKey("AuthorizationKey", None, readonly=False)))),
        (GetConfiguration(("MeterValueSampleInterval", "NoSuchKey")), "GetConfiguration",
         {"configurationKey": [{"key": "MeterValueSampleInterval", "readonly": False, "value": "60"}],
          "unknownKey": ["NoSuchKey"]},
         CommandResult(Outcome.ACCEPTED, "Accepted",
                       configuration=(ConfigurationKey("MeterValueSampleInterval", "60", readonly=False),),
                       unknown_keys=("NoSuchKey",))),
        (GetConfiguration(), "GetConfiguration", {}, CommandResult(Outcome.ACCEPTED, "Accepted")),
        (GetLocalListVersion(), "GetLocalListVersion", {"listVersion": 12},
         CommandResult(Outcome.ACCEPTED, "Accepted", list_version=12)),
        (GetLocalListVersion(), "GetLocalListVersion", {"listVersion": 0},
         CommandResult(Outcome.ACCEPTED, "Accepted", list_version=0)),
        (GetLocalListVersion(), "GetLocalListVersion", {"listVersion": -1},
         CommandResult(Outcome.REJECTED, "NotSupported", list_version=-1)),
        (GetDiagnostics("ftp://diag.example.com/"), "GetDiagnostics", {"fileName": "diag.zip"},
         CommandResult(Outcome.ACCEPTED, "Accepted", file_name="diag.zip")),
        (GetDiagnostics("ftp://diag.example.com/"), "GetDiagnostics", {},
         CommandResult(Outcome.REJECTED, "NoDiagnostics")),
    ],
)
async def test_answers_with_data_come_back_as_typed_fields(server, command, action, answer, expected):
    # given
    pile, client = await connected_pile(server)

    # when
    sending = asyncio.create_task(server.services.commands.send(pile.id, command))
    await client.answer(await client.expect_call(action), answer)
    result = await asyncio.wait_for(sending, 5)

    # then: everything but the free-text message is exact
    assert dataclasses.replace(result, message="") == expected
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


IN_AN_HOUR = datetime(2025, 6, 1, 13, 0)  # no time zone
"""A naive datetime: which instant it means is a guess, so it is refused."""


@pytest.mark.parametrize(
    "command",
    [
        UnlockConnector(0),
        ChangeAvailability(-1, operative=True),
        RemoteStart(""),
        RemoteStart("T", 0),
        RemoteStart("T" * 21),
        RemoteStart("T", 1, max_power_w=0),
        GetConfiguration(("HeartbeatInterval", "K" * 51)),
        GetConfiguration(("",)),
        ChangeConfiguration("K" * 51, "1"),
        ChangeConfiguration("", "1"),
        ChangeConfiguration("HeartbeatInterval", "9" * 501),
        TriggerMessage("StartTransaction"),
        TriggerMessage("LogStatusNotification"),
        TriggerMessage("StatusNotification", 0),
        ReserveNow(-1, "TAG1", NOON_BEIJING, 1),
        ReserveNow(1, "", NOON_BEIJING, 1),
        ReserveNow(1, "TAG1", IN_AN_HOUR, 1),
        ReserveNow(1, "TAG1", NOON_BEIJING, 1, parent_id_tag="P" * 21),
        SendLocalList(0, True, ()),
        SendLocalList(1, True, (LocalListEntry("TAG1", None),)),
        SendLocalList(1, False, (LocalListEntry("TAG1", "ConcurrentTx"),)),
        SendLocalList(1, False, (LocalListEntry("T" * 21, "Accepted"),)),
        SendLocalList(1, False, (LocalListEntry("TAG1", "Accepted", IN_AN_HOUR),)),
        SendLocalList(1, False, (LocalListEntry("TAG1", None, NOON_BEIJING),)),
        SendLocalList(1, True, (LocalListEntry("TAG1", "Accepted"), LocalListEntry("tag1", "Blocked"))),
        GetDiagnostics("diag.example.com/upload"),
        GetDiagnostics("file:///tmp/diag"),
        GetDiagnostics("ftp:///no-host"),
        GetDiagnostics("http://[::1/diag"),
        GetDiagnostics("ftp://diag.example.com/", start_time=IN_AN_HOUR),
        GetDiagnostics("ftp://diag.example.com/", NOON_BEIJING, NOON_BEIJING - timedelta(seconds=1)),
        GetDiagnostics("ftp://diag.example.com/", retries=-1),
        GetDiagnostics("ftp://diag.example.com/", retry_interval_s=-5),
        UpdateFirmware("sftp://fw.example.com/fw.bin", NOON_BEIJING),
        UpdateFirmware("https://fw.example.com/fw.bin", IN_AN_HOUR),
    ],
    ids=repr,
)
async def test_bad_arguments_are_refused_before_anything_is_sent(server, command):
    pile, client = await connected_pile(server)
    with pytest.raises(InvalidInput):
        await server.services.commands.send(pile.id, command)
    await client.call("Heartbeat", {})  # a round trip: any CALL the server had sent would now be queued
    assert client.server_calls.empty()
    await client.close()
