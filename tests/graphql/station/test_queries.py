"""Map and station queries over real HTTP: distances, counts, filters, and a constant number of SQL queries."""

from __future__ import annotations

import itertools
import re

from api.models.enums import ConnectorType
from tests.support.cp_client import StrictChargePoint
from tests.support.gql_client import data, gql
from tests.support.queries import count_queries

_regions = itertools.count()


def region() -> tuple[float, float]:
    """A patch of map no other test uses (the database is shared by the whole run)."""
    n = next(_regions)
    return 20.0 + n * 0.5, 100.0 + n * 0.5


NEAR = """
query Near($lat: Float!, $lng: Float!, $radius: Float!, $filter: StationFilter) {
  stationsNear(latitude: $lat, longitude: $lng, radiusM: $radius, filter: $filter) {
    id name distanceM connectorCounts { total available charging faulted unavailable }
  }
}
"""


async def test_stations_near_are_sorted_with_live_counts(server):
    # given: two stations 1 km and 3 km north of a point, one with a charging and a faulted connector
    lat, lng = region()
    near = await server.builders.station("近站", lat + 0.009, lng)
    far = await server.builders.station("远站", lat + 0.027, lng)
    await server.builders.station("太远", lat + 0.2, lng)
    pile = await server.builders.charge_point(near)
    await server.builders.charge_point(far)
    client = await StrictChargePoint.connect(server.ocpp_url(pile.id))
    await client.status(1, "Charging")
    await client.status(2, "Faulted", error_code="OverCurrentFailure")
    await client.close()

    # when
    result = await data(server.base_url, NEAR, {"lat": lat, "lng": lng, "radius": 5000})

    # then
    stations = result["stationsNear"]
    assert [s["name"] for s in stations] == ["近站", "远站"]
    assert 995 < stations[0]["distanceM"] < 1005
    assert 2990 < stations[1]["distanceM"] < 3010
    assert stations[0]["connectorCounts"] == {"total": 2, "available": 0, "charging": 1, "faulted": 1, "unavailable": 0}
    assert stations[1]["connectorCounts"] == {"total": 2, "available": 0, "charging": 0, "faulted": 0, "unavailable": 2}


async def test_map_filters_available_type_and_power(server):
    # given
    lat, lng = region()
    dc_station = await server.builders.station("快充站", lat, lng)
    ac_station = await server.builders.station("慢充站", lat + 0.001, lng)
    dc = await server.builders.charge_point(dc_station, [(ConnectorType.GBT_DC, 120_000)])
    ac = await server.builders.charge_point(ac_station, [(ConnectorType.GBT_AC, 7_000)])
    for pile in (dc, ac):
        client = await StrictChargePoint.connect(server.ocpp_url(pile.id))
        await client.status(1, "Available")
        await client.close()

    async def names(flt: dict) -> list[str]:
        result = await data(server.base_url, NEAR, {"lat": lat, "lng": lng, "radius": 1000, "filter": flt})
        return [s["name"] for s in result["stationsNear"]]

    # when / then
    assert await names({"availableNow": True}) == ["快充站", "慢充站"]
    assert await names({"connectorTypes": ["GBT_DC"]}) == ["快充站"]
    assert await names({"minPowerW": 60000}) == ["快充站"]
    assert await names({"name": "慢"}) == ["慢充站"]
    client = await StrictChargePoint.connect(server.ocpp_url(dc.id))
    await client.status(1, "Charging")
    await client.close()
    assert await names({"availableNow": True, "connectorTypes": ["GBT_DC"]}) == []


async def test_bad_coordinates_give_a_typed_error(server):
    # when
    body = await gql(server.base_url, NEAR, {"lat": 91.0, "lng": 0.0, "radius": 100})

    # then
    assert body["data"] is None
    assert len(body["errors"]) == 1
    assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"


BOX = """
query Box($s: Float!, $w: Float!, $n: Float!, $e: Float!) {
  stationsInBox(south: $s, west: $w, north: $n, east: $e) {
    id name latitude longitude connectorCounts { total available }
    chargePoints {
      id online vendor status
      connectors { id connectorNo kind maxPowerW status activeSession { id energyWh } }
    }
  }
}
"""


async def test_station_tree_costs_a_constant_number_of_queries(server):
    # given: two regions, with 2 and 6 stations of 2 piles each
    async def fill(stations: int) -> dict:
        lat, lng = region()
        for i in range(stations):
            station = await server.builders.station(f"站{i}", lat + i * 0.001, lng)
            for _ in range(2):
                await server.builders.charge_point(station)
        return {"s": lat - 0.01, "w": lng - 0.01, "n": lat + 0.05, "e": lng + 0.01}

    small, large = await fill(2), await fill(6)

    # when
    with count_queries() as small_queries:
        small_result = await data(server.base_url, BOX, small)
    with count_queries() as large_queries:
        large_result = await data(server.base_url, BOX, large)

    # then
    assert len(small_result["stationsInBox"]) == 2
    assert len(large_result["stationsInBox"]) == 6
    assert sum(len(s["chargePoints"]) for s in large_result["stationsInBox"]) == 12
    assert len(large_queries) == len(small_queries) == 5, large_queries


async def test_station_detail_and_charge_point(server):
    # given
    station = await server.builders.station("详情站")
    pile = await server.builders.charge_point(station)
    client = await StrictChargePoint.connect(server.ocpp_url(pile.id))
    await client.boot()

    # when
    result = await data(
        server.base_url,
        """query($id: ID!, $cp: ID!) {
             station(id: $id) { name address openingHours kind chargePoints { id } }
             chargePoint(id: $cp) { id online protocol vendor modelName firmwareVersion station { name }
                                    connectors { connectorNo kind maxPowerW } }
             missing: station(id: "999999") { id }
           }""",
        {"id": station.id, "cp": pile.id},
    )

    # then
    assert result["station"] == {
        "name": "详情站", "address": "测试地址", "openingHours": "00:00-24:00", "kind": "CHARGING",
        "chargePoints": [{"id": pile.id}],
    }
    assert result["chargePoint"] == {
        "id": pile.id, "online": True, "protocol": "ocpp1.6", "vendor": "TestVendor", "modelName": "DC120",
        "firmwareVersion": "1.0.0", "station": {"name": "详情站"},
        "connectors": [
            {"connectorNo": 1, "kind": "GBT_DC", "maxPowerW": 120000},
            {"connectorNo": 2, "kind": "GBT_AC", "maxPowerW": 7000},
        ],
    }
    assert result["missing"] is None
    await client.close()


def _station_ids_counted(statements: list[str]) -> list[int]:
    """How many stations each connector-count statement asked for (its ``station_id IN (…)`` list)."""
    sizes = []
    for statement in statements:
        if "connector" in statement and (found := re.search(r"station_id\W*\s+IN\s*\(([^)]*)\)", statement)):
            sizes.append(found.group(1).count(",") + 1)
    return sizes


async def test_connectors_are_counted_only_for_the_stations_answered(server):
    # given: six stations in a row, each with a pile
    lat, lng = region()
    for i in range(6):
        await server.builders.charge_point(await server.builders.station(f"排{i}", lat + i * 0.001, lng))
    query = NEAR.replace("filter: $filter)", "filter: $filter, first: 2)")

    # when
    with count_queries() as statements:
        result = await data(server.base_url, query, {"lat": lat, "lng": lng, "radius": 5000})

    # then: the station search, and one count of the two stations answered
    assert [s["name"] for s in result["stationsNear"]] == ["排0", "排1"]
    assert result["stationsNear"][1]["connectorCounts"]["total"] == 2
    assert len(statements) == 2, statements
    assert _station_ids_counted(statements) == [2]


async def test_a_filter_that_turns_the_nearest_down_reads_further_in_chunks(server):
    # given: two AC stations nearest, a DC one behind them
    lat, lng = region()
    for i in range(2):
        station = await server.builders.station(f"交流{i}", lat + i * 0.001, lng)
        await server.builders.charge_point(station, [(ConnectorType.GBT_AC, 7_000)])
    dc_station = await server.builders.station("直流", lat + 0.003, lng)
    await server.builders.charge_point(dc_station, [(ConnectorType.GBT_DC, 120_000)])
    query = NEAR.replace("filter: $filter)", "filter: $filter, first: 1)")

    # when
    with count_queries() as statements:
        result = await data(
            server.base_url, query, {"lat": lat, "lng": lng, "radius": 5000, "filter": {"connectorTypes": ["GBT_DC"]}}
        )

    # then: the nearest (first: 1) turned down, then the rest in one chunk
    assert [s["name"] for s in result["stationsNear"]] == ["直流"]
    assert _station_ids_counted(statements) == [1, 2]


async def test_the_viewer_is_read_once_however_many_live_sessions_answer(server):
    # given: a station whose four connectors all charge
    lat, lng = region()
    station = await server.builders.station("忙站", lat, lng)
    clients = []
    for _ in range(2):
        pile = await server.builders.charge_point(station)
        client = await StrictChargePoint.connect(server.ocpp_url(pile.id))
        for connector in (1, 2):
            await client.start(connector, await server.builders.id_tag(), meter_start=0)
        clients.append(client)
    variables = {"s": lat - 0.01, "w": lng - 0.01, "n": lat + 0.01, "e": lng + 0.01}

    # when
    with count_queries() as anonymous:
        await data(server.base_url, BOX, variables)
    with count_queries() as as_admin:
        result = await data(server.base_url, BOX, variables, token=server.admin_token)

    # then: the admin's answer shows the four sessions, for two more statements (the user and their grants)
    connectors = [c for cp in result["stationsInBox"][0]["chargePoints"] for c in cp["connectors"]]
    assert sum(c["activeSession"] is not None for c in connectors) == 4
    assert len(as_admin) == len(anonymous) + 2, as_admin
    for client in clients:
        await client.close()
