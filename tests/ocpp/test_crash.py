"""Kill the node (SIGKILL) while 200 piles stream samples: nothing it acknowledged is lost, every session recovers.

``python -m api serve`` runs as its own process on a SQLite file (or, when CHARGEOPS_TEST_DATABASE_URL is
``mysql://…``, a MariaDB database of its own). 200 strict OCPP 1.6J piles each run a session and send samples
as fast as the node answers; mid-stream the node is killed without a word. Read straight from the database
before the node starts again: every sample whose CALLRESULT a pile received is stored (DESIGN §4: acknowledged
only after it is durable). Then the node starts again and the piles reconnect, each in one of three ways:

- half go on charging: they resend the sample left unanswered and send more; their session stays active and
  follows them;
- a quarter stop: they resend, then send StopTransaction; their session is closed with their figures;
- a quarter rebooted and forgot their transaction: BootNotification, connector Available, no stop; the sweep
  closes their session as ``PileRebooted`` (here after 3 s of silence instead of 12 h), with an event.

The figures (sessions, samples, time to recover) are printed (``-s``); no time is asserted (DESIGN §8).
"""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from websockets.exceptions import ConnectionClosed, WebSocketException

from api.demo import demo_pile_id
from tests.conftest import _drop_mysql_database, _mysql_database
from tests.support.cp_client import CallErrorReceived, StrictChargePoint
from tests.support.serve_process import ServeProcess, free_port

PILES = 200
STALE_S = 3
GOES_ON, STOPS, REBOOTED = "goes on", "stops", "rebooted"


@dataclass
class Pile:
    charge_point_id: str
    fate: str
    register_wh: int
    transaction_id: int = 0
    acknowledged: list[int] = field(default_factory=list)
    """Energy registers of the samples the node answered."""
    unanswered: tuple[str, int] | None = None
    """(timestamp, energy) of the sample in flight when the node died."""
    last_ts: datetime = field(default_factory=lambda: datetime.now(UTC) - timedelta(minutes=30))
    client: StrictChargePoint | None = None
    stop_wh: int | None = None

    def next_ts(self) -> str:
        self.last_ts += timedelta(milliseconds=250)  # strictly increasing: samples are keyed by instant
        return self.last_ts.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    async def sample(self, ts: str, energy_wh: int) -> None:
        assert self.client is not None
        self.unanswered = (ts, energy_wh)
        await self.client.meter(1, self.transaction_id, energy_wh=energy_wh, power_w=60_000, timestamp=ts)
        self.unanswered = None
        self.acknowledged.append(energy_wh)


async def connect(url: str, pile: Pile, rng: random.Random) -> None:
    """Reconnect as a pile does: randomized, growing back-off until the node answers."""
    for attempt in range(60):
        try:
            pile.client = await StrictChargePoint.connect(url)
            return
        except (OSError, TimeoutError, WebSocketException):
            await asyncio.sleep(0.2 * 2 ** min(attempt, 3) + rng.uniform(0, 1))
    raise AssertionError(f"{pile.charge_point_id} could not reconnect")


async def stream(pile: Pile, killed: asyncio.Event) -> None:
    """Samples as fast as the node answers, until it dies under us."""
    try:
        while not killed.is_set():
            pile.register_wh += 100
            await pile.sample(pile.next_ts(), pile.register_wh)
    except (ConnectionClosed, OSError, TimeoutError, CallErrorReceived):
        pass


async def come_back(url: str, pile: Pile, rng: random.Random) -> float:
    """Reconnect and act out the pile's fate; returns when (monotonic) the node first answered it."""
    await connect(url, pile, rng)
    assert pile.client is not None
    if pile.fate == REBOOTED:
        await pile.client.boot()
        back = time.monotonic()
        await pile.client.status(1, "Available")
        return back
    if pile.unanswered is not None:  # OCPP-J: what was not answered is sent again
        ts, energy = pile.unanswered
        await pile.sample(ts, energy)
    else:
        await pile.client.call("Heartbeat", {})
    back = time.monotonic()
    for _ in range(2):
        pile.register_wh += 100
        await pile.sample(pile.next_ts(), pile.register_wh)
    if pile.fate == STOPS:
        pile.stop_wh = pile.register_wh + 50
        await pile.client.stop(pile.transaction_id, pile.stop_wh, reason="EVDisconnected")
    return back


class Database:
    """Read straight from the node's database (SQLite file or MariaDB), with no node running or beside it."""

    def __init__(self, url: str) -> None:
        self.url = url

    async def rows(self, query: str) -> list[tuple]:
        if self.url.startswith("sqlite://"):
            connection = sqlite3.connect(self.url.removeprefix("sqlite://"), timeout=30)
            try:
                return list(connection.execute(query))
            finally:
                connection.close()
        import asyncmy

        parts = urlsplit(self.url)
        conn = await asyncmy.connect(host=parts.hostname, port=parts.port or 3306, user=parts.username or "root",
                                     password=parts.password or "", database=parts.path.lstrip("/"))
        try:
            async with conn.cursor() as cursor:
                await cursor.execute(query)
                return list(await cursor.fetchall())
        finally:
            conn.close()

    async def stored(self) -> set[tuple[int, int]]:
        rows = await self.rows("SELECT session_id, energy_wh FROM meter_sample WHERE session_id IS NOT NULL")
        return {(int(s), int(e)) for s, e in rows if e is not None}

    async def sessions(self) -> dict[int, tuple]:
        rows = await self.rows("SELECT id, charge_point_id, status, meter_start_wh, meter_stop_wh, energy_wh, "
                               "stop_reason FROM charging_session")
        return {int(r[0]): r for r in rows}


@pytest.fixture
async def database_url(tmp_path) -> AsyncIterator[str]:
    wanted = os.environ.get("CHARGEOPS_TEST_DATABASE_URL", "")
    if not wanted.startswith("mysql://"):
        yield f"sqlite://{tmp_path / 'crash.sqlite3'}"
        return
    url, name = await _mysql_database(wanted)
    try:
        yield url
    finally:
        await _drop_mysql_database(wanted, name)


async def test_a_node_killed_mid_stream_loses_nothing_it_acknowledged_and_every_session_recovers(database_url):
    # given: a node with 200 piles, each in a session, streaming samples
    port = free_port()
    env = {**os.environ, "CHARGEOPS_DATABASE_URL": database_url, "CHARGEOPS_SECRET_KEY": "crash-" + "c" * 40,
           "CHARGEOPS_PUBLIC_URL": f"http://127.0.0.1:{port}", "CHARGEOPS_OCPP_RESPONSE_TIMEOUT_S": "5",
           "CHARGEOPS_SESSION_STALE_AFTER_S": str(STALE_S), "CHARGEOPS_SESSION_SWEEP_INTERVAL_S": "1"}
    node = ServeProcess(env, port, ("--demo", "--demo-piles", str(PILES)))
    db = Database(database_url)
    rng = random.Random(7)
    fates = [GOES_ON, GOES_ON, STOPS, REBOOTED]
    piles = [Pile(demo_pile_id(n), fates[n % 4], 1_000_000 + n * 10_000) for n in range(1, PILES + 1)]
    url = f"ws://127.0.0.1:{port}/ocpp/"
    killed = asyncio.Event()
    try:
        await node.start()

        async def begin(pile: Pile) -> None:
            await connect(url + pile.charge_point_id, pile, rng)
            assert pile.client is not None
            await pile.client.boot()
            await pile.client.status(1, "Charging")
            answer = await pile.client.start(1, f"BUS{int(pile.charge_point_id[-4:]) % 5 + 1:04d}", pile.register_wh)
            pile.transaction_id = answer["transactionId"]
            await pile.sample(pile.next_ts(), pile.register_wh + 10)

        await asyncio.gather(*(begin(p) for p in piles))
        streams = [asyncio.create_task(stream(p, killed)) for p in piles]
        await asyncio.sleep(3)

        # when: the node is killed mid-stream
        killed.set()
        await node.kill()
        killed_at = time.monotonic()
        await asyncio.gather(*streams)
        for pile in piles:
            assert pile.client is not None
            await pile.client.close()

        # then: before anything restarts, every acknowledged sample is in the database
        stored = await db.stored()
        acknowledged = {(p.transaction_id, e) for p in piles for e in p.acknowledged}
        in_flight = sum(p.unanswered is not None for p in piles)
        assert acknowledged <= stored, f"{len(acknowledged - stored)} acknowledged samples are missing"
        stored_unacknowledged = len({(p.transaction_id, p.unanswered[1]) for p in piles if p.unanswered} & stored)

        # when: the node starts again and the piles come back
        ready_s = await node.start()
        backs = await asyncio.gather(*(come_back(url + p.charge_point_id, p, rng) for p in piles))
        all_back_s = max(backs) - killed_at

        # then: the rebooted piles' sessions are closed by the sweep
        rebooted_ids = {p.transaction_id for p in piles if p.fate == REBOOTED}
        for _ in range(200):
            sessions = await db.sessions()
            if all(sessions[t][2] == "completed" for t in rebooted_ids):
                break
            await asyncio.sleep(0.1)
        closed_s = time.monotonic() - killed_at

        # and everything acknowledged, before and after the kill, is stored once, in the pile's one session
        stored = await db.stored()
        acknowledged = {(p.transaction_id, e) for p in piles for e in p.acknowledged}
        assert acknowledged <= stored, f"{len(acknowledged - stored)} acknowledged samples are missing"
        assert len(sessions) == PILES
        assert {row[1] for row in sessions.values()} == {p.charge_point_id for p in piles}
        for pile in piles:
            _, _, status, start_wh, stop_wh, energy_wh, reason = sessions[pile.transaction_id]
            if pile.fate == GOES_ON:
                assert (status, energy_wh) == ("active", pile.register_wh - start_wh), pile
            elif pile.fate == STOPS:
                assert (status, stop_wh, reason) == ("completed", pile.stop_wh, "EVDisconnected"), pile
            else:
                assert (status, reason) == ("completed", "PileRebooted"), pile
                assert energy_wh >= max(pile.acknowledged) - start_wh
        events = await db.rows("SELECT COUNT(*) FROM charge_point_event WHERE kind = 'SessionClosedByRule'")
        assert events[0][0] == len(rebooted_ids)

        samples = len(acknowledged)
        print(f"\ncrash: {PILES} piles/sessions ({sum(p.fate == GOES_ON for p in piles)} go on, "
              f"{sum(p.fate == STOPS for p in piles)} stop, {len(rebooted_ids)} rebooted), "
              f"{samples} samples acknowledged and stored (0 lost); {in_flight} in flight at the kill, "
              f"{stored_unacknowledged} of them stored unanswered and merged on resend; "
              f"kill -> node ready {ready_s:.1f} s, -> all piles back {all_back_s:.1f} s, "
              f"-> rebooted piles' sessions closed {closed_s:.1f} s (stale after {STALE_S} s); "
              f"database {'MariaDB' if database_url.startswith('mysql://') else 'SQLite'}")
    finally:
        for pile in piles:
            if pile.client is not None:
                await pile.client.close()
        await node.stop()
