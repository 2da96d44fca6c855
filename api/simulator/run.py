"""``chargeops simulate``: run N simulated piles against an OCPP server and report what they did."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import statistics
import time
from dataclasses import dataclass

from api.demo import DEMO_ID_TAGS, DEMO_VINS, demo_pile_id, demo_pile_kind, demo_pile_password
from api.simulator.pile import Counters, PileSpec, SimulatedPile, Timing
from api.simulator.pile_v201 import SimulatedPileV201

PROTOCOLS = ("1.6", "2.0.1")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SimulationOptions:
    url: str = "ws://127.0.0.1:8000/ocpp"
    piles: int = 6
    first: int = 1
    """Number of the first pile: piles are DEMO-<first> … DEMO-<first + piles - 1>."""
    time_scale: float = 30.0
    sample_interval_s: float = 60.0
    """Simulated seconds between MeterValues of a charging connector."""
    idle_s: tuple[float, float] = (1.0, 5.0)
    """Real seconds a connector stays free between sessions."""
    sessions: int = 0
    """Sessions per connector; 0 = until stopped."""
    duration_s: float = 0.0
    """Stop after this many real seconds; 0 = no limit."""
    seed: int = 1
    connect_spread_s: float = 2.0
    """Connections of the piles are spread over this many seconds, as after a power cut."""
    id_tags: tuple[str, ...] = DEMO_ID_TAGS
    vins: tuple[str, ...] = DEMO_VINS
    ocpp: tuple[str, ...] = ("1.6",)
    """Protocols of the piles, in turn: ("1.6", "2.0.1") makes every other pile a 2.0.1 one."""


@dataclass(frozen=True)
class SimulationReport:
    piles: int
    piles_booted: int
    connections: int
    connection_errors: int
    sessions_started: int
    sessions_completed: int
    sessions_refused: int
    sessions_interrupted: int
    meter_values_sent: int
    samples_sent: int
    values_sent: int
    call_errors: int
    elapsed_s: float
    meter_latency_p50_ms: float | None
    meter_latency_p99_ms: float | None

    def lines(self) -> list[str]:
        latency = (
            f"MeterValues round trip p50 {self.meter_latency_p50_ms:.1f} ms, p99 {self.meter_latency_p99_ms:.1f} ms"
            if self.meter_latency_p50_ms is not None
            else "no MeterValues answered"
        )
        return [
            f"{self.piles} piles, {self.piles_booted} boots, {self.connections} connections "
            f"({self.connection_errors} failed) in {self.elapsed_s:.0f} s",
            f"sessions: {self.sessions_started} started, {self.sessions_completed} completed, "
            f"{self.sessions_refused} refused, {self.sessions_interrupted} interrupted",
            f"samples: {self.samples_sent} sent and acknowledged ({self.values_sent} sampled values, "
            f"{self.samples_sent / max(self.elapsed_s, 1e-9):.1f}/s); CALLERRORs/timeouts: {self.call_errors}",
            latency,
        ]


def pile_specs(options: SimulationOptions) -> list[PileSpec]:
    specs = []
    for number in range(options.first, options.first + options.piles):
        kind, max_power_w = demo_pile_kind(number)
        ocpp = options.ocpp[(number - options.first) % len(options.ocpp)]
        specs.append(PileSpec(demo_pile_id(number), number, dc=kind.name.endswith("_DC"), max_power_w=max_power_w,
                              password=demo_pile_password(number), ocpp=ocpp))
    return specs


def _report(options: SimulationOptions, counters: Counters, elapsed: float) -> SimulationReport:
    latencies = sorted(counters.meter_latencies_s)
    p50 = p99 = None
    if latencies:
        p50 = statistics.median(latencies) * 1000
        p99 = latencies[min(int(len(latencies) * 0.99), len(latencies) - 1)] * 1000
    return SimulationReport(
        piles=options.piles,
        piles_booted=counters.piles_booted,
        connections=counters.connections,
        connection_errors=counters.connection_errors,
        sessions_started=counters.sessions_started,
        sessions_completed=counters.sessions_completed,
        sessions_refused=counters.sessions_refused,
        sessions_interrupted=counters.sessions_interrupted,
        meter_values_sent=counters.meter_values_sent,
        samples_sent=counters.samples_sent,
        values_sent=counters.values_sent,
        call_errors=counters.call_errors,
        elapsed_s=elapsed,
        meter_latency_p50_ms=p50,
        meter_latency_p99_ms=p99,
    )


async def run_simulation(
    options: SimulationOptions, *, stop: asyncio.Event | None = None, progress_every_s: float = 0
) -> SimulationReport:
    """Run the piles until every connector did ``options.sessions`` sessions, the duration passed, or ``stop``."""
    stop = stop or asyncio.Event()
    counters = Counters()
    timing = Timing(time_scale=options.time_scale, sample_interval_s=options.sample_interval_s, idle_s=options.idle_s)
    piles = [
        (SimulatedPileV201 if spec.ocpp == "2.0.1" else SimulatedPile)(
            spec, options.url, timing, counters, id_tags=options.id_tags, vins=options.vins,
            seed=options.seed * 100_003 + spec.number, sessions_per_connector=options.sessions, stop=stop,
        )
        for spec in pile_specs(options)
    ]
    started = time.monotonic()

    async def delayed(pile: SimulatedPile, delay: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        if not stop.is_set():
            await pile.run()

    spread = options.connect_spread_s / max(len(piles), 1)
    tasks = [asyncio.create_task(delayed(pile, i * spread)) for i, pile in enumerate(piles)]
    everything = asyncio.gather(*tasks)

    async def progress() -> None:
        while True:
            await asyncio.sleep(progress_every_s)
            for line in _report(options, counters, time.monotonic() - started).lines()[1:3]:
                log.info("%s", line)

    reporter = asyncio.create_task(progress()) if progress_every_s else None
    try:
        limit = options.duration_s or None
        try:
            await asyncio.wait_for(asyncio.shield(everything), limit)
        except TimeoutError:
            stop.set()
            await everything
    finally:
        stop.set()
        if reporter is not None:
            reporter.cancel()
        if not everything.done():
            await asyncio.wait_for(everything, 60)
    return _report(options, counters, time.monotonic() - started)


def _simulate(args: argparse.Namespace) -> int:
    options = SimulationOptions(
        url=args.url,
        piles=args.piles,
        first=args.first,
        time_scale=args.time_scale,
        sample_interval_s=args.sample_interval,
        idle_s=(args.idle / 2, args.idle * 1.5) if args.idle > 0 else (0.01, 0.02),
        sessions=args.sessions,
        duration_s=args.duration,
        seed=args.seed,
        ocpp=tuple(args.ocpp),
    )
    logging.getLogger("ocpp").setLevel(logging.WARNING)
    print(
        f"simulating {options.piles} piles ({demo_pile_id(options.first)} …, OCPP {'/'.join(options.ocpp)}) "
        f"against {options.url}, "
        f"time x{options.time_scale:g}, a sample every {options.sample_interval_s:g} simulated s; Ctrl-C stops"
    )

    async def main() -> SimulationReport:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        return await run_simulation(options, stop=stop, progress_every_s=10)

    report = asyncio.run(main())
    for line in report.lines():
        print(line)
    return 0 if report.piles_booted else 1


def _protocols(text: str) -> tuple[str, ...]:
    versions = tuple(v.strip() for v in text.split(",") if v.strip())
    unknown = [v for v in versions if v not in PROTOCOLS]
    if not versions or unknown:
        raise argparse.ArgumentTypeError(f"OCPP versions are {' and '.join(PROTOCOLS)}, comma-separated")
    return versions


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = commands.add_parser(
        "simulate",
        help="run simulated OCPP 1.6J / 2.0.1 piles (DC GB/T and AC sessions) against a server",
        description="Simulated piles DEMO-0001 … doing whole DC (handshake, configuration, charging with power "
        "tapering as SoC rises, ending) and AC sessions with the demo id tags and VINs.",
    )
    parser.add_argument("--url", default="ws://127.0.0.1:8000/ocpp", help="OCPP endpoint; the pile id is appended")
    parser.add_argument("--piles", type=int, default=6)
    parser.add_argument("--first", type=int, default=1, help="number of the first pile (default 1 = DEMO-0001)")
    parser.add_argument("--time-scale", type=float, default=30.0, help="simulated seconds per real second")
    parser.add_argument("--sample-interval", type=float, default=60.0,
                        help="simulated seconds between meter samples (default 60)")
    parser.add_argument("--idle", type=float, default=3.0, help="mean real seconds a connector stays free")
    parser.add_argument("--sessions", type=int, default=0, help="sessions per connector; 0 = until stopped")
    parser.add_argument("--duration", type=float, default=0.0, help="stop after this many real seconds")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--ocpp", type=_protocols, default=("1.6",), metavar="VERSION[,VERSION]",
                        help="protocol of the piles: 1.6 (default), 2.0.1, or both in turn (1.6,2.0.1)")
    parser.set_defaults(func=_simulate)
