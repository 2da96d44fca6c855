"""The standard `graphql-ws` JavaScript client (graphql-transport-ws) receives a session's live samples.

The client is the npm package itself (tests/js), run by Node.js, so what we test is what browsers, GraphiQL
and the mini-programs' tooling speak, not our own reading of the protocol.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path

import pytest

from tests.graphql.charging.test_subscriptions import wait_for_subscriber
from tests.support.cp_client import StrictChargePoint

CLIENTS = Path(__file__).resolve().parents[2] / "js"
SAMPLES = """
subscription($id: ID!) {
  sessionUpdates(sessionId: $id) {
    ... on SessionSampleRecorded { sample { powerW currentMa voltageMv socPct energyWh } sessionEnergyWh }
  }
}
"""


def node_client_ready() -> str | None:
    node = shutil.which("node")
    if node is None or not (CLIENTS / "node_modules" / "graphql-ws").is_dir():
        return None
    return node


async def test_graphql_ws_client_receives_live_samples(server):
    node = node_client_ready()
    if node is None:
        if os.environ.get("CHARGEOPS_CI") == "1":
            pytest.fail("CI needs Node.js and tests/js/node_modules for the standard graphql-ws client")
        pytest.skip("Node.js and tests/js/node_modules are needed (./scripts/test installs them)")
    # given: a DC session in progress and a standard client subscribed to it
    pile = await server.builders.charge_point()
    vin = await server.builders.vehicle()
    pile_client = await StrictChargePoint.connect(server.ocpp_url(pile.id))
    tx = (await pile_client.start(1, vin, meter_start=10_000))["transactionId"]
    process = await asyncio.create_subprocess_exec(
        node, str(CLIENTS / "subscribe.mjs"), f"{server.ws_url}/graphql", SAMPLES, json.dumps({"id": str(tx)}), "2",
        server.admin_token,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=CLIENTS,
    )
    try:
        await wait_for_subscriber(server, f"session:{tx}")

        # when: the pile reports two samples
        await pile_client.meter(1, tx, energy_wh=10_500, power_w=60_000, soc=35, current_a="150.0", voltage_v="400.0")
        await pile_client.meter(1, tx, energy_wh=11_000, power_w=59_000, soc=36, current_a="147.5", voltage_v="400.0")
        stdout, stderr = await asyncio.wait_for(process.communicate(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await pile_client.close()

    # then
    assert process.returncode == 0, stderr.decode()
    events = [json.loads(line) for line in stdout.decode().splitlines()]
    assert events[0] == {"event": "connected"}
    updates = [event["result"]["data"]["sessionUpdates"] for event in events[1:]]
    assert updates == [
        {"sample": {"powerW": 60_000, "currentMa": 150_000, "voltageMv": 400_000, "socPct": 35, "energyWh": 10_500},
         "sessionEnergyWh": 500},
        {"sample": {"powerW": 59_000, "currentMa": 147_500, "voltageMv": 400_000, "socPct": 36, "energyWh": 11_000},
         "sessionEnergyWh": 1_000},
    ]
