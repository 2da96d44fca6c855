"""The node's meter writer (api/metering/writer.py), driven by real piles over real OCPP-J frames.

Many piles' MeterValues share one transaction; each pile is answered only once its rows are committed (read
back through a connection of our own, not the node's); a batch that fails answers every pile in it with
InternalError, stores nothing, and the piles' resent messages land once; a session's ``last_heard_at`` is
our clock's time of receipt, whatever the pile's clock says.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import os
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from api.demo import demo_pile_id
from tests.support.cp_client import StrictChargePoint, now
from tests.support.serve_process import ServeProcess, free_port


async def stored_rows(database_url: str, query: str, *args: Any) -> list[tuple[Any, ...]]:
    """Read the node's database through a connection of our own: what it shows is committed."""
    if database_url.startswith("sqlite://"):
        connection = sqlite3.connect(database_url.removeprefix("sqlite://"), timeout=30)
        try:
            return list(connection.execute(query.replace("%s", "?"), args))
        finally:
            connection.close()
    import asyncmy

    parts = urlsplit(database_url)
    conn = await asyncmy.connect(host=parts.hostname, port=parts.port or 3306, user=parts.username or "root",
                                 password=parts.password or "", database=parts.path.lstrip("/"))
    try:
        async with conn.cursor() as cursor:
            await cursor.execute(query, args)
            return list(await cursor.fetchall())
    finally:
        conn.close()


def meter_values(transaction_id: int, energy_wh: int, at: str | None = None) -> dict[str, Any]:
    return {
        "connectorId": 1, "transactionId": transaction_id,
        "meterValue": [{"timestamp": at or now(), "sampledValue": [
            {"value": str(energy_wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
            {"value": "7000", "measurand": "Power.Active.Import", "unit": "W"},
        ]}],
    }


async def charging_piles(server: Any, count: int) -> list[tuple[StrictChargePoint, int]]:
    piles = []
    for _ in range(count):
        cp = await server.builders.charge_point()
        client = await StrictChargePoint.connect(server.ocpp_url(cp.id))
        tx = (await client.start(1, await server.builders.id_tag(), meter_start=1000))["transactionId"]
        piles.append((client, tx))
    return piles


async def test_many_piles_share_one_batch_and_each_is_answered_after_its_rows_are_committed(server):
    # given: 24 piles charging
    piles = await charging_piles(server, 24)
    writer = server.services.metering.writer
    before = writer.batches
    url = server.services.settings.database_url

    async def report(client: StrictChargePoint, tx: int) -> tuple[dict[str, Any], int]:
        answer = await client.call("MeterValues", meter_values(tx, 1500))
        # the moment the answer arrives, the row and the session's energy are readable from outside the node
        rows = await stored_rows(url, "SELECT COUNT(*) FROM meter_sample WHERE session_id = %s", tx)
        (energy,), = await stored_rows(url, "SELECT energy_wh FROM charging_session WHERE id = %s", tx)
        assert energy == 500
        return answer, rows[0][0]

    # when: all of them send a MeterValues at the same moment
    results = await asyncio.gather(*(report(client, tx) for client, tx in piles))

    # then: every pile answered with an empty CALLRESULT for a stored row, in fewer transactions than piles
    assert results == [({}, 1)] * len(piles)
    batches = writer.batches - before
    assert 1 <= batches < len(piles), f"{len(piles)} MeterValues took {batches} batches"
    for client, _ in piles:
        await client.close()


async def test_a_failed_batch_answers_internal_error_to_every_pile_and_their_resent_samples_land_once(tmp_path):
    # given: a node of its own (a `chargeops serve` process) on a SQLite file we can lock, 4 piles charging
    path = tmp_path / "locked.sqlite3"
    url = f"sqlite://{path}"
    port = free_port()
    env = {**os.environ, "CHARGEOPS_DATABASE_URL": url, "CHARGEOPS_SECRET_KEY": "writer-" + "w" * 40,
           "CHARGEOPS_PUBLIC_URL": f"http://127.0.0.1:{port}", "CHARGEOPS_FILES_DIR": str(tmp_path / "files")}
    node = ServeProcess(env, port, ("--demo", "--demo-piles", "4"))
    clients: list[StrictChargePoint] = []
    try:
        await node.start()
        piles = []
        for number in range(1, 5):
            client = await StrictChargePoint.connect(node.ocpp_url(demo_pile_id(number)))
            clients.append(client)
            await client.boot()
            piles.append((client, (await client.start(1, "BUS0001", meter_start=1000))["transactionId"]))
        sent = {tx: meter_values(tx, 1800, "2026-12-01T10:00:00Z") for _, tx in piles}

        # when: another process holds the database's write lock while the piles report (the node's write waits
        # for SQLite's busy timeout, then fails)
        holder = sqlite3.connect(path, timeout=1, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            for number, (client, tx) in enumerate(piles):
                await client.send_raw(json.dumps([2, f"mv{number}", "MeterValues", sent[tx]]))
            answers = [await client.reply_to(f"mv{number}", timeout=30) for number, (client, _) in
                       enumerate(piles)]
        finally:
            holder.execute("ROLLBACK")
            holder.close()

        # then: each pile was told InternalError (it keeps its data and retries); nothing was stored
        assert [(a[0], a[2]) for a in answers] == [(4, "InternalError")] * len(piles)
        assert await stored_rows(url, "SELECT COUNT(*) FROM meter_sample") == [(0,)]

        # when: the piles send the same messages again, and one of them twice (its answer was lost)
        for client, tx in piles:
            assert await client.call("MeterValues", sent[tx]) == {}
        client, tx = piles[0]
        assert await client.call("MeterValues", sent[tx]) == {}

        # then: each sample is stored once, and its session counts it once
        rows = await stored_rows(url, "SELECT session_id, COUNT(*) FROM meter_sample GROUP BY session_id")
        assert sorted(rows) == sorted((tx, 1) for _, tx in piles)
        energies = await stored_rows(url, "SELECT energy_wh FROM charging_session")
        assert energies == [(800,)] * len(piles)
    finally:
        for client in clients:
            await client.close()
        await node.stop()


async def test_last_heard_at_is_our_clock_at_receipt_while_last_sample_at_keeps_the_piles_clock(server):
    # given: a pile whose clock runs three hours behind
    (client, tx), = await charging_piles(server, 1)
    pile_time = datetime.now(UTC) - timedelta(hours=3)

    # when
    received_after = datetime.now(UTC)
    await client.call("MeterValues", meter_values(tx, 1200, pile_time.isoformat().replace("+00:00", "Z")))
    answered_by = datetime.now(UTC)

    # then: heard now (our clock), sampled three hours ago (the pile's)
    session = await server.services.charging.get(tx)
    assert received_after <= session.last_heard_at <= answered_by  # the node runs in this process: one clock
    assert abs(session.last_sample_at - pile_time) < timedelta(seconds=1)
    assert session.energy_wh == 200
    await client.close()
