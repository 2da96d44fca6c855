"""Command round trip under ingest load: the ``remoteStart`` mutation → the pile's answer → the result.

    python bench/remote_start.py --piles 1000 --rates 0,100,500,1000 --commands 200

Starts the node(s) and the piles exactly as ``ingest.py`` does (same options: ``--database``, ``--nodes 2``…),
then for each step sets the piles' MeterValues load, warms up, and sends ``--commands`` ``remoteStart``
mutations (GraphQL over HTTP, as the demo admin; card ``BUS0001``, connector 2, the piles taken at random),
one every ``--every-ms``, each waiting for its answer. Our raw piles answer RemoteStartTransaction
``Accepted`` the moment it arrives, so the round trip is the server's work plus the two hops. Prints the
mutation's round trip p50/p99/max and outcomes, the time from the POST to the CALL reaching the pile, and the
ingest figures of the same window. With ``--nodes 2`` the mutation goes to the node that does not hold the
pile's socket for half of them (they cross Redis).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from collections import Counter
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _server  # noqa: E402
import ingest  # noqa: E402
from _piles import Pile, latency_line, perf  # noqa: E402

MUTATION = """mutation($cp: ID!) { remoteStart(chargePointId: $cp, idTag: "BUS0001", connectorNo: 2) {
  outcome status message } }"""


async def commands(
    r: ingest.Rig, token: str, count: int, every_s: float, budget_s: float
) -> tuple[list[float], list[float], Counter]:
    """Send ``count`` remoteStart mutations, one at a time, for at most ``budget_s`` seconds; returns
    (round trips, POST→pile times, outcomes)."""
    arrived: dict[str, float] = {}

    def seen(pile: Pile, action: str, payload: dict) -> None:
        if action == "RemoteStartTransaction":
            arrived[pile.id] = perf()

    for pile in r.piles:
        pile.on_server_call = seen
    rng = random.Random(11)
    round_trips: list[float] = []
    to_pile: list[float] = []
    outcomes: Counter[str] = Counter()
    clients = [httpx.AsyncClient(base_url=node.base_url, timeout=60) for node in r.nodes]
    try:
        started = perf()
        for n in range(count):
            if perf() - started > budget_s:
                outcomes["not sent (time budget spent)"] += count - n
                break
            await asyncio.sleep(max(0.0, started + n * every_s - perf()))
            index = rng.randrange(len(r.piles))
            pile = r.piles[index]
            client = clients[(index + n) % len(clients)]  # with two nodes: half go to the other node
            arrived.pop(pile.id, None)
            sent = perf()
            response = await client.post(
                "/graphql",
                json={"query": MUTATION, "variables": {"cp": pile.id}},
                headers={"Authorization": f"Bearer {token}"},
            )
            done = perf()
            body = response.json()
            if body.get("errors"):
                outcomes[f"error: {body['errors'][0].get('message', '')[:60]}"] += 1
                continue
            outcomes[body["data"]["remoteStart"]["outcome"]] += 1
            round_trips.append(done - sent)
            if pile.id in arrived:
                to_pile.append(arrived[pile.id] - sent)
    finally:
        for client in clients:
            await client.aclose()
        for pile in r.piles:
            pile.on_server_call = None
    return round_trips, to_pile, outcomes


async def main_async(args: argparse.Namespace) -> int:
    async with ingest.rig(args) as r:
        token = await _server.login(r.nodes[0].base_url)
        for rate in [float(x) for x in args.rates.split(",")]:
            interval = len(r.piles) / rate if rate > 0 else float("inf")
            r.schedule.set(interval)
            await asyncio.sleep(args.warmup if rate > 0 else 1)
            sampler = _server.Sampler(r.watched)
            rows_0 = await r.database.count()
            r.schedule.new_window()
            sampler.start()
            started = time.perf_counter()
            round_trips, to_pile, outcomes = await commands(
                r, token, args.commands, args.every_ms / 1000, args.max_seconds
            )
            seconds = time.perf_counter() - started
            stats = r.schedule.new_window()
            await sampler.stop()
            stored = await r.database.count() - rows_0
            print(
                f"step         ingest offered {rate:g} MeterValues/s by {len(r.piles)} piles; "
                f"{args.commands} remoteStart, one every {args.every_ms} ms, in {seconds:.0f} s"
            )
            print(f"  remoteStart round trip  {latency_line(round_trips)}")
            print(f"  POST → CALL at the pile {latency_line(to_pile)}")
            print(f"  outcomes   {dict(outcomes)}")
            print(
                f"  ingest     offered {stats.scheduled / seconds:.1f}/s, "
                f"acknowledged {stats.acknowledged / seconds:.1f}/s,"
                f" stored {stored / seconds:.1f} rows/s, ack {latency_line(stats.latencies)}; "
                f"CALLERRORs {sum(stats.call_errors.values())}, timeouts {stats.timeouts}"
            )
            for line in sampler.lines():
                print(line)
        await ingest.final_check(r)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ingest.add_node_options(parser)
    parser.add_argument(
        "--rates", default="0,100,500,1000", help="ingest steps: MeterValues/s offered in all"
    )
    parser.add_argument("--commands", type=int, default=200, help="remoteStart mutations per step")
    parser.add_argument(
        "--every-ms", type=int, default=250, help="between two mutations (each waits for its answer)"
    )
    parser.add_argument("--warmup", type=float, default=10)
    parser.add_argument(
        "--max-seconds", type=float, default=150, help="stop a step's commands after this long"
    )
    args = parser.parse_args()
    _server.interrupt_on_sigterm()
    print(f"command      python {' '.join(sys.argv)}")
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    raise SystemExit(main())
