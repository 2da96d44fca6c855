"""Fan-out figures: one pile charging, K GraphQL subscribers of its session, latency from pile to subscriber.

    python bench/fanout.py --subscribers 10,100,1000 --samples 30 --interval-ms 1000

Starts ``chargeops serve --demo`` (SQLite in a temporary folder, or ``--database``; ``--redis URL`` sends the
events through the Redis bus instead of the in-process one), logs in as the demo admin, starts a transaction
on ``DEMO-0001`` with a raw OCPP 1.6J pile, then for each K: opens K graphql-transport-ws connections, each
subscribing to ``sessionUpdates`` of that session, sends MeterValues until every subscriber has seen one
(the subscriptions are live), then sends ``--samples`` more, one every ``--interval-ms``, and measures for
each (subscriber, sample) the time from the pile's write of the MeterValues frame to the arrival of the
subscriber's ``SessionSampleRecorded`` (stamped when its bytes arrive; parsed between samples). Prints
p50/p99/max, deliveries missing, the MeterValues acknowledgement latency meanwhile, the three slowest samples
(first and last delivery: late first means held up before the fan-out, late last during it), and CPU of the
node and of this client. ``--profile S`` records the node with py-spy during the largest K's samples.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import secrets
import shutil
import sys
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _server  # noqa: E402
import ingest  # noqa: E402
from _piles import Pile, Subscriber, latency_line, perf  # noqa: E402

UPDATES = """subscription($id: ID!) { sessionUpdates(sessionId: $id) { __typename
  ... on SessionSampleRecorded { sample { at energyWh powerW currentMa voltageMv socPct } sessionEnergyWh }
  ... on SessionPhaseEntered { phase at } ... on SessionClosed { stopReason energyWh } } }"""


def energy_of(payload: dict) -> int | None:
    update = (payload.get("data") or {}).get("sessionUpdates") or {}
    if update.get("__typename") != "SessionSampleRecorded":
        return None
    return update["sample"]["energyWh"]


async def run_k(
    args: argparse.Namespace,
    node: _server.Node,
    token: str,
    pile: Pile,
    k: int,
    watched: dict[str, psutil.Process],
    profile: bool,
    work: Path,
) -> None:
    gate = asyncio.Semaphore(args.concurrency)
    subscribers: list[Subscriber] = []
    failures: dict[str, int] = {}
    opened = perf()

    async def one() -> None:
        subscriber = Subscriber()
        async with gate:
            try:
                await subscriber.connect(
                    node.graphql_ws_url, token, UPDATES, {"id": str(pile.transaction_id)}
                )
            except Exception as error:  # noqa: BLE001 - counted by kind
                key = f"{type(error).__name__}: {str(error)[:80]}"
                failures[key] = failures.get(key, 0) + 1
                await subscriber.close()
                return
        subscribers.append(subscriber)

    await asyncio.gather(*(one() for _ in range(k)))
    print(
        f"K = {k}: {len(subscribers)} subscribers connected in {perf() - opened:.1f} s"
        + "".join(f"; failed {n} × {why}" for why, n in failures.items())
    )
    if args.gc_log and args.gc_freeze:
        print(f"  {await _server.gc_freeze(work)}")

    # warm up until every subscription is live (it has seen a sample)
    deadline = perf() + 120
    warm = 0
    while perf() < deadline:
        await pile.call("MeterValues", pile.meter_payload())
        warm += 1
        await asyncio.sleep(0.5)
        for s in subscribers:
            s.drain()
        if all(any(energy_of(p) is not None for _, p in s.received) for s in subscribers):
            break
    live = sum(1 for s in subscribers if any(energy_of(p) is not None for _, p in s.received))
    print(f"  live       {live} of {len(subscribers)} subscriptions delivering after {warm} warm-up samples")
    for s in subscribers:
        s.received.clear()

    sampler = _server.Sampler(watched)
    sampler.start()
    spy = None
    out = work / f"profile-fanout-{k}.txt"
    if profile:
        spy = _server.py_spy(node.pid, min(args.profile, int(args.samples * args.interval_ms / 1000)), out)
    sent: dict[int, float] = {}
    acks: list[float] = []
    wall_started = time.time()
    interval = args.interval_ms / 1000
    started = perf()
    for n in range(args.samples):
        tick = started + n * interval
        await asyncio.sleep(max(0.0, tick - perf()))
        payload = pile.meter_payload()
        energy = int(payload["meterValue"][0]["sampledValue"][0]["value"])
        _, ack = await pile.call("MeterValues", payload)
        sent[energy] = pile.last_sent_at
        acks.append(ack)
        # parse what arrived for earlier samples half an interval after this one was sent
        await asyncio.sleep(max(0.0, tick + interval / 2 - perf()))
        for s in subscribers:
            s.drain()
    await asyncio.sleep(max(2.0, interval))
    for s in subscribers:
        s.drain()
    await sampler.stop()

    latencies: list[float] = []
    per_sample: dict[int, list[float]] = {energy: [] for energy in sent}
    missing = 0
    for s in subscribers:
        got = {energy_of(p): at for at, p in s.received if energy_of(p) is not None}
        for energy, sent_at in sent.items():
            if energy in got:
                latencies.append(got[energy] - sent_at)
                per_sample[energy].append(got[energy] - sent_at)
            else:
                missing += 1
    errors = sum(len(s.errors) for s in subscribers)
    print(
        f"  samples    {len(sent)}, one every {args.interval_ms} ms; deliveries expected "
        f"{len(sent) * len(subscribers)}, "
        f"missing {missing}; subscription errors/completions {errors}"
    )
    print(f"  latency    pile's send → subscriber's receipt: {latency_line(latencies)}")
    print(f"  MeterValues acknowledgement meanwhile: {latency_line(acks)}")
    # a slow sample whose first delivery is late was held up before the fan-out (ingest, a pause of the node);
    # one whose first is on time and last is late, during it
    order = list(sent)
    slowest = sorted((e for e in order if per_sample[e]), key=lambda e: max(per_sample[e]), reverse=True)[:3]
    print("  slowest    " + "; ".join(
        f"sample {order.index(e) + 1}: first {1000 * min(per_sample[e]):.1f} ms, "
        f"last {1000 * max(per_sample[e]):.1f} ms, ack {1000 * acks[order.index(e)]:.1f} ms" for e in slowest
    ))
    if args.gc_log:
        print(f"  node GC    {_server.gc_line(_server.gc_pauses(work, wall_started, time.time()))}")
    print("  CPU (one core = 100%) and memory:")
    for line in sampler.lines():
        print(line)
    if spy is not None:
        await asyncio.to_thread(spy.wait)
        print(f"  py-spy record of the node during K = {k}, {out}:")
        for line in _server.summarize_profile(out) if out.exists() else ["  (no profile written)"]:
            print(line)
    await asyncio.gather(*(s.close() for s in subscribers), return_exceptions=True)
    await asyncio.sleep(1)


async def main_async(args: argparse.Namespace) -> int:
    limits = _server.raise_open_files()
    work = _server.workdir("fanout")
    database = await _server.make_database(args.database, work)
    node = None
    pile = Pile("DEMO-0001")
    try:
        print(f"machine      {_server.machine()}")
        print(f"open files   soft {limits[0]}, hard {limits[1]}")
        print(f"database     {database.kind}; bus {'Redis ' + args.redis if args.redis else 'in-process'}")
        node = _server.start_node(
            "node-a",
            database,
            work,
            demo_piles=1,
            redis_url=args.redis or "",
            redis_prefix=f"bench-{secrets.token_hex(4)}:",
            env=_server.gc_probe(work, args.gc_threshold) if args.gc_log else None,
        )
        await _server.wait_ready(node)
        token = await _server.login(node.base_url)
        await pile.connect(node.ocpp_url)
        session = await pile.boot_and_start("BUS0001")
        print(f"session      {session} on DEMO-0001 (node pid {node.pid})")
        watched = {"node": psutil.Process(node.pid), "bench client": psutil.Process(os.getpid())}
        if args.redis:
            watched.update(_server.find_processes(("redis-server",)))
        ks = [int(k) for k in args.subscribers.split(",")]
        for k in ks:
            await run_k(args, node, token, pile, k, watched, bool(args.profile) and k == max(ks), work)
    finally:
        await pile.close()
        if node is not None:
            _server.stop_node(node)
        await database.drop()
        if args.keep:
            print(f"kept         {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subscribers", default="10,100,1000", help="K values, comma-separated")
    parser.add_argument("--samples", type=int, default=30, help="measured samples per K")
    parser.add_argument("--interval-ms", type=int, default=1000, help="between two samples of the pile")
    parser.add_argument("--concurrency", type=int, default=50, help="subscribers connecting at once")
    parser.add_argument(
        "--database", default=None, help="as in ingest.py (default: SQLite in a temporary folder)"
    )
    parser.add_argument("--redis", default="", help="redis://… : the node's events go through the Redis bus")
    parser.add_argument(
        "--profile", type=int, default=0, metavar="S", help="py-spy the node during the largest K"
    )
    parser.add_argument(
        "--gc-log", action="store_true", help="report the node's garbage collections (see ingest.py)"
    )
    ingest.add_gc_experiments(parser)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    _server.interrupt_on_sigterm()
    print(f"command      python {' '.join(sys.argv)}")
    print(f"limits       RLIMIT_NOFILE before: {resource.getrlimit(resource.RLIMIT_NOFILE)}")
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    raise SystemExit(main())
