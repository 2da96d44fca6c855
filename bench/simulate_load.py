"""Load figures for one node: N simulated piles against ``chargeops serve --demo`` on the embedded default.

    .venv/bin/python bench/simulate_load.py --piles 200 --duration 120

Starts a server (fresh SQLite file in a temporary folder, unless --database-url is given) and the
simulator as two processes, samples the server's CPU and memory with psutil once a second, counts stored
meter samples at the end of a warm-up and at the end of the run, and prints the figures. Record them, with
this command line, in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def count_rows(database: Path) -> tuple[int, int]:
    """(meter sample rows, sampled values in them) from the server's SQLite file, read-only."""
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
    try:
        rows = connection.execute("SELECT COUNT(*) FROM meter_sample").fetchone()[0]
        columns = ("energy_wh", "power_w", "current_ma", "voltage_mv", "soc_pct", "temperature_decic")
        values = connection.execute(
            "SELECT " + " + ".join(f"COUNT({c})" for c in columns) + " FROM meter_sample"
        ).fetchone()[0]
        return int(rows), int(values or 0)
    finally:
        connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--piles", type=int, default=200)
    parser.add_argument("--duration", type=float, default=120, help="seconds of load after the warm-up")
    parser.add_argument("--warmup", type=float, default=20, help="seconds before counting starts")
    parser.add_argument("--time-scale", type=float, default=60)
    parser.add_argument("--sample-interval", type=float, default=60, help="simulated seconds between samples")
    parser.add_argument("--idle", type=float, default=3, help="mean real seconds a connector stays free")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="chargeops-bench-"))
    database = work / "bench.sqlite3"
    port = free_port()
    # the development setting: no argon2 check per connection, figures comparable with earlier runs
    env = {**os.environ, "CHARGEOPS_DATABASE_URL": f"sqlite://{database}", "CHARGEOPS_OCPP_DEFAULT_SECURITY_PROFILE": "0"}
    server = subprocess.Popen(
        [sys.executable, "-m", "api", "serve", "--demo", "--demo-piles", str(args.piles),
         "--port", str(port), "--log-level", "warning"],
        env=env, stdout=subprocess.DEVNULL, stderr=open(work / "server.log", "w"),
    )
    simulator = None
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit(f"server did not start; see {work / 'server.log'}") from None
                time.sleep(0.3)
        total = args.warmup + args.duration
        simulator = subprocess.Popen(
            [sys.executable, "-m", "api", "simulate", "--url", f"ws://127.0.0.1:{port}/ocpp",
             "--piles", str(args.piles), "--time-scale", str(args.time_scale),
             "--sample-interval", str(args.sample_interval), "--idle", str(args.idle),
             "--duration", str(total + 5)],
            stdout=open(work / "simulate.log", "w"), stderr=subprocess.STDOUT,
        )
        server_proc = psutil.Process(server.pid)
        simulator_proc = psutil.Process(simulator.pid)
        server_proc.cpu_percent(None)
        simulator_proc.cpu_percent(None)

        time.sleep(args.warmup)
        rows_0, values_0 = count_rows(database)
        connected = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json()["piles_connected"]
        started = time.monotonic()
        cpu, rss, sim_cpu = [], [], []
        while time.monotonic() - started < args.duration:
            time.sleep(1)
            cpu.append(server_proc.cpu_percent(None))
            rss.append(server_proc.memory_info().rss)
            sim_cpu.append(simulator_proc.cpu_percent(None))
        elapsed = time.monotonic() - started
        rows_1, values_1 = count_rows(database)
    finally:
        if simulator is not None:
            simulator.terminate()
            simulator.wait(30)
        server.terminate()
        server.wait(30)

    rows = rows_1 - rows_0
    values = values_1 - values_0
    mib = 1024 * 1024
    print(f"piles connected              {connected} of {args.piles}")
    print(f"measured                     {elapsed:.0f} s after a {args.warmup:.0f} s warm-up")
    print(f"meter samples stored         {rows} rows ({rows / elapsed:.1f} rows/s, "
          f"{rows / elapsed * 86400 / 1e6:.1f} M/day)")
    print(f"sampled values stored        {values} ({values / elapsed:.1f} values/s)")
    print(f"server CPU (one core = 100%) mean {statistics.mean(cpu):.1f}%  p95 {sorted(cpu)[int(len(cpu) * .95)]:.1f}%"
          f"  max {max(cpu):.1f}%")
    print(f"server RSS                   mean {statistics.mean(rss) / mib:.0f} MiB  max {max(rss) / mib:.0f} MiB")
    print(f"simulator CPU                mean {statistics.mean(sim_cpu):.1f}%")
    print(f"database file                {database.stat().st_size / mib:.1f} MiB ({rows_1} rows in all)")
    summary = (work / "simulate.log").read_text(encoding="utf-8").splitlines()[-4:]
    print("simulator's own report (whole run, including the warm-up):")
    for line in summary:
        print(f"  {line}")
    print(f"logs                         {work}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
