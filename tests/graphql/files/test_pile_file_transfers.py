"""Diagnostics up and firmware down over HTTP: the pile gets time-limited URLs in GetDiagnostics/UpdateFirmware."""

from __future__ import annotations

import asyncio
import gzip
import os

import httpx

from api.models.enums import Role
from tests.graphql.files.test_station_files import gql, upload
from tests.support.cp_client import StrictChargePoint


async def test_diagnostics_uploaded_by_the_pile_become_a_station_file(server):
    station = await server.builders.station()
    pile = await server.builders.charge_point(station)
    _, manager = await server.builders.person(Role.STATION_MANAGER, station_id=station.id)
    client = await StrictChargePoint.connect(server.ocpp_url(pile.id))
    await client.boot()

    asking = asyncio.create_task(gql(server, """mutation($cp: ID!) { requestDiagnostics(chargePointId: $cp) {
        result { outcome status } uploadUrlExpiresAt } }""", {"cp": pile.id}, manager))
    frame = await client.expect_call("GetDiagnostics")
    await client.answer(frame, {"fileName": "diag.log.gz"})
    assert (await asking)["data"]["requestDiagnostics"]["result"] == {"outcome": "ACCEPTED", "status": "Accepted"}

    location = frame[3]["location"]
    assert location.startswith(f"{server.base_url}/pile-uploads/diagnostics/{pile.id}/")
    log = gzip.compress(b"2026-11-29 ERROR insulation check failed\n" * 100)
    async with httpx.AsyncClient() as http:
        assert (await http.put(location.replace("sig=", "sig=x"), content=log)).status_code == 403
        assert (await http.put(location, content=log)).status_code == 201
        # a multipart POST, as many piles send it, works on the same link
        assert (await http.post(location, files={"file": ("diag2.log.gz", log)})).status_code == 201
    files = (await gql(server, """query($s: ID!) { stationFiles(stationId: $s, category: "diagnostics") {
        name chargePointId current { sizeBytes contentType } } }""", {"s": station.id}, manager))["data"]
    assert {f["chargePointId"] for f in files["stationFiles"]} == {pile.id}
    assert [f["current"] for f in files["stationFiles"]] == [{"sizeBytes": len(log), "contentType": "application/gzip"}] * 2
    await client.close()


async def test_firmware_file_reaches_the_pile_through_a_download_url(server):
    station = await server.builders.station()
    pile = await server.builders.charge_point(station)
    _, manager = await server.builders.person(Role.STATION_MANAGER, station_id=station.id)
    image = b"\x7fFW\x00" + os.urandom(300_000)
    made = (await upload(server, manager, station.id, "fw-2.1.bin", image, category="firmware"))["data"]["f"]
    client = await StrictChargePoint.connect(server.ocpp_url(pile.id))
    await client.boot()

    updating = asyncio.create_task(gql(server, """mutation($cp: ID!, $f: ID!) { updateFirmware(chargePointId: $cp,
        fileId: $f, retrieveAt: "2026-12-01T02:00:00+08:00") { outcome } }""", {"cp": pile.id, "f": made["id"]},
                                       manager))
    frame = await client.expect_call("UpdateFirmware")
    await client.answer(frame, {})
    assert (await updating)["data"]["updateFirmware"] == {"outcome": "ACCEPTED"}
    assert frame[3]["retrieveDate"] == "2026-11-30T18:00:00Z"
    async with httpx.AsyncClient() as http:
        fetched = await http.get(frame[3]["location"])
    assert fetched.content == image

    # the audit trail keeps the command but not the link (a link is a capability)
    trail = (await gql(server, """query($cp: ID!) { auditTrail(filter: {chargePointId: $cp, actionPrefix:
        "pile.update_firmware"}) { entries { details } } }""", {"cp": pile.id}, manager))["data"]
    assert "sig=" not in str(trail)
    await client.close()
