"""The README's two set-up commands: the test command is what CI runs, and the serve command works as
written on a fresh virtual environment (it is run here in a copy of the repository)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", section)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_readme_gives_exactly_two_commands_and_ci_runs_the_test_one():
    # given
    serve, test = readme_commands()

    # then
    assert "chargeops serve --demo" in serve
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert test in ci.splitlines()[-1], f"{ci!r} does not call {test!r}"


@pytest.mark.skipif(
    bool(os.environ.get("CHARGEOPS_TEST_DATABASE_URL")),
    reason="the README's serve command runs on the embedded default; the SQLite run of the suite checks it",
)
def test_serve_command_works_on_a_fresh_venv(tmp_path):
    # given: a copy of the repository without any environment
    serve, _ = readme_commands()
    copy = tmp_path / "chargeops"
    shutil.copytree(
        ROOT, copy,
        ignore=shutil.ignore_patterns(".git", ".venv", "node_modules", "__pycache__", "*.sqlite3*", "*.egg-info"),
    )
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHARGEOPS_", "VIRTUAL_ENV", "PYTHONPATH"))}
    env["CHARGEOPS_PORT"] = str(port)

    # when
    process = subprocess.Popen(["bash", "-c", serve], cwd=copy, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, start_new_session=True)
    try:
        stations = None
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and process.poll() is None:
            try:
                response = httpx.post(
                    f"http://127.0.0.1:{port}/graphql",
                    json={"query": "{ stationsNear(latitude: 30.25, longitude: 120.19, radiusM: 30000) "
                                   "{ name chargePoints { id connectors { kind maxPowerW } } } }"},
                    timeout=5,
                )
                stations = response.json()["data"]["stationsNear"]
                break
            except httpx.TransportError:
                time.sleep(0.5)
        page = httpx.get(f"http://127.0.0.1:{port}/graphql", headers={"Accept": "text/html"}, timeout=5)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        output = process.communicate(timeout=30)[0].decode(errors="replace")

    # then
    assert stations is not None, output[-3000:]
    assert len(stations) == 3
    piles = sorted(cp["id"] for s in stations for cp in s["chargePoints"])
    assert piles == [f"DEMO-000{n}" for n in range(1, 7)]
    kinds = {(c["kind"], c["maxPowerW"]) for s in stations for cp in s["chargePoints"] for c in cp["connectors"]}
    assert kinds == {("GBT_DC", 120_000), ("GBT_AC", 7_000)}
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert (copy / "chargeops.sqlite3").exists()
    assert f"http://127.0.0.1:{port}/graphql" in output
