"""A ``chargeops serve`` process of its own, for tests that kill it, restart it, or run several nodes."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServeProcess:
    """One node on 127.0.0.1:``port`` with ``env``; it can be killed (SIGKILL) and started again."""

    env: dict[str, str]
    port: int = field(default_factory=free_port)
    args: tuple[str, ...] = ("--demo",)
    process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def ocpp_url(self, charge_point_id: str) -> str:
        return f"{self.ws_url}/ocpp/{charge_point_id}"

    async def start(self, timeout_s: float = 60) -> float:
        """Start and wait for /healthz; returns how long it took."""
        started = time.monotonic()
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "api", "serve", "--host", "127.0.0.1", "--port", str(self.port),
            "--log-level", "warning", *self.args, cwd=ROOT, env=self.env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )
        async with httpx.AsyncClient() as client:
            while time.monotonic() - started < timeout_s:
                if self.process.returncode is not None:
                    assert self.process.stderr is not None
                    error = (await self.process.stderr.read()).decode()[-2000:]
                    raise AssertionError(f"the node exited with {self.process.returncode}: {error}")
                try:
                    if (await client.get(f"{self.url}/healthz", timeout=2)).status_code == 200:
                        return time.monotonic() - started
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.05)
        raise AssertionError("the node did not start")

    async def kill(self) -> None:
        """A power cut: no shutdown, nothing flushed on the way out."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
