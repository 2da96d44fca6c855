"""A whole node in its own process (``python -m api serve --demo``), configured only through ``CHARGEOPS_*``
variables as a deployment is: both mini-programs' app ids and two domain verification files. Its first demo
pile is connected (strict OCPP 1.6J) and says its first connector is free, and the QR code of that connector
is taken from the staff's printable sheet, as an operator would.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from api.demo import DEMO_PASSWORD, demo_pile_id
from tests.support.cp_client import StrictChargePoint
from tests.support.gql_client import data

WECHAT_APPID = "wx0123456789abcdef"
ALIPAY_APP_ID = "2021004100000000"
VERIFY_FILES = {
    "wx5f3c0a1b2d.txt": "8d2f0c7e91b4a6d3e5f7a9c1b3d5e7f9",
    "alipay_2021004100000000.txt": "Zk3pQ=9x",
}


@dataclass
class Node:
    base_url: str
    admin_token: str


@dataclass
class Connector:
    """The connector behind one QR code, as ``scannedConnector`` tells it."""

    code: str
    url: str
    station_name: str
    charge_point_id: str
    connector_no: int


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="package")
async def node(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Node]:
    folder = tmp_path_factory.mktemp("node")
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "CHARGEOPS_DATABASE_URL": f"sqlite://{folder / 'db.sqlite3'}",
        "CHARGEOPS_PUBLIC_URL": base_url,
        "CHARGEOPS_SECRET_KEY": "web-node-" + "w" * 32,
        "CHARGEOPS_FILES_DIR": str(folder / "files"),
        "CHARGEOPS_WECHAT_APPID": WECHAT_APPID,
        "CHARGEOPS_ALIPAY_APP_ID": ALIPAY_APP_ID,
        "CHARGEOPS_QR_VERIFY_FILES": ",".join(f"{name}={content}" for name, content in VERIFY_FILES.items()),
    }
    log = folder / "node.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "api", "serve", "--demo", "--demo-piles", "1", "--port", str(port),
            "--log-level", "warning", env=env, stdout=out, stderr=out,
        )
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=5, trust_env=False) as client:
            for _ in range(300):
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if process.returncode is not None:
                    raise AssertionError(f"the node exited ({process.returncode}): {log.read_text()[-3000:]}")
                await asyncio.sleep(0.1)
            else:
                raise AssertionError(f"the node did not start: {log.read_text()[-3000:]}")
        login = await data(
            base_url, 'mutation($p: String!) { login(login: "admin", password: $p) { token } }',
            {"p": DEMO_PASSWORD},
        )
        yield Node(base_url=base_url, admin_token=login["login"]["token"])
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 15)
            except TimeoutError:
                process.kill()
                await process.wait()


@pytest.fixture(scope="package")
async def connector(node: Node) -> AsyncIterator[Connector]:
    """Connector 1 of the first demo pile: online and free while the tests of this package run."""
    pile_id = demo_pile_id(1)
    pile = await StrictChargePoint.connect(f"{node.base_url.replace('http', 'ws', 1)}/ocpp/{pile_id}")
    try:
        await pile.boot()
        await pile.status(1, "Available")
        station_id = (await data(node.base_url, "query($id: ID!) { chargePoint(id: $id) { station { id } } }",
                                 {"id": pile_id}, token=node.admin_token))["chargePoint"]["station"]["id"]
        async with httpx.AsyncClient(base_url=node.base_url, timeout=10, trust_env=False) as client:
            sheet = await client.get(f"/stations/{station_id}/qr-sheet",
                                     headers={"Authorization": f"Bearer {node.admin_token}"})
        assert sheet.status_code == 200, sheet.text
        found = re.search(rf"{re.escape(pile_id)} 号桩 · 1 号枪.*?<p class=\"code\">(\w+)</p>", sheet.text)
        assert found is not None, sheet.text
        scanned = (await data(
            node.base_url,
            "query($s: String!) { c: scannedConnector(scanned: $s) { code url stationName chargePointId "
            "connectorNo status pileOnline } }",
            {"s": found.group(1)},
        ))["c"]
        assert (scanned["status"], scanned["pileOnline"]) == ("AVAILABLE", True)
        yield Connector(
            code=scanned["code"], url=scanned["url"], station_name=scanned["stationName"],
            charge_point_id=scanned["chargePointId"], connector_no=scanned["connectorNo"],
        )
    finally:
        await pile.close()
