"""A GraphQL caller never branches on the pile's OCPP version: the same DC session told in 1.6 and in 2.0.1
reads back through the same query with the same shape and the same figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support.cp_client import StrictChargePoint
from tests.support.cp_client_v201 import StrictChargingStation, sampled_values
from tests.support.gql_client import data

SESSION = """
query($id: ID!) {
  session(id: $id) {
    id transactionId pileTransactionId status phase idTag vin startedAt stoppedAt durationS
    meterStartWh meterStopWh energyWh socStartPct socEndPct maxPowerW stopReason anomaly
    chargePoint { id online } connector { connectorNo kind status } station { name }
    phases { phase source at }
    latestSample { at context energyWh powerW currentMa voltageMv socPct temperatureDecic }
    trend(measurands: [POWER_W, CURRENT_MA, VOLTAGE_MV, SOC_PCT, ENERGY_WH], maxPoints: 10) {
      bucketSeconds sampleCount origin
      series { measurand points { offsetS at min max avg last count } }
    }
  }
}
"""

START = 1_000_000
STEPS = 4


def iso(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def shape(value: Any) -> Any:
    """The keys at every level (lists by their first element): what a client's code depends on."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return None


async def session_16(server, t0: datetime) -> str:
    cp = await server.builders.charge_point()
    tag = await server.builders.id_tag()
    client = await StrictChargePoint.connect(server.ocpp_url(cp.id))
    await client.boot()
    async def status(value: str, at: datetime) -> None:
        await client.call("StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": value,
                                                 "timestamp": iso(at)})

    await status("Preparing", t0)
    tx = (await client.call("StartTransaction", {"connectorId": 1, "idTag": tag, "meterStart": START,
                                                 "timestamp": iso(t0)}))["transactionId"]
    await status("Charging", t0 + timedelta(seconds=1))
    for i in range(1, STEPS + 1):
        await client.meter(1, tx, energy_wh=START + 500 * i, power_w=60_000 + i, current_a="120.0",
                           voltage_v="500.0", soc=40 + i, timestamp=iso(t0 + timedelta(seconds=60 * i)))
    await status("Finishing", t0 + timedelta(seconds=60 * STEPS))
    await client.stop(tx, meter_stop=START + 500 * STEPS, reason="Local", idTag=tag,
                      timestamp=iso(t0 + timedelta(seconds=60 * STEPS)))
    await client.close()
    return str(tx)


async def session_201(server, t0: datetime) -> str:
    cp = await server.builders.charge_point()
    tag = await server.builders.id_tag()
    client = await StrictChargingStation.connect(server.ocpp_url(cp.id))
    await client.boot()
    await client.status(1, "Occupied")
    token = {"idToken": tag, "type": "ISO14443"}
    await client.transaction("Started", "SHAPE-1", 0, "Authorized", charging_state="EVConnected", evse=1,
                             connector=1, id_token=token, timestamp=iso(t0), meter=[{
                                 "timestamp": iso(t0),
                                 "sampledValue": sampled_values(energy_wh=START, context="Transaction.Begin")}])
    await client.transaction("Updated", "SHAPE-1", 1, "ChargingStateChanged", charging_state="Charging",
                             timestamp=iso(t0 + timedelta(seconds=1)))
    for i in range(1, STEPS + 1):
        at = t0 + timedelta(seconds=60 * i)
        await client.transaction("Updated", "SHAPE-1", 1 + i, "MeterValuePeriodic", timestamp=iso(at), meter=[{
            "timestamp": iso(at), "sampledValue": sampled_values(
                energy_wh=START + 500 * i, power_w=60_000 + i, current_a=120.0, voltage_v=500.0, soc=40 + i)}])
    await client.transaction("Ended", "SHAPE-1", 2 + STEPS, "StopAuthorized", charging_state="EVConnected",
                             id_token=token,
                             timestamp=iso(t0 + timedelta(seconds=60 * STEPS)))
    await client.close()
    session = await server.services.charging.find_pile_transaction(cp.id, "SHAPE-1")
    return str(session.id)


async def test_a_201_session_reads_like_a_16_session(server):
    # given: the same DC session from a 1.6 pile and from a 2.0.1 pile
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    old_id = await session_16(server, t0)
    new_id = await session_201(server, t0)

    # when
    old = (await data(server.base_url, SESSION, {"id": old_id}, token=server.admin_token))["session"]
    new = (await data(server.base_url, SESSION, {"id": new_id}, token=server.admin_token))["session"]

    # then: the same shape ...
    assert shape(new) == shape(old)
    # ... and the same figures, where they do not name the pile or the session
    same = ("status", "phase", "durationS", "meterStartWh", "meterStopWh", "energyWh", "socStartPct", "socEndPct",
            "maxPowerW", "stopReason", "anomaly", "startedAt", "stoppedAt", "latestSample")
    assert {k: new[k] for k in same} == {k: old[k] for k in same}
    assert [p["phase"] for p in new["phases"]] == [p["phase"] for p in old["phases"]] == [
        "HANDSHAKE", "CHARGING", "ENDING", "ENDED"]
    # 2.0.1 reports the start reading as a sample (Transaction.Begin) where 1.6 only names meterStart: one
    # energy point more, every other series alike
    series = {s["measurand"]: s["points"] for s in new["trend"]["series"]}
    assert {s["measurand"]: s["points"] for s in old["trend"]["series"] if s["measurand"] != "ENERGY_WH"} == {
        m: points for m, points in series.items() if m != "ENERGY_WH"}
    assert [p["last"] for p in series["ENERGY_WH"]] == [START + 500 * i for i in range(STEPS + 1)]
    assert new["trend"]["sampleCount"] == old["trend"]["sampleCount"] + 1
    assert new["connector"] == old["connector"]
    assert (old["pileTransactionId"], new["pileTransactionId"]) == (None, "SHAPE-1")
    assert new["transactionId"] == int(new_id)
