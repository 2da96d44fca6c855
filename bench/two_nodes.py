"""Scale-out figures: the same ingest ladder against one node, then two nodes sharing MariaDB and Redis.

    python bench/two_nodes.py --piles 1000 --rates 200,400,800 --duration 60 \\
        --database mysql://root:@127.0.0.1:3306/bench_two --redis redis://127.0.0.1:6379/0

Runs ``ingest.py``'s rig twice on a fresh MariaDB database each time (the name gets ``_1`` and ``_2``; both
are dropped): once with one ``serve`` process, once with two (the piles alternate between them; events cross
Redis). Each run prints ingest's full step reports; at the end a table compares acknowledged and stored
MeterValues/s and the acknowledgement p99 of one and two nodes at each offered rate.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _server  # noqa: E402
import ingest  # noqa: E402
from _piles import ms, percentile  # noqa: E402


async def ladder(args: argparse.Namespace, nodes: int) -> list[tuple[float, float, float, float, float]]:
    run = argparse.Namespace(**vars(args))
    run.nodes = nodes
    parts = urlsplit(args.database)
    run.database = urlunsplit(parts._replace(path=f"{parts.path.rstrip('/') or '/chargeops_bench'}_{nodes}"))
    rows = []
    print(f"==== {nodes} node(s) ====")
    async with ingest.rig(run) as r:
        for label, interval in ingest.intervals(run):
            result = await ingest.measure(
                r,
                interval,
                args.warmup,
                args.duration,
                profile_s=args.profile if label == ingest.intervals(run)[-1][0] else 0,
                label=label,
            )
            ingest.report(result, len(r.piles), interval)
            s, t = result.stats, result.seconds
            cpu = sum(sum(v) / max(len(v), 1) for k, v in result.sampler.cpu.items() if k.startswith("node-"))
            rows.append(
                (
                    len(r.piles) / interval,
                    s.acknowledged / t,
                    result.stored / t,
                    percentile(s.latencies, 99),
                    cpu,
                )
            )
        await ingest.final_check(r)
    return rows


async def main_async(args: argparse.Namespace) -> int:
    if not (args.database or "").startswith("mysql://"):
        raise SystemExit("two nodes share MariaDB: --database mysql://user:pass@host:3306/<name>")
    one = await ladder(args, 1)
    two = await ladder(args, 2)
    print("==== one node vs two ====")
    print(
        f"{'offered/s':>10} | {'1 node acked/s':>14} {'stored/s':>9} {'p99':>10} {'CPU%':>6} | "
        f"{'2 nodes acked/s':>15} {'stored/s':>9} {'p99':>10} {'CPU%':>6} | {'ratio':>5}"
    )
    for a, b in zip(one, two, strict=True):
        print(
            f"{a[0]:10.0f} | {a[1]:14.1f} {a[2]:9.1f} {ms(a[3]):>10} {a[4]:6.0f} | {b[1]:15.1f} {b[2]:9.1f} "
            f"{ms(b[3]):>10} {b[4]:6.0f} | {b[1] / max(a[1], 1e-9):5.2f}"
        )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ingest.add_node_options(parser)
    parser.add_argument(
        "--rates", default="200,400,800", help="steps: MeterValues/s offered by all piles together"
    )
    parser.add_argument("--interval-ms", default="", help="steps as each pile's sampling interval instead")
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--warmup", type=float, default=10)
    parser.add_argument(
        "--profile", type=int, default=0, metavar="S", help="py-spy the node(s) in the last step"
    )
    args = parser.parse_args()
    _server.interrupt_on_sigterm()
    print(f"command      python {' '.join(sys.argv)}")
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    raise SystemExit(main())
