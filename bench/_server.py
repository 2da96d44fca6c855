"""Server-side helpers shared by the benchmarks: ``chargeops serve`` processes, their database, their figures.

Each benchmark starts its own node(s) with ``python -m api serve`` (the same interpreter, from the repository
root), on a fresh SQLite file in a temporary folder by default, or on a fresh MariaDB database it creates from
``--database mysql://user:pass@host:3306/name`` and drops at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import resource
import secrets
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-secret-key-" + "b" * 32
MIB = 1024 * 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def raise_open_files(wanted: int = 65536) -> tuple[int, int]:
    """Open files up to ``wanted`` (the hard limit too, when we may), else up to the hard limit; children
    (the nodes) inherit it. Returns (soft, hard) now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < wanted:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))
            return resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(soft, wanted), hard), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def machine() -> str:
    try:
        load = "load %.2f %.2f %.2f" % os.getloadavg()
    except OSError:
        load = ""
    mem = psutil.virtual_memory().total / MIB / 1024
    return (
        f"{platform.node()}: {os.cpu_count()} cores, {mem:.1f} GiB, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}; {load}"
    )


# -- the database ----------------------------------------------------------------------------------------


@dataclass
class Database:
    url: str
    """What the nodes get as CHARGEOPS_DATABASE_URL."""
    sqlite_path: Path | None = None
    mysql_name: str | None = None
    admin_url: str | None = None

    @property
    def kind(self) -> str:
        return "sqlite" if self.sqlite_path else "mariadb"

    async def _mysql(self, database: str | None = None):  # noqa: ANN202 - an asyncmy connection
        import asyncmy

        parts = urlsplit(self.admin_url or self.url)
        return await asyncmy.connect(
            host=parts.hostname,
            port=parts.port or 3306,
            user=unquote(parts.username or "root"),
            password=unquote(parts.password or ""),
            database=database,
            autocommit=True,
        )

    async def execute(self, sql: str, args: tuple = ()) -> list[tuple]:
        """One statement on the nodes' database (SQLite: read-only, in a thread); returns the rows."""
        if self.sqlite_path is not None:

            def read() -> list[tuple]:
                connection = sqlite3.connect(f"file:{self.sqlite_path}?mode=ro", uri=True, timeout=60)
                try:
                    return list(connection.execute(sql, args).fetchall())
                finally:
                    connection.close()

            return await asyncio.to_thread(read)
        connection = await self._mysql(self.mysql_name)
        try:
            async with connection.cursor() as cursor:
                await cursor.execute(sql.replace("?", "%s"), args or None)
                return list(await cursor.fetchall())
        finally:
            connection.close()

    async def count(self, table: str = "meter_sample") -> int:
        """Rows of ``table`` as committed now."""
        return int((await self.execute(f"SELECT COUNT(*) FROM {table}"))[0][0])

    async def drop(self) -> None:
        if self.mysql_name is not None:
            connection = await self._mysql()
            try:
                async with connection.cursor() as cursor:
                    await cursor.execute(f"DROP DATABASE IF EXISTS `{self.mysql_name}`")
            finally:
                connection.close()


async def make_database(wanted: str | None, work: Path) -> Database:
    """``None``: a SQLite file in ``work``; ``sqlite://path``: that file; ``mysql://…/name``: a fresh database
    ``name`` (refused if it exists), created here and dropped by ``Database.drop``."""
    if not wanted:
        path = work / "bench.sqlite3"
        return Database(f"sqlite://{path}", sqlite_path=path)
    if wanted.startswith("sqlite://"):
        path = Path(wanted.removeprefix("sqlite://"))
        return Database(wanted, sqlite_path=path)
    if not wanted.startswith("mysql://"):
        raise SystemExit("--database is sqlite://<file> or mysql://user:pass@host:3306/<fresh database>")
    parts = urlsplit(wanted)
    name = parts.path.lstrip("/") or f"chargeops_bench_{secrets.token_hex(3)}"
    database = Database(
        urlunsplit(parts._replace(path=f"/{name}")),
        mysql_name=name,
        admin_url=urlunsplit(parts._replace(path="/")),
    )
    connection = await database._mysql()
    try:
        async with connection.cursor() as cursor:
            await cursor.execute("SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", (name,))
            if await cursor.fetchone():
                raise SystemExit(
                    f"database {name} exists: name a fresh one (the benchmark drops it at the end)"
                )
            await cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    finally:
        connection.close()
    return database


# -- nodes -----------------------------------------------------------------------------------------------


@dataclass
class Node:
    name: str
    port: int
    process: subprocess.Popen
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ocpp_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ocpp"

    @property
    def graphql_ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    @property
    def pid(self) -> int:
        return self.process.pid


def interrupt_on_sigterm() -> None:
    """SIGTERM acts as Ctrl-C: asyncio.run cancels the benchmark; its clean-up stops nodes, drops DBs."""
    import signal

    signal.signal(signal.SIGTERM, signal.default_int_handler)


def _die_with_parent() -> None:
    """In the node's process before exec: SIGTERM it when the benchmark dies, however it dies (Linux)."""
    with contextlib.suppress(Exception):
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def start_node(
    name: str,
    database: Database,
    work: Path,
    *,
    demo_piles: int = 0,
    redis_url: str = "",
    redis_prefix: str = "",
    log_level: str = "warning",
    env: dict[str, str] | None = None,
) -> Node:
    port = free_port()
    log_path = work / f"{name}.log"
    environment = {
        **os.environ,
        "CHARGEOPS_DATABASE_URL": database.url,
        "CHARGEOPS_SECRET_KEY": SECRET,
        "CHARGEOPS_NODE_NAME": name,
        "CHARGEOPS_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "CHARGEOPS_FILES_DIR": str(work / "files"),
        # the development setting: the benchmarks' piles send no password (figures comparable with earlier runs)
        "CHARGEOPS_OCPP_DEFAULT_SECURITY_PROFILE": "0",
        **({"CHARGEOPS_REDIS_URL": redis_url, "CHARGEOPS_REDIS_PREFIX": redis_prefix} if redis_url else {}),
        **(env or {}),
    }
    command = [
        sys.executable,
        "-m",
        "api",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        log_level,
    ]
    if demo_piles:
        command += ["--demo", "--demo-piles", str(demo_piles)]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=open(log_path, "w"),  # noqa: SIM115 - closed with the process
        preexec_fn=_die_with_parent,
    )
    return Node(name, port, process, log_path)


async def wait_ready(node: Node, timeout: float = 1800) -> float:
    """Wait for /healthz (a --demo node seeds its piles first); returns the seconds it took."""
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=5) as client:
        while True:
            if node.process.poll() is not None:
                raise SystemExit(
                    f"{node.name} exited ({node.process.returncode}); see {node.log_path}:\n"
                    + node.log_path.read_text(errors="replace")[-3000:]
                )
            try:
                if (await client.get(f"{node.base_url}/healthz")).status_code == 200:
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            if time.monotonic() - started > timeout:
                raise SystemExit(f"{node.name} did not start within {timeout:.0f} s; see {node.log_path}")
            await asyncio.sleep(0.3)


def stop_node(node: Node) -> None:
    if node.process.poll() is None:
        node.process.terminate()
        try:
            node.process.wait(30)
        except subprocess.TimeoutExpired:
            node.process.kill()
            node.process.wait()


async def piles_connected(nodes: list[Node]) -> int:
    total = 0
    async with httpx.AsyncClient(timeout=30) as client:
        for node in nodes:
            try:
                total += int((await client.get(f"{node.base_url}/healthz")).json()["piles_connected"])
            except (httpx.HTTPError, KeyError, ValueError):
                pass
    return total


async def login(base_url: str, user: str = "admin", password: str = "chargeops-demo") -> str:
    async with httpx.AsyncClient(timeout=30) as client:
        body = (
            await client.post(
                f"{base_url}/graphql",
                json={
                    "query": "mutation($l: String!, $p: String!) { login(login: $l, password: $p) "
                    "{ token } }",
                    "variables": {"l": user, "p": password},
                },
            )
        ).json()
    return str(body["data"]["login"]["token"])


# -- CPU and memory --------------------------------------------------------------------------------------


def find_processes(names: tuple[str, ...]) -> dict[str, psutil.Process]:
    """Other servers on this machine worth watching (MariaDB, Redis), by process name; read only."""
    found: dict[str, psutil.Process] = {}
    for proc in psutil.process_iter(["name"]):
        if proc.info["name"] in names and proc.info["name"] not in found:
            found[proc.info["name"]] = proc
    return found


@dataclass
class Sampler:
    """CPU % (one core = 100 %) and RSS of processes, once a second, from ``start()`` to ``stop()``."""

    processes: dict[str, psutil.Process]
    cpu: dict[str, list[float]] = field(default_factory=dict)
    rss: dict[str, list[int]] = field(default_factory=dict)
    machine_cpu: list[float] = field(default_factory=list)
    threads: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)
    """Per process: CPU seconds of (main thread user, main thread system, other threads user+system, wall)."""
    _task: asyncio.Task | None = None
    _started: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)

    def _thread_times(self) -> dict[str, tuple[float, float, float, float]]:
        times = {}
        for name, proc in self.processes.items():
            with contextlib.suppress(psutil.Error):
                main_user = main_system = others = 0.0
                for thread in proc.threads():
                    if thread.id == proc.pid:
                        main_user, main_system = thread.user_time, thread.system_time
                    else:
                        others += thread.user_time + thread.system_time
                times[name] = (main_user, main_system, others, time.monotonic())
        return times

    async def _run(self) -> None:
        for proc in self.processes.values():
            with contextlib.suppress(psutil.Error):
                proc.cpu_percent(None)
        psutil.cpu_percent(None)
        while True:
            await asyncio.sleep(1)
            for name, proc in self.processes.items():
                with contextlib.suppress(psutil.Error):
                    self.cpu.setdefault(name, []).append(proc.cpu_percent(None))
                    self.rss.setdefault(name, []).append(proc.memory_info().rss)
            self.machine_cpu.append(psutil.cpu_percent(None))

    def start(self) -> None:
        self.cpu, self.rss, self.machine_cpu = {}, {}, []
        self._started = self._thread_times()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        ended = self._thread_times()
        self.threads = {
            name: tuple(b - a for a, b in zip(self._started[name], ended[name], strict=True))  # type: ignore[misc]
            for name in ended
            if name in self._started
        }
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def lines(self) -> list[str]:
        out = []
        for name in self.processes:
            cpu, rss = self.cpu.get(name) or [0.0], self.rss.get(name) or [0]
            ordered = sorted(cpu)
            out.append(
                f"  {name:<22} CPU mean {statistics.fmean(cpu):5.1f}%"
                f"  p95 {ordered[int(len(ordered) * 0.95)]:5.1f}%  max {max(cpu):5.1f}%"
                f"   RSS mean {statistics.fmean(rss) / MIB:6.0f} MiB  max {max(rss) / MIB:6.0f} MiB"
            )
            if name in self.threads and self.threads[name][3] > 0:
                user, system, others, wall = self.threads[name]
                out.append(
                    f"  {'':<22} main thread {100 * (user + system) / wall:5.1f}%"
                    f" (user {100 * user / wall:.1f}%,"
                    f" system {100 * system / wall:.1f}%), other threads {100 * others / wall:.1f}%"
                )
        if self.machine_cpu:
            out.append(
                f"  {'whole machine':<22} CPU mean"
                f" {statistics.fmean(self.machine_cpu) * (os.cpu_count() or 1):5.1f}%"
                f" of {(os.cpu_count() or 1) * 100}%"
            )
        return out


# -- py-spy ----------------------------------------------------------------------------------------------


def py_spy(pid: int, seconds: int, out: Path) -> subprocess.Popen:
    """``py-spy record`` of a node (all threads, idle ones too) as raw collapsed stacks, in the background."""
    spy = Path(sys.executable).with_name("py-spy")
    return subprocess.Popen(
        [
            str(spy if spy.exists() else "py-spy"),
            "record",
            "-p",
            str(pid),
            "-d",
            str(seconds),
            "-r",
            "50",
            "-f",
            "raw",
            "-t",
            "-i",
            "-o",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )


CATEGORIES = (
    ("idle: event loop waiting (epoll)", ("EpollSelector.select",)),
    ("jsonschema validation", ("jsonschema/",)),
    ("GraphQL (strawberry, graphql-core)", ("strawberry/", "graphql/")),
    ("SQL building and ORM (tortoise, pypika)", ("tortoise/", "pypika")),
    ("database driver (aiosqlite, asyncmy)", ("aiosqlite/", "asyncmy/", "sqlite3")),
    ("Redis client", ("redis/",)),
    (
        "ocpp library (routing, dataclasses)",
        ("ocpp/charge_point", "ocpp/messages", "ocpp/routing", "dataclasses"),
    ),
    ("JSON encode/decode", ("json/",)),
    (
        "WebSocket/HTTP protocol (uvicorn, websockets, starlette)",
        ("uvicorn/", "websockets/", "starlette/", "h11/"),
    ),
    ("logging and metrics", ("logging/", "prometheus_client/")),
    ("datetime parsing/formatting", ("iso8601", "dateutil", "_strptime")),
)
"""A sample belongs to the innermost frame that matches one of these (checked from the leaf up)."""


def summarize_profile(raw: Path, top: int = 22) -> list[str]:
    """Per thread: busy share; for the event loop: where its time goes, by component and by our functions."""
    threads: dict[str, list[tuple[list[str], int]]] = {}
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        frames = [f.strip() for f in stack.split(";") if f.strip()]
        thread = frames[0] if frames and frames[0].startswith("thread") else "thread ?"
        name = thread.split(":", 1)[-1].strip() or thread
        threads.setdefault(name, []).append(([_frame_key(f, line=True) for f in frames[1:]], int(count_text)))
    if not threads:
        return ["  (no samples)"]
    out = []
    for name, samples in sorted(threads.items(), key=lambda kv: -sum(c for _, c in kv[1])):
        total = sum(c for _, c in samples)
        idle = sum(c for frames, c in samples if frames and _idle(frames[-1]))
        out.append(f"  thread {name}: {total} samples, busy {100 * (total - idle) / total:.0f}%")
        if name != "MainThread":
            leaves: Counter[str] = Counter()
            for frames, count in samples:
                leaf = frames[-1] if frames else "?"
                leaves[AIOSQLITE_LINES.get(leaf, leaf)] += count
            out += [f"      {100 * c / total:5.1f}%  {k}" for k, c in leaves.most_common(4)]
            continue
        samples = [([_drop_line(f) for f in frames], count) for frames, count in samples]
        categories: Counter[str] = Counter()
        own: Counter[str] = Counter()
        leaves = Counter()
        for frames, count in samples:
            categories[_category(frames)] += count
            seen = set()
            for frame in frames:
                if frame.endswith(")") and " (api/" in frame and frame not in seen:
                    own[frame] += count
                    seen.add(frame)
            leaves[frames[-1] if frames else "?"] += count
        out.append("    by component (innermost match), share of all main-thread samples:")
        out += [f"      {100 * c / total:5.1f}%  {k}" for k, c in categories.most_common()]
        out.append("    our own functions (inclusive: they and what they call):")
        out += [f"      {100 * c / total:5.1f}%  {k}" for k, c in own.most_common(top)]
        out.append("    innermost frames:")
        out += [f"      {100 * c / total:5.1f}%  {k}" for k, c in leaves.most_common(12)]
    return out


AIOSQLITE_LINES = {
    "_connection_worker_thread (aiosqlite/core.py:59)": "aiosqlite worker waiting for a statement (idle)",
    "_connection_worker_thread (aiosqlite/core.py:63)": "aiosqlite worker in sqlite3 (statement/commit)",
}
"""A leaf in C code shows as its Python caller: the line tells the aiosqlite thread's waits from its work."""


def _idle(leaf: str) -> bool:
    return leaf.startswith(
        (
            "EpollSelector.select",
            "select (",
            "Condition.wait",
            "Queue.get",
            "Event.wait",
            "_worker (concurrent",
            "Thread._wait_for_tstate_lock",
            "lock.acquire",
            "_connection_worker_thread (aiosqlite/core.py:59)",
        )
    )


def _drop_line(frame: str) -> str:
    name, _, where = frame.partition(" (")
    return f"{name} ({where.rstrip(')').rsplit(':', 1)[0]})" if where else frame


def _category(frames: list[str]) -> str:
    for frame in reversed(frames):
        for label, markers in CATEGORIES:
            if any(marker in frame for marker in markers):
                return label
    if any(" (api/" in f for f in frames):
        return "our own code (api/)"
    return "asyncio and the rest"


GC_PROBE = '''"""Benchmark probe (the server's code is not touched): log each full garbage collection and any
other over 20 ms; optionally other thresholds; collect and freeze (gc.freeze) when the benchmark asks."""
import gc, os, threading, time
_base = os.environ["CHARGEOPS_BENCH_GC"]
_log = open(f"{_base}.log.{os.getpid()}", "a", buffering=1)
_began = [0.0]
def _probe(phase, info):
    if phase == "start":
        _began[0] = time.perf_counter()
        return
    took = time.perf_counter() - _began[0]
    if info["generation"] == 2 or took > 0.02:
        _log.write(f"{time.time():.3f} {info['generation']} {took:.4f} {info['collected']}\\n")
gc.callbacks.append(_probe)
if os.environ.get("CHARGEOPS_BENCH_GC_THRESHOLD"):
    gc.set_threshold(*(int(n) for n in os.environ["CHARGEOPS_BENCH_GC_THRESHOLD"].split(",")))
def _freezer():
    while True:
        time.sleep(0.5)
        if os.path.exists(_base + ".freeze"):
            os.unlink(_base + ".freeze")
            gc.collect()
            gc.freeze()
            _log.write(f"{time.time():.3f} frozen {gc.get_freeze_count()} 0\\n")
threading.Thread(target=_freezer, daemon=True, name="bench-gc-freezer").start()
'''


def gc_probe(work: Path, threshold: str = "") -> dict[str, str]:
    """Environment for nodes that log their garbage collections (a ``sitecustomize`` on their PYTHONPATH)."""
    folder = work / "gcprobe"
    folder.mkdir(exist_ok=True)
    (folder / "sitecustomize.py").write_text(GC_PROBE)
    path = os.pathsep.join(p for p in (str(folder), os.environ.get("PYTHONPATH", "")) if p)
    env = {"PYTHONPATH": path, "CHARGEOPS_BENCH_GC": str(work / "gc")}
    if threshold:
        env["CHARGEOPS_BENCH_GC_THRESHOLD"] = threshold
    return env


async def gc_freeze(work: Path) -> str:
    """Ask the probed node(s) to collect and ``gc.freeze()`` now (what a server could do once warm)."""

    def frozen() -> list[str]:
        return [
            line.split()[2]
            for log in work.glob("gc.log.*")
            for line in log.read_text().splitlines()
            if " frozen " in line
        ]

    before = len(frozen())
    (work / "gc.freeze").touch()
    for _ in range(300):  # the collection before the freeze may take a while
        await asyncio.sleep(0.2)
        if len(frozen()) > before:
            break
    done = frozen()
    return f"gc.freeze(): {done[-1] if len(done) > before else '?'} objects moved to the permanent generation"


def gc_pauses(work: Path, since: float, until: float) -> list[tuple[int, float, float, int]]:
    """(pid, seconds into the window, pause, generation) of the logged collections between two wall times."""
    found = []
    for log in work.glob("gc.log.*"):
        pid = int(log.suffix.lstrip("."))
        for line in log.read_text().splitlines():
            at, generation, took, _ = line.split()
            if generation != "frozen" and since <= float(at) <= until:
                found.append((pid, float(at) - since, float(took), int(generation)))
    return sorted(found, key=lambda item: item[1])


def gc_line(pauses: list[tuple[int, float, float, int]]) -> str:
    full = [p for p in pauses if p[3] == 2]
    return (
        f"{len(full)} full collections ({sum(p[2] for p in full) * 1000:.0f} ms in all, longest "
        f"{max((p[2] for p in full), default=0) * 1000:.0f} ms); {len(pauses) - len(full)} younger ones over "
        f"20 ms ({sum(p[2] for p in pauses if p[3] != 2) * 1000:.0f} ms)"
    )


def _frame_key(frame: str, line: bool = False) -> str:
    """``func (…/site-packages/pkg/mod.py:123)`` → ``func (pkg/mod.py)`` (``:123`` kept with ``line``)."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    path, _, number = where.rpartition(":") if ":" in where else (where, "", "")
    for marker in ("site-packages/", "/lib/python3.11/", str(ROOT) + "/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{name} ({path}:{number})" if line and number else f"{name} ({path})"


def workdir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"chargeops-{prefix}-"))
