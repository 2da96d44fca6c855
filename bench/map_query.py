"""Map query figures: ``stationsNear`` over 10,000 stations, its latency and its SQL statements per request.

    python bench/map_query.py --stations 10000 --piles-per-station 4 --requests 500

Seeds a fresh database through the domain services (``api.container.build_services`` on
``api.core.db.open_database``, as the tests' builders do): one operator, ``--stations`` stations spread evenly
over a ``--area-km`` square around Hangzhou, each with ``--piles-per-station`` piles of two connectors (DC
120 kW + AC 7 kW, or two AC 7 kW), and ``--sessions`` running sessions (StartTransaction through the charging
service). Connector statuses (55 % available, 30 % charging, 5 % each preparing, faulted, unavailable, spread
by id; the running sessions' connectors charging) and piles' online flags (pile 1 of every fifth station
offline) are then set in bulk by SQL. A seeded SQLite file can be kept (``--keep-db PATH``)
and reused (``--reuse-db PATH``).

Then it starts ``chargeops serve`` on it twice: with ``--log-level debug`` to count the SQL statements of a
few requests of each query (tortoise's ``tortoise.db_client`` log lines with the request's X-Request-Id, as
``tests/support/queries.py`` counts them), and at ``warning`` to time ``--requests`` POSTs of each query at
random points of the area, one at a time (``--concurrency`` for more), as the demo admin. Prints p50/p99/max,
stations per answer, statements per request. ``--profile S`` records the node with py-spy while timing.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import re
import shutil
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import _server  # noqa: E402
import ingest  # noqa: E402
from _piles import latency_line, percentile  # noqa: E402

CENTRE = (30.2741, 120.1551)  # Hangzhou, GCJ-02
ADMIN = ("admin", "chargeops-demo")

QUERIES = {
    "light": """query($lat: Float!, $lng: Float!, $r: Float!) { stationsNear(latitude: $lat, longitude: $lng,
      radiusM: $r) { id name latitude longitude distanceM
      connectorCounts { available charging faulted } } }""",
    "full": """query($lat: Float!, $lng: Float!, $r: Float!) { stationsNear(latitude: $lat, longitude: $lng,
      radiusM: $r) { id name distanceM connectorCounts { available charging faulted }
      chargePoints { id online connectors { connectorNo kind status
      activeSession { id phase energyWh socEndPct } } } } }""",
}
"""``light``: what the map's markers need; ``full``: the README's example (piles, connectors, sessions)."""


def box(area_km: float) -> tuple[float, float, float, float]:
    half_lat = area_km / 2 / 111.32
    half_lng = area_km / 2 / (111.32 * math.cos(math.radians(CENTRE[0])))
    return CENTRE[0] - half_lat, CENTRE[0] + half_lat, CENTRE[1] - half_lng, CENTRE[1] + half_lng


async def seed(args: argparse.Namespace, database: _server.Database) -> None:
    from tortoise import Tortoise
    from tortoise.transactions import in_transaction

    from api.access.dto import Grant
    from api.charging.dto import TransactionStart
    from api.container import build_services
    from api.core.db import open_database
    from api.models.enums import ConnectorType, Role
    from api.settings import Settings

    rng = random.Random(args.seed)
    settings = Settings(database_url=database.url, secret_key=_server.SECRET)
    await open_database(database.url)
    services = build_services(settings)
    started = time.monotonic()
    try:
        operator = await services.stations.create_operator("基准测试运营商")
        await services.access.create_user(
            None, "基准管理员", ADMIN[0], ADMIN[1], [Grant(Role.PLATFORM_ADMIN)]
        )
        south, north, west, east = box(args.area_km)
        pile_ids: list[tuple[str, int]] = []
        batch = 250
        for first in range(0, args.stations, batch):
            async with in_transaction():  # one commit per batch; the services' own transactions nest in it
                for n in range(first, min(first + batch, args.stations)):
                    station = await services.stations.create_station(
                        operator.id,
                        f"基准站{n + 1:05d}",
                        rng.uniform(south, north),
                        rng.uniform(west, east),
                        address=f"杭州市基准路{n + 1}号",
                        city="杭州市",
                    )
                    for p in range(args.piles_per_station):
                        kinds = (
                            [(ConnectorType.GBT_DC, 120_000), (ConnectorType.GBT_AC, 7_000)]
                            if p % 2 == 0
                            else [(ConnectorType.GBT_AC, 7_000), (ConnectorType.GBT_AC, 7_000)]
                        )
                        pile_id = f"MQ{n + 1:05d}-{p + 1}"
                        await services.charge_points.register(pile_id, station.id, kinds)
                        pile_ids.append((pile_id, n))
            if (first // batch) % 8 == 0:
                print(
                    f"  … {min(first + batch, args.stations)} stations ({time.monotonic() - started:.0f} s)"
                )
        tags = [f"MQTAG{n:05d}" for n in range(1, 101)]
        for tag in tags:
            await services.access.issue_id_tag(None, tag)
        chosen = rng.sample(pile_ids, min(args.sessions, len(pile_ids)))
        for first in range(0, len(chosen), batch):
            async with in_transaction():
                for index, (pile_id, _) in enumerate(chosen[first : first + batch], start=first):
                    await services.charging.start(
                        TransactionStart(
                            pile_id, 1, tags[index % len(tags)], rng.randint(0, 90_000), datetime.now(UTC)
                        )
                    )
        connection = Tortoise.get_connection("default")
        draw = "((id * 7919 + 17) % 100)"  # the same spread on SQLite and MariaDB, from the row's id
        await connection.execute_script(
            f"UPDATE connector SET status = CASE WHEN {draw} < 55 THEN 'available' WHEN {draw} < 60 THEN "
            f"'preparing' WHEN {draw} < 65 THEN 'faulted' WHEN {draw} < 70 THEN 'unavailable' "
            "ELSE 'charging' END;"
        )
        await connection.execute_script(
            "UPDATE connector SET status = 'charging' WHERE id IN (SELECT connector_id FROM charging_session "
            "WHERE status = 'active');"
            if database.kind == "sqlite"
            else "UPDATE connector c JOIN charging_session s ON s.connector_id = c.id "
            "AND s.status = 'active' SET c.status = 'charging';"
        )
        await connection.execute_script(
            "UPDATE charge_point SET online = CASE WHEN id LIKE '%0-1' OR id LIKE '%5-1' THEN 0 ELSE 1 END;"
        )
    finally:
        await Tortoise.close_connections()
    print(
        f"seeded       {args.stations} stations, {len(pile_ids)} piles, {2 * len(pile_ids)} connectors, "
        f"{len(chosen)} running sessions in {time.monotonic() - started:.0f} s"
    )


async def timed(
    client: httpx.AsyncClient,
    token: str,
    query: str,
    point: tuple[float, float],
    radius: float,
    request_id: str,
) -> tuple[float, int]:
    started = time.perf_counter()
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": {"lat": point[0], "lng": point[1], "r": radius}},
        headers={"Authorization": f"Bearer {token}", "X-Request-Id": request_id},
    )
    elapsed = time.perf_counter() - started
    body = response.json()
    if response.status_code != 200 or body.get("errors"):
        raise SystemExit(f"query failed: {response.status_code} {str(body)[:500]}")
    return elapsed, len(body["data"]["stationsNear"])


def points(args: argparse.Namespace, n: int, rng: random.Random) -> list[tuple[float, float]]:
    south, north, west, east = box(args.area_km)
    return [(rng.uniform(south, north), rng.uniform(west, east)) for _ in range(n)]


async def count_statements(args: argparse.Namespace, database: _server.Database, work: Path) -> None:
    node = _server.start_node("node-debug", database, work, log_level="debug")
    try:
        await _server.wait_ready(node)
        token = await _server.login(node.base_url, *ADMIN)
        rng = random.Random(args.seed + 1)
        async with httpx.AsyncClient(base_url=node.base_url, timeout=60) as client:
            for name, query in QUERIES.items():
                ids = []
                for i, point in enumerate(points(args, args.count_requests, rng)):
                    ids.append(
                        (
                            f"mq-{name}-{i}",
                            (await timed(client, token, query, point, args.radius, f"mq-{name}-{i}"))[1],
                        )
                    )
                await asyncio.sleep(0.5)
                log = node.log_path.read_text(errors="replace")
                per_request = []
                kinds: Counter[str] = Counter()
                for number, (request_id, found) in enumerate(ids):
                    statements = [
                        line
                        for line in log.splitlines()
                        if f"req={request_id} " in line
                        and " tortoise.db_client " in line
                        and re.search(
                            r"tortoise\.db_client pile=\S+ req=\S+ \s*(SELECT|INSERT|UPDATE|DELETE)", line
                        )
                    ]
                    per_request.append(len(statements))
                    if args.show_sql and number == 0:
                        print(f"sql          of {request_id} ({len(statements)} statements):")
                        for line in statements:
                            print(
                                "    "
                                + line.split(" tortoise.db_client ", 1)[1].split(" ", 2)[2][: args.show_sql]
                            )
                    for line in statements:
                        table = re.search(r"FROM [`\"]?(\w+)", line)
                        kinds[table.group(1) if table else line.split("req=", 1)[1].split()[1]] += 1
                print(
                    f"statements   {name}: {min(per_request)}–{max(per_request)} SQL statements per request "
                    f"over {len(ids)} requests ("
                    + ", ".join(f"{t} {c / len(ids):g}" for t, c in kinds.most_common())
                    + f" per request); stations per answer {min(f for _, f in ids)}–{max(f for _, f in ids)}"
                )
    finally:
        _server.stop_node(node)


async def time_queries(args: argparse.Namespace, database: _server.Database, work: Path) -> None:
    node = _server.start_node(
        "node-a", database, work, env=_server.gc_probe(work, args.gc_threshold) if args.gc_log else None
    )
    try:
        await _server.wait_ready(node)
        token = await _server.login(node.base_url, *ADMIN)
        rng = random.Random(args.seed + 2)
        watched = {"node": psutil.Process(node.pid), "bench client": psutil.Process(os.getpid())}
        async with httpx.AsyncClient(
            base_url=node.base_url, timeout=60, limits=httpx.Limits(max_connections=args.concurrency)
        ) as client:
            for name, query in QUERIES.items():
                # warm-up: connections, caches, the server's first requests
                for point in points(args, 20, rng):
                    await timed(client, token, query, point, args.radius, "warm")
                if args.gc_log and args.gc_freeze:
                    print(f"gc           {await _server.gc_freeze(work)}")
                latencies: list[float] = []
                found: list[int] = []
                todo = points(args, args.requests, rng)
                sampler = _server.Sampler(watched)
                sampler.start()
                spy = None
                out = work / f"profile-map-{name}.txt"
                if args.profile and name == "full":
                    spy = _server.py_spy(node.pid, args.profile, out)
                started = time.perf_counter()
                wall_started = time.time()

                async def worker() -> None:
                    while todo:
                        point = todo.pop()
                        elapsed, n = await timed(client, token, query, point, args.radius, f"t-{len(todo)}")
                        latencies.append(elapsed)
                        found.append(n)

                await asyncio.gather(*(worker() for _ in range(args.concurrency)))
                seconds = time.perf_counter() - started
                await sampler.stop()
                print(
                    f"query        {name}: {len(latencies)} requests at random points, "
                    f"radius {args.radius:g} m, "
                    f"{args.concurrency} at a time, in {seconds:.1f} s ({len(latencies) / seconds:.1f}/s)"
                )
                print(f"  latency    {latency_line(latencies)}")
                if args.gc_log:
                    print(
                        f"  node GC    {_server.gc_line(_server.gc_pauses(work, wall_started, time.time()))}"
                    )
                print(f"  stations   per answer p50 {percentile(found, 50):.0f}, max {max(found)} (first 50)")
                for line in sampler.lines():
                    print(line)
                if spy is not None:
                    await asyncio.to_thread(spy.wait)
                    print(f"  py-spy record of the node during {name}, {out}:")
                    for line in _server.summarize_profile(out) if out.exists() else ["  (no profile)"]:
                        print(line)
    finally:
        _server.stop_node(node)


async def main_async(args: argparse.Namespace) -> int:
    work = _server.workdir("map")
    print(f"machine      {_server.machine()}")
    if args.reuse_db:
        database = _server.Database(f"sqlite://{args.reuse_db}", sqlite_path=Path(args.reuse_db))
        print(f"database     reusing {args.reuse_db}")
    else:
        database = await _server.make_database(args.database, work)
    try:
        if not args.reuse_db:
            await seed(args, database)
            if args.keep_db and database.sqlite_path is not None:
                shutil.copy(database.sqlite_path, args.keep_db)
                print(f"kept         the seeded database as {args.keep_db}")
        print(
            f"rows         {await database.count('station')} stations, "
            f"{await database.count('charge_point')} piles, {await database.count('connector')} connectors, "
            f"{await database.count('charging_session')} sessions"
        )
        await count_statements(args, database, work)
        await time_queries(args, database, work)
    finally:
        if not args.reuse_db:
            await database.drop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stations", type=int, default=10_000)
    parser.add_argument("--piles-per-station", type=int, default=4)
    parser.add_argument(
        "--sessions", type=int, default=2000, help="running sessions seeded (StartTransaction)"
    )
    parser.add_argument("--area-km", type=float, default=60, help="side of the square the stations fill")
    parser.add_argument("--radius", type=float, default=5000, help="radiusM of every query")
    parser.add_argument("--requests", type=int, default=500, help="timed requests per query")
    parser.add_argument(
        "--count-requests", type=int, default=20, help="requests per query whose SQL is counted"
    )
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument(
        "--database", default=None, help="as in ingest.py (default: SQLite in a temporary folder)"
    )
    parser.add_argument("--keep-db", default="", help="copy the seeded SQLite file here")
    parser.add_argument("--reuse-db", default="", help="time a SQLite file seeded before (--keep-db) instead")
    parser.add_argument(
        "--profile", type=int, default=0, metavar="S", help="py-spy the node while timing 'full'"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--gc-log", action="store_true", help="report the node's garbage collections (ingest.py)"
    )
    ingest.add_gc_experiments(parser)
    parser.add_argument(
        "--show-sql",
        type=int,
        default=0,
        metavar="CHARS",
        help="print the statements of the first counted request of each query (each cut to CHARS)",
    )
    args = parser.parse_args()
    _server.interrupt_on_sigterm()
    print(f"command      python {' '.join(sys.argv)}")
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    raise SystemExit(main())
