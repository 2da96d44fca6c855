"""The mini-programs' test stack: the real ChargeOps node, login fakes and simulated piles, in one process.

Run as ``python tests/mp/stack.py [--piles 6] [--sample-interval 1] [--pause-scale 20] [--login-codes 20]``
(``tests/mp/helpers/stack.js`` does it). On free ports of 127.0.0.1 it starts:

* the fake of WeChat's jscode2session (``tests/fakes/wechat_login.py``) and the Alipay gateway fake
  (``tests/fakes/alipay.py``), used for driver login only: payments go through the sandbox provider;
* the real app (``create_app`` with demo data, a temporary SQLite file, uvicorn with its lifespan), orders on
  quick timing as in ``tests/conftest.py``;
* the demo piles, simulated in-process (``api/simulator``): connectors stay free until a remote start; a
  session charges in real time (a sample every ``--sample-interval`` seconds) because the server quarantines
  an order whose energy is more than the connector's power can deliver in the time; only the pauses around
  charging (DC handshake, unplugging) are shortened ``--pause-scale`` times.

When every pile is online with its connectors available it prints ONE JSON line on stdout::

    {"url": "http://127.0.0.1:P", "wsUrl": "ws://127.0.0.1:P", "graphqlUrl": ".../graphql",
     "codes": {"DEMO-0001/1": "<QR code>", ...},
     "qrUrls": {"DEMO-0001/1": "http://127.0.0.1:P/q/<code>", ...},
     "wechatCodes": [...], "alipayCodes": [...],            # log in as the demo driver (openid / Alipay id)
     "newWechatCodes": [...], "newAlipayCodes": [...]}      # each logs in a driver of its own (a new account)

Login codes are single-use, as WeChat's and Alipay's are. The stack then runs until stdin closes (the parent
went away) or SIGTERM/SIGINT, stops the piles (their sessions end with StopTransaction), the server and the
fakes, and exits 0. Logs go to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import secrets
import signal
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # run as a script: make ``api`` and ``tests.fakes`` importable

import uvicorn  # noqa: E402

from api.app import create_app  # noqa: E402
from api.container import Services, build_services  # noqa: E402
from api.demo import DEMO_DRIVER_ALIPAY_ID, DEMO_DRIVER_OPENID, DEMO_ID_TAGS, DEMO_VINS  # noqa: E402
from api.models.enums import ConnectorStatus  # noqa: E402
from api.orders.service import OrderTiming  # noqa: E402
from api.payments.providers.alipay import AlipayClient, AlipayConfig  # noqa: E402
from api.settings import Settings  # noqa: E402
from api.simulator.pile import Counters, SimulatedPile, Timing  # noqa: E402
from api.simulator.run import SimulationOptions, pile_specs  # noqa: E402
from tests.fakes.alipay import AlipayFake, running_alipay_fake  # noqa: E402
from tests.fakes.serve import serve  # noqa: E402
from tests.fakes.wechat_login import WeChatLoginFake  # noqa: E402

log = logging.getLogger("mp-stack")

CONNECTORS_PER_PILE = 2
READY_TIMEOUT_S = 60
IDLE_FOREVER_S = (10.0**6, 10.0**6)
"""Real seconds a connector waits for a remote start before the pile would start a session of its own."""
ORDER_TIMING = OrderTiming(query_after_s=2, start_timeout_s=8, retry_s=1, share_delay_s=0)
"""As the tests' session server (tests/conftest.py): quick queries, start timeouts and retries."""


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--piles", type=int, default=6, help="demo piles (2 connectors each)")
    parser.add_argument("--sample-interval", type=float, default=1.0,
                        help="seconds between a session's samples")
    parser.add_argument("--pause-scale", type=float, default=20.0,
                        help="the DC handshake and the unplugging pause take this many times less time")
    parser.add_argument("--login-codes", type=int, default=20, help="login codes of each kind")
    return parser.parse_args(argv)


class QuickPile(SimulatedPile):
    """A simulated pile whose pauses around charging (DC handshake, unplugging) are shortened; charging itself
    runs in real time."""

    def __init__(self, *args: Any, pause_scale: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pause_scale = pause_scale

    async def _sleep(self, simulated_s: float) -> None:
        await asyncio.sleep(simulated_s / self.pause_scale)


def bound_socket() -> socket.socket:
    # with the protocol named, asyncio turns on TCP_NODELAY for accepted connections (else ~40 ms per request)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    return sock


def stop_on_eof_or_signal(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    fd = sys.stdin.fileno()

    def readable() -> None:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            chunk = b""
        if not chunk:
            loop.remove_reader(fd)
            stop.set()

    loop.add_reader(fd, readable)


async def until_ready(services: Services, pile_ids: list[str], piles: list[asyncio.Task[None]]) -> None:
    """Every pile online and every connector reported available."""
    for _ in range(int(READY_TIMEOUT_S / 0.1)):
        for task in piles:
            if task.done():
                task.result()  # a pile that died says why
        online = [cp for cp in await services.charge_points.list_by_ids(pile_ids) if cp.online]
        connectors = await services.charge_points.connectors_for(pile_ids)
        available = [c for c in connectors if c.status == ConnectorStatus.AVAILABLE]
        if len(online) == len(pile_ids) and len(available) == len(pile_ids) * CONNECTORS_PER_PILE:
            return
        await asyncio.sleep(0.1)
    raise TimeoutError(f"piles not ready after {READY_TIMEOUT_S} s: {len(online)} online, {len(available)} "
                       f"connectors available")


async def main(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    stop_on_eof_or_signal(stop)
    wechat = WeChatLoginFake("wx-mp-test-appid", "app-secret-" + secrets.token_hex(8))
    with tempfile.TemporaryDirectory(prefix="chargeops-mp-") as workdir:
        async with serve(wechat.app) as wechat_url, running_alipay_fake() as (alipay, alipay_config):
            await run_stack(args, stop, workdir, wechat, wechat_url, alipay, alipay_config)


async def run_stack(
    args: argparse.Namespace, stop: asyncio.Event, workdir: str, wechat: WeChatLoginFake, wechat_url: str,
    alipay: AlipayFake, alipay_config: AlipayConfig,
) -> None:
    sock = bound_socket()
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = Settings(
        database_url=f"sqlite://{workdir}/chargeops.sqlite3", public_url=base_url,
        files_dir=f"{workdir}/files", secret_key="mp-stack-" + secrets.token_hex(24),
        ocpp_response_timeout_s=5, pay_providers="sandbox",
        wechat_appid=wechat.appid, wechat_app_secret=wechat.secret, wechat_api_base_url=wechat_url,
    )
    services = build_services(settings, order_timing=ORDER_TIMING)
    # Alipay login: the server builds its client only with the alipay payment provider; payments stay in the
    # sandbox here, so the client talking to the fake is plugged in as tests/access does
    alipay_client = AlipayClient(alipay_config, alipay.clock)
    services.logins.use(alipay=alipay_client)
    app = create_app(settings, services=services, demo_piles=args.piles)
    server = uvicorn.Server(uvicorn.Config(
        app, ws="websockets-sansio", lifespan="on", log_level="warning", access_log=False,
    ))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    piles_stop = asyncio.Event()
    piles: list[asyncio.Task[None]] = []
    try:
        while not server.started:
            if serving.done():
                serving.result()
            await asyncio.sleep(0.01)
        specs = pile_specs(SimulationOptions(piles=args.piles))
        timing = Timing(time_scale=1.0, sample_interval_s=args.sample_interval, idle_s=IDLE_FOREVER_S)
        counters = Counters()
        piles = [
            asyncio.create_task(QuickPile(
                spec, base_url.replace("http://", "ws://") + "/ocpp", timing, counters, id_tags=DEMO_ID_TAGS,
                vins=DEMO_VINS, seed=100_003 + spec.number, stop=piles_stop, pause_scale=args.pause_scale,
            ).run())
            for spec in specs
        ]
        await until_ready(services, [spec.id for spec in specs], piles)
        codes = {
            f"{spec.id}/{no}": await services.qr.code_for(spec.id, no)
            for spec in specs for no in range(1, CONNECTORS_PER_PILE + 1)
        }
        ready = {
            "url": base_url, "wsUrl": base_url.replace("http://", "ws://"),
            "graphqlUrl": f"{base_url}/graphql",
            "codes": codes, "qrUrls": {key: services.qr.url(code) for key, code in codes.items()},
            **issue_login_codes(args.login_codes, wechat, alipay),
        }
        sys.stdout.write(json.dumps(ready, ensure_ascii=False) + "\n")
        sys.stdout.flush()
        await stop.wait()
    finally:
        piles_stop.set()  # piles end open sessions while the server still listens
        if piles:
            await asyncio.wait(piles, timeout=10)
        server.should_exit = True
        await asyncio.wait_for(serving, 20)
        sock.close()
        await alipay_client.aclose()


def issue_login_codes(count: int, wechat: WeChatLoginFake, alipay: AlipayFake) -> dict[str, list[str]]:
    """What wx.login / my.getAuthCode would hand out: codes of the demo driver, and codes of new people."""
    codes: dict[str, list[str]] = {
        "wechatCodes": [], "alipayCodes": [], "newWechatCodes": [], "newAlipayCodes": [],
    }
    for i in range(count):
        code = f"wx-demo-{i}-{secrets.token_hex(6)}"
        wechat.issue(code, DEMO_DRIVER_OPENID)
        codes["wechatCodes"].append(code)
        code = f"wx-new-{i}-{secrets.token_hex(6)}"
        wechat.issue(code, f"oMPTEST{secrets.token_hex(11)}")
        codes["newWechatCodes"].append(code)
        code = f"ali-demo-{i}-{secrets.token_hex(6)}"
        alipay.oauth_codes[code] = {"user_id": DEMO_DRIVER_ALIPAY_ID}
        codes["alipayCodes"].append(code)
        code = f"ali-new-{i}-{secrets.token_hex(6)}"
        alipay.oauth_codes[code] = {"open_id": f"074a{secrets.token_hex(16)}"}
        codes["newAlipayCodes"].append(code)
    return codes


if __name__ == "__main__":
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="mp-stack %(levelname)s %(name)s: %(message)s",
    )
    # simulated piles answer calls they do not implement (GetLocalListVersion...) with a CALLERROR: not news
    logging.getLogger("ocpp").setLevel(logging.CRITICAL)
    logging.getLogger("api.ocpp.traffic").setLevel(logging.ERROR)
    try:
        asyncio.run(main(parse_args(sys.argv[1:])))
    except KeyboardInterrupt:
        pass
