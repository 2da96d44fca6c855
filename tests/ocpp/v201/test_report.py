"""Whole-configuration reports and local-list limits of OCPP 2.0.1 piles, over real HTTP and WebSocket.

``readConfiguration(report:)`` sends GetBaseReport; the pile's NotifyReport parts are stored as they arrive, as
the pile's reported configuration in the shape 1.6 GetConfiguration answers are kept in, so GraphQL shows it
the same way. The limits a report gives (LocalAuthListCtrlr Entries' maxLimit and ItemsPerMessage) bound the
local lists we send: split into messages, trimmed to what the pile holds, and a hand-sent list too large is
refused. Every frame both ways is checked by the strict client against the official schemas.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from api.models import ChargePoint
from api.models.enums import AccessMode, AccessRuleEffect
from tests.support.cp_client import StrictChargePoint
from tests.support.cp_client_v201 import StrictChargingStation
from tests.support.gql_client import data, gql

READ = """mutation($cp: ID!, $report: ConfigurationReport) { r: readConfiguration(chargePointId: $cp, report: $report) {
    result { outcome status message } keys { key value readonly } } }"""
STORED = "query($cp: ID!) { chargePoint(id: $cp) { reportedConfiguration { key value readonly } } }"


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def reported(component: str, variable: str, value: str | None, mutability: str = "ReadWrite", *,
             evse: dict | None = None, instance: str | None = None, max_limit: int | None = None) -> dict:
    """One ReportDataType: the Actual attribute, and characteristics (maxLimit where given)."""
    attribute: dict = {"type": "Actual", "mutability": mutability}
    if value is not None:
        attribute["value"] = value
    item: dict = {"component": {"name": component}, "variable": {"name": variable}, "variableAttribute": [attribute]}
    if evse is not None:
        item["component"]["evse"] = evse
    if instance is not None:
        item["variable"]["instance"] = instance
    characteristics: dict = {"dataType": "integer", "supportsMonitoring": False}
    if max_limit is not None:
        characteristics["maxLimit"] = max_limit
    item["variableCharacteristics"] = characteristics
    return item


async def connected(server):
    cp = await server.builders.charge_point()
    station = await StrictChargingStation.connect(server.ocpp_url(cp.id))
    await station.boot()
    return cp, station


async def report_in_parts(station, request_id: int, parts: list[list[dict]]) -> None:
    for seq_no, part in enumerate(parts):
        await station.call("NotifyReport", {"requestId": request_id, "generatedAt": now(), "seqNo": seq_no,
                                            "tbc": seq_no < len(parts) - 1, "reportData": part})


LIMITED = [
    [reported("OCPPCommCtrlr", "HeartbeatInterval", "300"),
     reported("LocalAuthListCtrlr", "Entries", "0", "ReadOnly", max_limit=3),
     reported("LocalAuthListCtrlr", "ItemsPerMessage", "2", "ReadOnly")],
    [reported("SecurityCtrlr", "BasicAuthPassword", None, "WriteOnly"),
     reported("TxCtrlr", "TxStartPoint", "PowerPathClosed"),
     reported("EVSE", "AvailabilityState", "Available", "ReadOnly", evse={"id": 1}),
     reported("OCPPCommCtrlr", "MessageAttempts", "3", instance="TransactionEvent")],
]


async def test_a_configuration_report_in_parts_is_stored_and_shown_like_a_16_configuration(server):
    # given
    cp, station = await connected(server)

    # when: an operator asks for the configuration report, and the pile sends it in two parts
    reading = asyncio.create_task(data(server.base_url, READ, {"cp": cp.id, "report": "CONFIGURATION"},
                                       token=server.admin_token))
    frame = await station.expect_call("GetBaseReport")
    await station.answer(frame, {"status": "Accepted"})
    await report_in_parts(station, frame[3]["requestId"], LIMITED)
    result = (await asyncio.wait_for(reading, 10))["r"]

    # then: 1.6 keys where the variable has one, Component.Variable otherwise, kept for GraphQL
    assert frame[3]["reportBase"] == "ConfigurationInventory"
    expected = [
        {"key": "HeartbeatInterval", "value": "300", "readonly": False},
        {"key": "LocalAuthListCtrlr.Entries", "value": "0", "readonly": True},
        {"key": "LocalAuthListMaxLength", "value": "3", "readonly": True},
        {"key": "SendLocalListMaxLength", "value": "2", "readonly": True},
        {"key": "AuthorizationKey", "value": None, "readonly": False},
        {"key": "TxCtrlr.TxStartPoint", "value": "PowerPathClosed", "readonly": False},
        {"key": "EVSE@1.AvailabilityState", "value": "Available", "readonly": True},
        {"key": "TransactionMessageAttempts", "value": "3", "readonly": False},
    ]
    assert result == {"result": {"outcome": "ACCEPTED", "status": "Accepted", "message": ""}, "keys": expected}
    stored = await data(server.base_url, STORED, {"cp": cp.id}, token=server.admin_token)
    assert stored["chargePoint"]["reportedConfiguration"] == expected
    await station.close()


async def test_a_full_report_a_pile_refuses_changes_nothing_and_a_16_pile_gives_all_its_keys(server):
    # given: a 2.0.1 pile that refuses, and a 1.6 pile
    cp, station = await connected(server)
    old = await server.builders.charge_point()
    pile = await StrictChargePoint.connect(server.ocpp_url(old.id))
    await pile.boot()

    # when
    refusing = asyncio.create_task(data(server.base_url, READ, {"cp": cp.id, "report": "FULL"},
                                        token=server.admin_token))
    frame = await station.expect_call("GetBaseReport")
    await station.answer(frame, {"status": "NotSupported"})
    refused = (await asyncio.wait_for(refusing, 10))["r"]
    reading = asyncio.create_task(data(server.base_url, READ, {"cp": old.id, "report": "FULL"},
                                       token=server.admin_token))
    asked = await pile.expect_call("GetConfiguration")
    await pile.answer(asked, {"configurationKey": [{"key": "LocalAuthListMaxLength", "readonly": True, "value": "9"}]})
    read = (await asyncio.wait_for(reading, 10))["r"]

    # then
    assert frame[3]["reportBase"] == "FullInventory"
    assert (refused["result"]["outcome"], refused["keys"]) == ("REJECTED", [])
    assert (await ChargePoint.get(id=cp.id)).reported_configuration is None
    assert asked[3] == {}
    assert read["keys"] == [{"key": "LocalAuthListMaxLength", "value": "9", "readonly": True}]
    assert (await ChargePoint.get(id=old.id)).reported_configuration == read["keys"]
    await station.close()
    await pile.close()


async def test_each_part_is_stored_before_it_is_acknowledged_even_unasked(server):
    # given: a pile reporting on its own (a request of an earlier connection, say)
    cp, station = await connected(server)

    # when: the first part arrives
    await station.call("NotifyReport", {"requestId": 77, "generatedAt": now(), "seqNo": 0, "tbc": True,
                                        "reportData": LIMITED[0]})
    first = (await ChargePoint.get(id=cp.id)).reported_configuration

    # when: the last part arrives, then a new report begins
    await station.call("NotifyReport", {"requestId": 77, "generatedAt": now(), "seqNo": 1, "tbc": False,
                                        "reportData": LIMITED[1]})
    whole = (await ChargePoint.get(id=cp.id)).reported_configuration
    await station.call("NotifyReport", {"requestId": 78, "generatedAt": now(), "seqNo": 0,
                                        "reportData": [reported("OCPPCommCtrlr", "HeartbeatInterval", "60")]})
    again = (await ChargePoint.get(id=cp.id)).reported_configuration

    # then: stored part by part; a new report replaces the old one
    assert [e["key"] for e in first] == ["HeartbeatInterval", "LocalAuthListCtrlr.Entries", "LocalAuthListMaxLength",
                                         "SendLocalListMaxLength"]
    assert len(whole) == 8
    assert again == [{"key": "HeartbeatInterval", "value": "60", "readonly": False}]
    await station.close()


async def test_local_lists_respect_the_limits_a_201_pile_reported(server):
    # given: a private station with 4 allowed cards and a 2.0.1 pile that holds 3, 2 per message
    cp, station = await connected(server)
    viewer = await server.services.access.viewer_from_token(server.admin_token)
    cards = sorted([await server.builders.id_tag() for _ in range(4)])
    await server.services.policies.set_policy(viewer, cp.station_id, AccessMode.PRIVATE, [])
    for card in cards:
        await server.services.policies.add_rule(viewer, cp.station_id, AccessRuleEffect.ALLOW, id_tag=card)
    reading = asyncio.create_task(data(server.base_url, READ, {"cp": cp.id, "report": "CONFIGURATION"},
                                       token=server.admin_token))
    frame = await station.expect_call("GetBaseReport")
    await station.answer(frame, {"status": "Accepted"})
    await report_in_parts(station, frame[3]["requestId"], LIMITED)
    await asyncio.wait_for(reading, 10)

    # when: the station's lists are pushed
    pushing = asyncio.create_task(server.services.station_access.push(viewer, cp.station_id, full=True))
    sent = []
    for _ in range(2):
        call = await station.expect_call("SendLocalList")
        sent.append(call[3])
        await station.answer(call, {"status": "Accepted"})
    results = await asyncio.wait_for(pushing, 10)

    # then: the 3 the pile holds, a full part of 2 then a differential part of 1
    assert [(s["updateType"], [e["idToken"]["idToken"] for e in s["localAuthorizationList"]]) for s in sent] == [
        ("Full", cards[:2]), ("Differential", cards[2:3])]
    assert [r.result.outcome.value for r in results] == ["accepted"]
    assert station.server_calls.empty()

    # when: an operator sends, by hand, a full list larger than the pile holds
    entries = ", ".join(f'{{idTag: "{c}", status: ACCEPTED}}' for c in cards)
    body = await gql(server.base_url, f"""mutation($cp: ID!) {{ r: sendLocalList(chargePointId: $cp, listVersion: 9,
        full: true, entries: [{entries}]) {{ outcome }} }}""", {"cp": cp.id}, token=server.admin_token)

    # then: refused before anything is sent
    assert [e["extensions"]["code"] for e in body["errors"]] == ["INVALID_INPUT"]
    assert "at most 3 cards" in body["errors"][0]["message"]
    assert (await station.call("Heartbeat", {}))["currentTime"]
    assert station.server_calls.empty()
    await station.close()
