"""Session queries over real HTTP: detail with trend buckets, history with filters and cursors, comparison."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.support.cp_client import StrictChargePoint
from tests.support.gql_client import data, gql


def iso(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def run_session(server, client, connector: int, tag: str, start: datetime, seconds: int, step: int,
                      power: int) -> int:
    """A session whose samples arrive every ``step`` seconds for ``seconds``, with a linear SoC rise."""
    tx = (await client.call("StartTransaction", {
        "connectorId": connector, "idTag": tag, "meterStart": 0, "timestamp": iso(start)}))["transactionId"]
    for t in range(step, seconds + 1, step):
        await client.meter(connector, tx, energy_wh=power * t // 3600, power_w=power + t, soc=20 + 60 * t // seconds,
                           timestamp=iso(start + timedelta(seconds=t)))
    await client.call("StopTransaction", {
        "transactionId": tx, "meterStop": power * seconds // 3600, "timestamp": iso(start + timedelta(seconds=seconds)),
        "reason": "Local"})
    return tx


SESSION = """
query($id: ID!, $points: Int!) {
  session(id: $id) {
    id transactionId status phase idTag energyWh socStartPct socEndPct maxPowerW durationS
    chargePoint { id } connector { connectorNo kind } station { name }
    phases { phase source }
    latestSample { powerW socPct }
    trend(measurands: [POWER_W, SOC_PCT], maxPoints: $points) {
      bucketSeconds sampleCount
      series { measurand points { offsetS min max avg last count } }
    }
  }
}
"""


async def test_session_trend_is_downsampled_into_buckets(server):
    # given: a one-hour session sampled every 10 s (360 samples)
    station = await server.builders.station("趋势站")
    pile = await server.builders.charge_point(station)
    tag = await server.builders.id_tag()
    client = await StrictChargePoint.connect(server.ocpp_url(pile.id))
    start = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    tx = await run_session(server, client, 1, tag, start, seconds=3600, step=10, power=60_000)

    # when
    session = (await data(server.base_url, SESSION, {"id": tx, "points": 60}, token=server.admin_token))["session"]

    # then
    assert session["status"] == "COMPLETED" and session["phase"] == "ENDED"
    assert session["energyWh"] == 60_000
    assert (session["socStartPct"], session["socEndPct"]) == (20, 80)
    assert session["durationS"] == 3600
    assert session["station"] == {"name": "趋势站"}
    assert session["connector"] == {"connectorNo": 1, "kind": "GBT_DC"}
    assert session["latestSample"] == {"powerW": 63_600, "socPct": 80}
    trend = session["trend"]
    assert trend["sampleCount"] == 360
    assert trend["bucketSeconds"] == 61
    power, soc = trend["series"]
    assert power["measurand"] == "POWER_W" and soc["measurand"] == "SOC_PCT"
    assert len(power["points"]) == 60
    first = power["points"][0]
    assert first == {"offsetS": 0, "min": 60_010, "max": 60_060, "avg": 60_035.0, "last": 60_060, "count": 6}
    assert sum(p["count"] for p in power["points"]) == 360
    assert soc["points"][-1]["last"] == 80
    await client.close()


async def test_trend_rejects_too_many_points_with_a_code(server):
    # given
    pile = await server.builders.charge_point()
    tag = await server.builders.id_tag()
    client = await StrictChargePoint.connect(server.ocpp_url(pile.id))
    tx = (await client.start(1, tag, 0))["transactionId"]

    # when
    body = await gql(server.base_url, SESSION, {"id": tx, "points": 100_000}, token=server.admin_token)

    # then
    assert body["_status"] == 200
    assert [e["extensions"]["code"] for e in body["errors"]] == ["INVALID_INPUT"]
    assert body["data"]["session"] is None
    await client.close()


HISTORY = """
query($filter: SessionFilterInput, $first: Int!, $after: String) {
  sessions(filter: $filter, first: $first, after: $after) {
    edges { cursor node { id idTag status } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


async def test_history_filters_and_paginates(server):
    # given: five sessions of one tag on one pile, one of another tag
    station = await server.builders.station()
    pile = await server.builders.charge_point(station)
    tag, other = await server.builders.id_tag(), await server.builders.id_tag()
    client = await StrictChargePoint.connect(server.ocpp_url(pile.id))
    base = datetime(2026, 11, 21, 0, 0, tzinfo=UTC)
    mine = [await run_session(server, client, 1, tag, base + timedelta(hours=i), 60, 30, 7000) for i in range(5)]
    await run_session(server, client, 2, other, base, 60, 30, 7000)

    # when
    pages, after = [], None
    while True:
        page = (await data(
            server.base_url, HISTORY, {"filter": {"idTag": tag}, "first": 2, "after": after}, token=server.admin_token
        ))["sessions"]
        pages.append([int(e["node"]["id"]) for e in page["edges"]])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    by_station = (await data(
        server.base_url, HISTORY, {"filter": {"stationId": station.id}, "first": 10}, token=server.admin_token
    ))["sessions"]
    in_window = (await data(server.base_url, HISTORY, {
        "filter": {"idTag": tag, "startedFrom": iso(base + timedelta(hours=1)), "startedTo": iso(base + timedelta(hours=3))},
        "first": 10}, token=server.admin_token))["sessions"]

    # then
    assert pages == [mine[4:2:-1], mine[2:0:-1], mine[0:1]]
    assert len(by_station["edges"]) == 6
    assert [int(e["node"]["id"]) for e in in_window["edges"]] == [mine[2], mine[1]]
    bad = await gql(server.base_url, HISTORY, {"first": 2, "after": "not-a-cursor"}, token=server.admin_token)
    assert bad["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    await client.close()


async def test_comparison_aligns_sessions_from_their_starts(server):
    # given: a 10-minute and a 20-minute session, started a day apart
    pile = await server.builders.charge_point()
    tag = await server.builders.id_tag()
    client = await StrictChargePoint.connect(server.ocpp_url(pile.id))
    short = await run_session(server, client, 1, tag, datetime(2026, 11, 1, 8, tzinfo=UTC), 600, 60, 30_000)
    long = await run_session(server, client, 1, tag, datetime(2026, 11, 2, 9, tzinfo=UTC), 1200, 60, 60_000)

    # when
    result = await data(server.base_url, """
      query($ids: [ID!]!) { sessionComparison(ids: $ids, measurand: POWER_W, maxPoints: 20) {
        bucketSeconds measurand sessions { session { id } series { points { offsetS avg } } } } }""",
        {"ids": [short, long]}, token=server.admin_token)

    # then
    comparison = result["sessionComparison"]
    assert comparison["bucketSeconds"] == 61
    assert [int(s["session"]["id"]) for s in comparison["sessions"]] == [short, long]
    short_points = comparison["sessions"][0]["series"]["points"]
    long_points = comparison["sessions"][1]["series"]["points"]
    assert short_points[0] == {"offsetS": 0, "avg": 30_060.0}
    assert long_points[0] == {"offsetS": 0, "avg": 60_060.0}
    assert max(p["offsetS"] for p in long_points) > max(p["offsetS"] for p in short_points)
    await client.close()
