"""Ingest figures: N raw OCPP 1.6J piles, each in a running transaction, sending MeterValues against
``chargeops serve`` node(s) this script starts, in steps of rising offered load.

    python bench/ingest.py --piles 1000 --rates 100,500,1000,2000,3000 --duration 60
    python bench/ingest.py --piles 10000 --interval-ms 60000 --duration 120        # connections
    python bench/ingest.py --database mysql://root:@127.0.0.1:3306/bench_ingest ...  # MariaDB (made, dropped)
    python bench/ingest.py --nodes 2 --database mysql://... --redis redis://127.0.0.1:6379/0 ...  # two nodes

Every pile (``DEMO-0001``… seeded by ``serve --demo --demo-piles N``) connects, boots, starts a transaction on
connector 1 and then samples on a clock: one MeterValues (energy register, power, current, voltage, SoC) every
``N / rate`` seconds, at a random phase. A pile never has two calls outstanding (OCPP-J 4.1.1): a tick that
comes while it still waits for its previous answer is skipped and counted as such, so "offered" is what the
piles' clocks asked for and "sent" what the server let them send. Each step warms up, then measures: offered,
sent and acknowledged MeterValues/s, meter_sample rows stored per second (counted in the database), the
acknowledgement latency (our write to the answer's arrival), CALLERRORs, timeouts, closed sockets, piles
connected (the nodes' /healthz), CPU and RSS of the node(s), this client, MariaDB and Redis (psutil).
At the end it checks that every acknowledged MeterValues was stored. ``--profile S`` records the node(s) with
py-spy for S seconds during the last step and prints the busiest frames; ``--gc-log`` reports the node(s)'
full garbage collections (``--gc-freeze``, ``--gc-threshold``: what GC settings in the server would change).
The open-files limit is raised to the hard limit (the nodes inherit it); the kernel's socket limits are
printed. Record figures in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import secrets
import shutil
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _piles  # noqa: E402
import _server  # noqa: E402
from _piles import Fleet, Schedule, latency_line, meter_loop  # noqa: E402

ID_TAGS = [f"BUS{n:04d}" for n in range(1, 6)]
"""The demo bus group's cards: admitted at every demo station, also at the depot's fleet-only night hours."""


def add_node_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--piles", type=int, default=1000, help="piles with a running transaction (default 1000)"
    )
    parser.add_argument(
        "--database",
        default=None,
        help="default: a SQLite file in a temporary folder; mysql://user:pass@host:3306/<fresh db> "
        "creates that database and drops it at the end",
    )
    parser.add_argument(
        "--nodes",
        type=int,
        default=1,
        choices=(1, 2),
        help="serve processes sharing the database (2 needs MariaDB and --redis); piles alternate",
    )
    parser.add_argument(
        "--redis", default="redis://127.0.0.1:6379/0", help="Redis of the nodes when --nodes 2"
    )
    parser.add_argument("--concurrency", type=int, default=50, help="piles connecting and starting at once")
    parser.add_argument(
        "--timeout", type=float, default=30, help="seconds a pile waits for an answer (OCPP's 30)"
    )
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment of the node(s), e.g. CHARGEOPS_OCPP_RATE_PER_S=0",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, SQLite file)")
    parser.add_argument(
        "--gc-log",
        action="store_true",
        help="log the node(s)' garbage collections (a sitecustomize on their PYTHONPATH puts a gc "
        "callback in; the server's code is not touched) and report full collections' pauses",
    )
    add_gc_experiments(parser)


def add_gc_experiments(parser: argparse.ArgumentParser) -> None:
    """Knobs to try what a server-side change would buy, with --gc-log (the server's code is not touched)."""
    parser.add_argument(
        "--gc-threshold",
        default="",
        metavar="G0,G1,G2",
        help="gc.set_threshold in the node(s) (with --gc-log)",
    )
    parser.add_argument(
        "--gc-freeze",
        action="store_true",
        help="with --gc-log: the node(s) run gc.collect() and gc.freeze() once warm (here: piles connected)",
    )


def kernel_limits() -> str:
    """What else bounds the sockets: ephemeral ports (the client's), listen backlog, file handles."""

    def read(path: str) -> str:
        try:
            return " ".join(Path(path).read_text().split())
        except OSError:
            return "?"

    return (
        f"ephemeral ports {read('/proc/sys/net/ipv4/ip_local_port_range')}, somaxconn "
        f"{read('/proc/sys/net/core/somaxconn')}, fs.file-max {read('/proc/sys/fs/file-max')}, "
        f"fs.nr_open {read('/proc/sys/fs/nr_open')}"
    )


@dataclass
class Rig:
    """Node(s), their database and a fleet of piles in running transactions."""

    args: argparse.Namespace
    work: Path
    database: _server.Database
    nodes: list[_server.Node]
    fleet: Fleet
    schedule: Schedule
    loops: list[asyncio.Task] = field(default_factory=list)
    limits: tuple[int, int] = (0, 0)
    total_acked_before: int = 0
    rows_before: int = 0
    watched: dict[str, psutil.Process] = field(default_factory=dict)

    @property
    def piles(self) -> list[_piles.Pile]:
        return self.fleet.piles


@contextlib.asynccontextmanager
async def rig(args: argparse.Namespace, *, say=print) -> AsyncIterator[Rig]:  # noqa: ANN001
    """Start the node(s) (seeding ``args.piles`` demo piles), connect and start every pile; stop all after."""
    limits = _server.raise_open_files()
    work = _server.workdir("ingest")
    database = await _server.make_database(args.database, work)
    if args.nodes > 1 and database.kind != "mariadb":
        raise SystemExit("--nodes 2 needs a shared MariaDB (--database mysql://...)")
    env = dict(item.split("=", 1) for item in args.server_env)
    if getattr(args, "gc_log", False):
        env.update(_server.gc_probe(work, getattr(args, "gc_threshold", "")))
    redis_url = args.redis if args.nodes > 1 else ""
    prefix = f"bench-{secrets.token_hex(4)}:"
    nodes: list[_server.Node] = []
    loops: list[asyncio.Task] = []
    fleet = Fleet([], {}, 0.0)
    try:
        say(f"machine      {_server.machine()}")
        say(f"open files   soft {limits[0]}, hard {limits[1]} (raised to the hard limit; nodes inherit it)")
        say(f"database     {database.kind} {database.url}")
        say(f"kernel       {kernel_limits()}")
        seeded = time.monotonic()
        first = _server.start_node(
            "node-a", database, work, demo_piles=args.piles, redis_url=redis_url, redis_prefix=prefix, env=env
        )
        nodes.append(first)
        await _server.wait_ready(first)
        for index in range(1, args.nodes):
            nodes.append(
                _server.start_node(
                    f"node-{'abcdefgh'[index]}",
                    database,
                    work,
                    redis_url=redis_url,
                    redis_prefix=prefix,
                    env=env,
                )
            )
            await _server.wait_ready(nodes[-1])
        say(
            f"node(s)      {', '.join(f'{n.name} pid {n.pid} port {n.port}' for n in nodes)}; "
            f"ready after {time.monotonic() - seeded:.0f} s (seeding {args.piles} demo piles)"
        )

        last_report = [time.monotonic()]

        def progress(done: int, total: int) -> None:
            if time.monotonic() - last_report[0] > 15 or done == total:
                last_report[0] = time.monotonic()
                say(f"  … {done} of {total} piles in a transaction")

        ids = [f"DEMO-{n:04d}" for n in range(1, args.piles + 1)]
        fleet = await _piles.connect_fleet(
            [n.ocpp_url for n in nodes],
            ids,
            ID_TAGS,
            concurrency=args.concurrency,
            timeout=max(args.timeout, 60),
            progress=progress,
        )
        say(
            f"piles        {len(fleet.piles)} of {args.piles} connected, booted and charging after "
            f"{fleet.seconds:.0f} s ({len(fleet.piles) / max(fleet.seconds, 1e-9):.0f} piles/s)"
        )
        for reason, count in sorted(fleet.failures.items(), key=lambda kv: -kv[1]):
            say(f"  failed     {count} × {reason}")
        if getattr(args, "gc_freeze", False) and getattr(args, "gc_log", False):
            say(f"gc           {await _server.gc_freeze(work)}")
        schedule = Schedule()
        schedule.timeout = args.timeout
        loops = [asyncio.create_task(meter_loop(pile, schedule)) for pile in fleet.piles]
        watched = {node.name: psutil.Process(node.pid) for node in nodes}
        watched["bench client"] = psutil.Process(os.getpid())
        for name, proc in _server.find_processes(("mariadbd", "mysqld", "redis-server")).items():
            if (name == "redis-server" and args.nodes > 1) or (
                name != "redis-server" and database.kind == "mariadb"
            ):
                watched[name] = proc
        yield Rig(
            args,
            work,
            database,
            nodes,
            fleet,
            schedule,
            loops,
            limits,
            rows_before=await database.count(),
            watched=watched,
        )
    finally:
        for task in loops:
            task.cancel()
        await asyncio.gather(*loops, return_exceptions=True)
        await asyncio.gather(*(pile.close() for pile in fleet.piles), return_exceptions=True)
        for node in nodes:
            _server.stop_node(node)
        await database.drop()
        if args.keep:
            say(f"kept         {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


@dataclass
class StepResult:
    label: str
    seconds: float
    stats: _piles.CallStats
    stored: int
    connected: int
    open_sockets: int
    sampler: _server.Sampler
    profile: list[str]
    started: float = 0.0
    """perf_counter() at the window's start."""
    gc: list[tuple[int, float, float, int]] | None = None


async def measure(
    r: Rig, interval_s: float, warmup: float, duration: float, *, profile_s: int = 0, label: str = ""
) -> StepResult:
    """Set every pile's sampling interval, warm up, then measure for ``duration`` seconds."""
    r.schedule.set(interval_s)
    await asyncio.sleep(warmup)
    sampler = _server.Sampler(r.watched)
    rows_0 = await r.database.count()
    r.schedule.new_window()
    started = time.perf_counter()
    wall_started = time.time()
    sampler.start()
    spies = []
    if profile_s:
        for node in r.nodes:
            out = r.work / f"profile-{node.name}-{int(time.time())}.txt"
            spies.append((node, out, _server.py_spy(node.pid, profile_s, out)))
    await asyncio.sleep(duration)
    stats = r.schedule.new_window()
    seconds = time.perf_counter() - started
    await sampler.stop()
    rows_1 = await r.database.count()
    profile: list[str] = []
    for node, out, spy in spies:
        await asyncio.to_thread(spy.wait)
        profile.append(f"py-spy record of {node.name} (pid {node.pid}), {profile_s} s at 50 Hz, {out}:")
        profile += _server.summarize_profile(out) if out.exists() else ["  (no profile written)"]
    gc = _server.gc_pauses(r.work, wall_started, time.time()) if getattr(r.args, "gc_log", False) else None
    return StepResult(
        label,
        seconds,
        stats,
        rows_1 - rows_0,
        await _server.piles_connected(r.nodes),
        sum(1 for p in r.piles if p.connected),
        sampler,
        profile,
        started,
        gc,
    )


def report(result: StepResult, piles: int, interval_s: float, say=print) -> None:  # noqa: ANN001
    s, t = result.stats, result.seconds
    say(
        f"step         {result.label}: {piles} piles, one MeterValues each every {interval_s * 1000:.0f} ms "
        f"(offered {piles / interval_s:.0f}/s); measured {t:.0f} s"
    )
    say(f"  offered      {s.scheduled / t:8.1f} MeterValues/s (pile clocks' ticks)")
    say(f"  sent         {s.sent / t:8.1f} /s   skipped {s.skipped} ticks (previous call still unanswered)")
    say(f"  acknowledged {s.acknowledged / t:8.1f} /s")
    say(f"  stored       {result.stored / t:8.1f} meter_sample rows/s ({result.stored} rows)")
    say(f"  ack latency  {latency_line(s.latencies)}")
    if s.latencies:
        say(f"  slowest s    {slowest_seconds(s, result.started)} (second of the window: its slowest answer)")
    if result.gc is not None:
        full = [g for g in result.gc if g[3] == 2]
        say(
            f"  node GC      {len(full)} full collections, pauses "
            + (", ".join(f"{at:.0f} s: {took * 1000:.0f} ms" for _, at, took, _ in full) or "none")
            + f"; other collections over 20 ms: {len(result.gc) - len(full)}"
        )
    errors = ", ".join(f"{k} {v}" for k, v in sorted(s.call_errors.items())) or "none"
    say(f"  CALLERRORs   {errors}; timeouts {s.timeouts}; sockets closed {s.disconnects}")
    say(
        f"  connected    {result.connected} piles by the node(s)' /healthz; "
        f"{result.open_sockets} sockets open here"
    )
    say("  CPU (one core = 100%) and memory:")
    for line in result.sampler.lines():
        say(line)
    for line in result.profile:
        say(line)


def slowest_seconds(s: _piles.CallStats, start: float, n: int = 6) -> str:
    """The seconds of the window whose answers were slowest: stalls that come back at a period show here."""
    worst: dict[int, float] = {}
    for at, latency in zip(s.answered_at, s.latencies, strict=True):
        second = int(at - start)
        worst[second] = max(worst.get(second, 0.0), latency)
    top = sorted(worst.items(), key=lambda kv: -kv[1])[:n]
    return ", ".join(f"{second} s: {latency * 1000:.0f} ms" for second, latency in sorted(top))


async def final_check(r: Rig, say=print) -> None:  # noqa: ANN001
    """Stop sampling, let answers arrive, then compare stored rows with every acknowledged MeterValues."""
    r.schedule.stop()
    await asyncio.gather(*r.loops, return_exceptions=True)
    acked = r.schedule.total_acked
    stored = await r.database.count() - r.rows_before
    verdict = "every acknowledged sample is stored" if stored >= acked else f"{acked - stored} MISSING"
    say(
        f"total        {acked} MeterValues acknowledged over the whole run, "
        f"{stored} meter_sample rows stored: "
        f"{verdict}"
    )


def intervals(args: argparse.Namespace) -> list[tuple[str, float]]:
    if args.interval_ms:
        return [(f"every {ms} ms", float(ms) / 1000) for ms in args.interval_ms.split(",")]
    return [(f"{rate}/s offered", args.piles / float(rate)) for rate in args.rates.split(",")]


async def main_async(args: argparse.Namespace) -> int:
    async with rig(args) as r:
        steps = intervals(args)
        for index, (label, interval_s) in enumerate(steps):
            last = index == len(steps) - 1
            result = await measure(
                r, interval_s, args.warmup, args.duration, profile_s=args.profile if last else 0, label=label
            )
            report(result, len(r.piles), interval_s)
        await final_check(r)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_node_options(parser)
    parser.add_argument(
        "--rates",
        default="100,500,1000,2000,3000",
        help="steps: MeterValues/s offered by all piles together (comma-separated)",
    )
    parser.add_argument(
        "--interval-ms",
        default="",
        help="steps given as each pile's sampling interval instead (comma-separated ms)",
    )
    parser.add_argument("--duration", type=float, default=60, help="measured seconds per step")
    parser.add_argument("--warmup", type=float, default=10, help="seconds of each step before measuring")
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="S",
        help="py-spy the node(s) for S seconds during the last step's measured window",
    )
    args = parser.parse_args()
    _server.interrupt_on_sigterm()
    print(f"command      python {' '.join(sys.argv)}")
    print(f"limits       RLIMIT_NOFILE before: {resource.getrlimit(resource.RLIMIT_NOFILE)}")
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    raise SystemExit(main())
