"""Reconnect storm: N charging piles lose their node at once (SIGKILL) and come back to its restart.

    .venv/bin/python bench/reconnect_storm.py --piles 2000

Starts ``chargeops serve --demo --demo-piles N`` (a fresh SQLite file in a temporary folder, unless
--database-url names a MySQL/MariaDB database), connects N OCPP 1.6J piles (one asyncio process, raw
OCPP-J frames), each boots, starts a transaction and sends meter samples, keeping every sample the node
acknowledged. Then the node is killed (SIGKILL: no shutdown, every socket dropped at once) and started again
on the same database and port. The piles reconnect with the randomized back-off OCPP 2.0.1 describes
(B.? ``RetryBackOffWaitMinimum`` doubled per attempt up to ``RetryBackOffRepeatTimes`` times, plus a random
part up to ``RetryBackOffRandomRange``), resend what was not acknowledged, and go on sampling. Printed: the
time until all N are back (from the kill, and from the node being ready again), per-pile reconnect times,
and the check that every acknowledged sample is stored, once, in the one session of its pile. The exit status
is 1 when a pile did not come back or an acknowledged sample is missing. Record the figures, with this
command line, in bench/RESULTS.md.

``tests/ocpp/test_link_storm.py`` runs the same storm with 300 piles and asserts on its result.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psutil
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidHandshake, WebSocketException

ROOT = Path(__file__).resolve().parents[1]
FLEET_TAGS = tuple(f"BUS{n:04d}" for n in range(1, 6))
"""Demo fleet cards: admitted at every demo station at any hour (the bus depot is fleet-only at night)."""
SERVER_CALL_ANSWERS = {"GetLocalListVersion": {"listVersion": -1}, "SendLocalList": {"status": "NotSupported"}}
"""What a pile without a local list answers to the node's calls after a boot (anything else: Rejected)."""


@dataclass(frozen=True)
class Options:
    piles: int = 2000
    samples_before: int = 2
    """Samples each pile has acknowledged before the kill."""
    samples_after: int = 2
    """Samples each pile sends after it is back, before the run ends."""
    sample_interval_s: float = 30.0
    """Seconds between a pile's samples (real piles: 15-60 s)."""
    connect_spread_s: float = 20.0
    """The first connections are spread over this many seconds (a fleet that came up over time)."""
    backoff_min_s: float = 1.0
    backoff_random_s: float = 10.0
    backoff_repeat: int = 3
    call_timeout_s: float = 60.0
    database_url: str = ""
    """Empty: a fresh SQLite file in a temporary folder."""
    seed: int = 1


@dataclass
class PileRecord:
    charge_point_id: str
    transaction_id: int | None = None
    acknowledged: list[tuple[int, int]] = field(default_factory=list)
    """(transaction id, energy register Wh) of every sample the node answered."""
    pending: list[list[Any]] = field(default_factory=list)
    """Calls sent without an answer yet: resent, as they were, after a reconnect."""
    attempts: int = 0
    resent: int = 0
    back_at: float | None = None
    """When (monotonic) the first call after the kill was answered."""


@dataclass
class Figures:
    piles: int
    database: str
    seed_and_start_s: float
    acknowledged_before_kill: int
    restart_ready_s: float
    all_back_after_kill_s: float | None
    all_back_after_ready_s: float | None
    back_p50_s: float | None
    back_p90_s: float | None
    back_max_s: float | None
    piles_back: int
    connection_attempts_after_kill: int
    resent_after_reconnect: int
    acknowledged: int
    stored_acknowledged: int
    missing: int
    sessions: int
    piles_with_more_than_one_session: int
    server_cpu_during_reconnect_pct: float | None
    server_rss_mib: float | None
    logs: str


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def iso(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Node:
    """One ``chargeops serve`` process on a fixed database and port, that can be killed and started again."""

    def __init__(self, env: dict[str, str], port: int, piles: int, log: Path) -> None:
        self.env, self.port, self.piles, self.log = env, port, piles, log
        self.process: asyncio.subprocess.Process | None = None

    async def start(self, timeout_s: float = 600) -> float:
        started = time.monotonic()
        with self.log.open("a") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "api", "serve", "--demo", "--demo-piles", str(self.piles),
                "--port", str(self.port), "--log-level", "warning",
                cwd=ROOT, env=self.env, stdout=asyncio.subprocess.DEVNULL, stderr=log,
            )
        async with httpx.AsyncClient() as client:
            while time.monotonic() - started < timeout_s:
                if self.process.returncode is not None:
                    raise SystemExit(f"the node exited with {self.process.returncode}; see {self.log}")
                try:
                    if (await client.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2)).status_code == 200:
                        return time.monotonic() - started
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.05)
        raise SystemExit(f"the node did not start within {timeout_s} s; see {self.log}")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 60)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


class StormPile:
    """A lean OCPP 1.6J pile: raw frames, one call at a time (OCPP-J), kept calls resent after a reconnect."""

    def __init__(self, record: PileRecord, url: str, options: Options, rng: random.Random, run: Run) -> None:
        self.record, self.url, self.options, self.rng, self.run_state = record, url, options, rng, run
        self.ws: ClientConnection | None = None
        self.ids = 0
        self.energy_wh = 100_000 + rng.randrange(0, 1_000_000)
        self.last_ts = datetime.now(UTC) - timedelta(hours=1)
        self.samples_after_back = 0
        self.next_sample_at = 0.0
        """When (monotonic) the pile samples next, online or not: samples taken offline are kept and sent later."""

    async def run(self) -> None:
        await asyncio.sleep(self.rng.uniform(0, self.options.connect_spread_s))
        attempt = 0
        while not self.run_state.finished.is_set():
            try:
                self.ws = await connect(self.url, subprotocols=["ocpp1.6"], open_timeout=30,  # type: ignore[list-item]
                                        ping_interval=None, max_queue=64)
            except (OSError, TimeoutError, InvalidHandshake, WebSocketException):
                if self.run_state.killed_at is not None:
                    self.record.attempts += 1
                await self.offline(self.backoff(attempt))
                attempt += 1
                continue
            if self.run_state.killed_at is not None:
                self.record.attempts += 1
            attempt = 0
            try:
                await self.session()
            except (OSError, TimeoutError, WebSocketException):
                pass  # the node went away: reconnect
            finally:
                await self.ws.close()
            if not self.run_state.finished.is_set():
                await self.offline(self.backoff(0))

    def backoff(self, attempt: int) -> float:
        o = self.options
        return o.backoff_min_s * 2 ** min(attempt, o.backoff_repeat) + self.rng.uniform(0, o.backoff_random_s)

    async def session(self) -> None:
        record = self.record
        if record.transaction_id is None:
            await self.call([2, self.next_id(), "BootNotification",
                             {"chargePointVendor": "StormVendor", "chargePointModel": "DC120"}])
            await self.call([2, self.next_id(), "StatusNotification",
                             {"connectorId": 1, "errorCode": "NoError", "status": "Charging", "timestamp": self.now()}])
            if not record.pending:
                record.pending.append([2, self.next_id(), "StartTransaction", {
                    "connectorId": 1, "idTag": FLEET_TAGS[int(record.charge_point_id[-4:]) % len(FLEET_TAGS)],
                    "meterStart": self.energy_wh, "timestamp": self.now()}])
        resending = list(record.pending)
        if self.run_state.killed_at is not None and record.back_at is None and not resending:
            await self.call([2, self.next_id(), "Heartbeat", {}])
            self.note_back()
        for frame in resending:
            await self.call(frame, keep=True)
            if self.run_state.killed_at is not None:
                record.resent += 1
                self.note_back()
        while not self.run_state.finished.is_set():
            if self.run_state.killed_at is not None and record.back_at is not None:
                if self.samples_after_back >= self.options.samples_after:
                    self.run_state.note_done(record)
                    while not self.run_state.finished.is_set():
                        await self.idle(1)
                    return
            elif len(record.acknowledged) >= self.options.samples_before:
                self.run_state.note_ready(record)
            if not self.next_sample_at:
                self.schedule_sample()
            await self.idle(self.next_sample_at - time.monotonic())
            if record.transaction_id is None:
                continue
            frame = self.take_sample()
            await self.call(frame, keep=True)
            if self.run_state.killed_at is not None:
                self.note_back()
                self.samples_after_back += 1

    def schedule_sample(self) -> None:
        interval = self.options.sample_interval_s
        self.next_sample_at = time.monotonic() + self.rng.uniform(0.5 * interval, 1.5 * interval)

    def take_sample(self) -> list[Any]:
        """The next sample, kept in ``pending`` until the node answers it."""
        assert self.record.transaction_id is not None
        self.schedule_sample()
        self.energy_wh += self.rng.randrange(100, 2_000)
        frame = [2, self.next_id(), "MeterValues", {
            "connectorId": 1, "transactionId": self.record.transaction_id, "meterValue": [{
                "timestamp": self.now(), "sampledValue": [
                    {"value": str(self.energy_wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
                    {"value": "60000", "measurand": "Power.Active.Import", "unit": "W"}]}]}]
        self.record.pending.append(frame)
        return frame

    async def offline(self, seconds: float) -> None:
        """Wait before reconnecting; the meter goes on, and samples due meanwhile are kept for later."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if self.record.transaction_id is not None and self.next_sample_at and self.next_sample_at <= time.monotonic():
                self.take_sample()
                continue
            wait = min(left, self.next_sample_at - time.monotonic()) if self.next_sample_at else left
            await asyncio.sleep(max(wait, 0.01))

    async def idle(self, seconds: float) -> None:
        """Wait between samples, listening: the node's calls are answered and a dropped socket noticed at once
        (ConnectionClosed), as a pile's firmware notices its TCP link closing."""
        assert self.ws is not None
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                raw = await asyncio.wait_for(self.ws.recv(), left)
            except TimeoutError:
                return
            await self.answer_node(json.loads(raw))

    async def answer_node(self, frame: list[Any]) -> bool:
        """Answer a call of the node (after a boot) as a pile without a local list; False for anything else."""
        if frame[0] != 2:
            return False
        assert self.ws is not None
        await self.ws.send(json.dumps([3, frame[1], SERVER_CALL_ANSWERS.get(frame[2], {"status": "Rejected"})]))
        return True

    def note_back(self) -> None:
        if self.record.back_at is None:
            self.record.back_at = time.monotonic()

    def next_id(self) -> str:
        self.ids += 1
        return f"{self.record.charge_point_id}-{self.ids}"

    def now(self) -> str:
        """Now, strictly after this pile's previous timestamp (samples are keyed by instant)."""
        at = datetime.now(UTC)
        at = at.replace(microsecond=at.microsecond // 1000 * 1000)
        if at <= self.last_ts:
            at = self.last_ts + timedelta(milliseconds=1)
        self.last_ts = at
        return iso(at)

    async def call(self, frame: list[Any], *, keep: bool = False) -> dict[str, Any]:
        """Send and wait for the answer; a kept frame leaves ``pending`` only once answered."""
        assert self.ws is not None
        await self.ws.send(json.dumps(frame))
        deadline = time.monotonic() + self.options.call_timeout_s
        while True:
            raw = await asyncio.wait_for(self.ws.recv(), max(0.1, deadline - time.monotonic()))
            answer = json.loads(raw)
            if await self.answer_node(answer):
                continue
            if answer[1] != frame[1]:
                continue  # an answer to a call of an earlier socket's life
            if answer[0] == 4:
                raise WebSocketException(f"{frame[2]} refused: {answer[2]} {answer[3]}")  # retried after reconnect
            if keep:
                self.record.pending.remove(frame)
            if frame[2] == "StartTransaction":
                self.record.transaction_id = answer[2]["transactionId"]
            elif frame[2] == "MeterValues":
                energy = int(frame[3]["meterValue"][0]["sampledValue"][0]["value"])
                self.record.acknowledged.append((frame[3]["transactionId"], energy))
            return answer[2]  # type: ignore[no-any-return]


class Run:
    def __init__(self, piles: int) -> None:
        self.piles = piles
        self.ready: set[str] = set()
        self.done: set[str] = set()
        self.all_ready = asyncio.Event()
        self.all_done = asyncio.Event()
        self.finished = asyncio.Event()
        self.killed_at: float | None = None

    def note_ready(self, record: PileRecord) -> None:
        self.ready.add(record.charge_point_id)
        if len(self.ready) == self.piles:
            self.all_ready.set()

    def note_done(self, record: PileRecord) -> None:
        self.done.add(record.charge_point_id)
        if len(self.done) == self.piles:
            self.all_done.set()


async def stored_rows(database_url: str) -> tuple[set[tuple[int, int]], dict[str, int]]:
    """(session id, energy) of every stored sample, and the number of sessions per pile, read directly."""
    samples = "SELECT session_id, energy_wh FROM meter_sample WHERE energy_wh IS NOT NULL"
    sessions = "SELECT charge_point_id, COUNT(*) FROM charging_session GROUP BY charge_point_id"
    if database_url.startswith("sqlite://"):
        connection = sqlite3.connect(f"file:{database_url.removeprefix('sqlite://')}?mode=ro", uri=True, timeout=30)
        try:
            rows = {(int(s), int(e)) for s, e in connection.execute(samples) if s is not None}
            counts = {cp: int(n) for cp, n in connection.execute(sessions)}
        finally:
            connection.close()
        return rows, counts
    import asyncmy
    from urllib.parse import urlsplit

    parts = urlsplit(database_url)
    conn = await asyncmy.connect(host=parts.hostname, port=parts.port or 3306, user=parts.username or "root",
                                 password=parts.password or "", database=parts.path.lstrip("/"))
    try:
        async with conn.cursor() as cursor:
            await cursor.execute(samples)
            rows = {(int(s), int(e)) for s, e in await cursor.fetchall() if s is not None}
            await cursor.execute(sessions)
            counts = {cp: int(n) for cp, n in await cursor.fetchall()}
    finally:
        conn.close()
    return rows, counts


async def storm(options: Options, progress: bool = False) -> Figures:
    work = Path(tempfile.mkdtemp(prefix="chargeops-storm-"))
    database_url = options.database_url or f"sqlite://{work / 'storm.sqlite3'}"
    port = free_port()
    env = {**os.environ, "CHARGEOPS_DATABASE_URL": database_url, "CHARGEOPS_SECRET_KEY": "storm-" + "s" * 40,
           "CHARGEOPS_PUBLIC_URL": f"http://127.0.0.1:{port}",
           "CHARGEOPS_OCPP_DEFAULT_SECURITY_PROFILE": "0"}  # development setting: these piles send no password
    node = Node(env, port, options.piles, work / "server.log")
    rng = random.Random(options.seed)
    run = Run(options.piles)
    records = [PileRecord(f"DEMO-{n:04d}") for n in range(1, options.piles + 1)]
    say = (lambda text: print(f"  [{time.strftime('%H:%M:%S')}] {text}", flush=True)) if progress else (lambda _: None)
    tasks: list[asyncio.Task[None]] = []
    cpu: list[float] = []
    rss = None
    try:
        started = time.monotonic()
        say(f"seeding {options.piles} demo piles and starting the node")
        await node.start()
        url = f"ws://127.0.0.1:{port}/ocpp"
        tasks = [asyncio.create_task(StormPile(r, f"{url}/{r.charge_point_id}", options,
                                               random.Random(rng.random()), run).run()) for r in records]
        await run.all_ready.wait()
        seed_and_start_s = time.monotonic() - started
        acknowledged_before = sum(len(r.acknowledged) for r in records)
        say(f"all {options.piles} piles charging, {acknowledged_before} samples acknowledged: killing the node")

        node.kill()
        run.killed_at = time.monotonic()
        assert node.process is not None
        await node.process.wait()
        restart_ready_s = await node.start()
        ready_at = time.monotonic()
        say(f"node ready again {restart_ready_s:.1f} s after the kill; piles reconnecting")
        server = psutil.Process(node.process.pid)
        server.cpu_percent(None)
        while not all(r.back_at is not None for r in records):
            await asyncio.sleep(0.5)
            cpu.append(server.cpu_percent(None))
            if time.monotonic() - ready_at > 900:
                break
        rss = server.memory_info().rss / 2**20
        say(f"{sum(r.back_at is not None for r in records)} piles back; each sends {options.samples_after} more")
        try:
            await asyncio.wait_for(run.all_done.wait(), options.sample_interval_s * (options.samples_after + 2) + 120)
        except TimeoutError:
            say("not every pile finished its samples after the restart")
        run.finished.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        await node.stop()
        rows, sessions = await stored_rows(database_url)
    finally:
        run.finished.set()
        for task in tasks:
            task.cancel()
        await node.stop()

    acknowledged = [(tx, energy) for r in records for tx, energy in r.acknowledged]
    stored = sum(1 for item in acknowledged if item in rows)
    back = sorted(r.back_at - run.killed_at for r in records if r.back_at is not None)
    all_back = len(back) == options.piles

    def pct(q: float) -> float | None:
        return round(back[min(len(back) - 1, int(q * len(back)))], 2) if back else None

    return Figures(
        piles=options.piles,
        database="SQLite" if database_url.startswith("sqlite://") else "MySQL/MariaDB",
        seed_and_start_s=round(seed_and_start_s, 1),
        acknowledged_before_kill=acknowledged_before,
        restart_ready_s=round(restart_ready_s, 2),
        all_back_after_kill_s=round(back[-1], 2) if all_back else None,
        all_back_after_ready_s=round(back[-1] - (ready_at - run.killed_at), 2) if all_back else None,
        back_p50_s=pct(0.5), back_p90_s=pct(0.9), back_max_s=round(back[-1], 2) if back else None,
        piles_back=len(back),
        connection_attempts_after_kill=sum(r.attempts for r in records),
        resent_after_reconnect=sum(r.resent for r in records),
        acknowledged=len(acknowledged),
        stored_acknowledged=stored,
        missing=len(acknowledged) - stored,
        sessions=sum(sessions.values()),
        piles_with_more_than_one_session=sum(1 for n in sessions.values() if n > 1),
        server_cpu_during_reconnect_pct=round(statistics.mean(cpu), 1) if cpu else None,
        server_rss_mib=round(rss, 1) if rss else None,
        logs=str(work),
    )


def report(f: Figures, options: Options) -> str:
    o = options
    lines = [
        f"piles                          {f.piles} (OCPP 1.6J, one node, {f.database})",
        f"seeded, connected, charging    {f.seed_and_start_s} s (first connections spread over {o.connect_spread_s:g} s;"
        f" a sample every ~{o.sample_interval_s:g} s)",
        f"acknowledged before the kill   {f.acknowledged_before_kill} samples",
        f"kill -9 -> node ready          {f.restart_ready_s} s",
        f"kill -9 -> all piles back      {f.all_back_after_kill_s} s ({f.piles_back} of {f.piles} back;"
        f" back-off {o.backoff_min_s:g} s x 2^min(n, {o.backoff_repeat}) + random 0-{o.backoff_random_s:g} s)",
        f"node ready -> all piles back   {f.all_back_after_ready_s} s",
        f"pile back after the kill       p50 {f.back_p50_s} s  p90 {f.back_p90_s} s  max {f.back_max_s} s",
        f"connection attempts after kill {f.connection_attempts_after_kill}",
        f"resent after reconnect         {f.resent_after_reconnect} calls (kept unanswered while the node was away)",
        f"server while piles reconnect   CPU mean {f.server_cpu_during_reconnect_pct}% of a core, RSS {f.server_rss_mib} MiB",
        f"acknowledged samples           {f.acknowledged}; stored {f.stored_acknowledged}; missing {f.missing}",
        f"sessions                       {f.sessions} ({f.piles_with_more_than_one_session} piles with more than one)",
        f"logs                           {f.logs}",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    defaults = Options()
    parser.add_argument("--piles", type=int, default=defaults.piles)
    parser.add_argument("--samples-before", type=int, default=defaults.samples_before)
    parser.add_argument("--samples-after", type=int, default=defaults.samples_after)
    parser.add_argument("--sample-interval", type=float, default=defaults.sample_interval_s)
    parser.add_argument("--connect-spread", type=float, default=defaults.connect_spread_s)
    parser.add_argument("--backoff-min", type=float, default=defaults.backoff_min_s)
    parser.add_argument("--backoff-random", type=float, default=defaults.backoff_random_s)
    parser.add_argument("--database-url", default="", help="mysql://… (an empty database) instead of a SQLite file")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args()
    options = Options(
        piles=args.piles, samples_before=args.samples_before, samples_after=args.samples_after,
        sample_interval_s=args.sample_interval, connect_spread_s=args.connect_spread,
        backoff_min_s=args.backoff_min, backoff_random_s=args.backoff_random, database_url=args.database_url,
        seed=args.seed,
    )
    figures = asyncio.run(storm(options, progress=not args.json))
    print(json.dumps(asdict(figures)) if args.json else report(figures, options))
    return 0 if figures.piles_back == figures.piles and figures.missing == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
