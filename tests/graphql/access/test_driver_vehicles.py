"""A driver's own list of vehicles (the mini-programs' "me" page), and what listing one does not do."""

from __future__ import annotations

from api.models.enums import Role
from tests.support.cp_client import StrictChargePoint
from tests.support.gql_client import data, gql

VEHICLES = "{ me { vehicles { id plate vin } } }"


async def test_a_driver_lists_and_removes_vehicles(server):
    _, token = await server.builders.person(Role.DRIVER)

    added = (await data(server.base_url, 'mutation { addVehicle(plate: "浙a·d12345") { plate vin createdAt } }',
                        token=token))["addVehicle"]
    assert (added["plate"], added["vin"]) == ("浙AD12345", None)
    await data(server.base_url, 'mutation { addVehicle(plate: "沪B12345", vin: "lfv2a21k6m3000777") { id } }',
               token=token)

    listed = (await data(server.base_url, VEHICLES, token=token))["me"]["vehicles"]
    assert [(v["plate"], v["vin"]) for v in listed] == [("浙AD12345", None), ("沪B12345", "LFV2A21K6M3000777")]

    assert (await data(server.base_url, "mutation($id: ID!) { removeVehicle(id: $id) }", {"id": listed[0]["id"]},
                       token=token))["removeVehicle"] is True
    assert [v["plate"] for v in (await data(server.base_url, VEHICLES, token=token))["me"]["vehicles"]] == ["沪B12345"]


async def test_bad_vehicles_are_refused_with_reasons(server):
    _, token = await server.builders.person(Role.DRIVER)
    _, other = await server.builders.person(Role.DRIVER)
    await data(server.base_url, 'mutation { addVehicle(plate: "浙A12345") { id } }', token=token)

    async def refused(mutation: str, who: str | None = token) -> tuple[str, str]:
        body = await gql(server.base_url, mutation, token=who)
        error = body["errors"][0]
        return error["extensions"]["code"], error["message"]

    assert (await refused("mutation { addVehicle { id } }"))[0] == "INVALID_INPUT"
    code, message = await refused('mutation { addVehicle(plate: "A12345") { id } }')
    assert code == "INVALID_INPUT" and "number plate" in message
    code, message = await refused('mutation { addVehicle(vin: "LFV2A21K6M300000I") { id } }')
    assert code == "INVALID_INPUT" and "VIN" in message
    code, message = await refused('mutation { addVehicle(plate: "浙a12345") { id } }')
    assert code == "INVALID_INPUT" and "already" in message
    assert (await refused('mutation { addVehicle(plate: "浙A12345") { id } }', None))[0] == "UNAUTHENTICATED"

    # another person cannot remove it, and learns nothing about whether it exists
    mine = (await data(server.base_url, VEHICLES, token=token))["me"]["vehicles"][0]["id"]
    code, _ = await refused(f'mutation {{ removeVehicle(id: "{mine}") }}', other)
    assert code == "NOT_FOUND"
    assert len((await data(server.base_url, VEHICLES, token=token))["me"]["vehicles"]) == 1


async def test_listing_someone_elses_vin_shows_and_opens_nothing(server):
    # given: a registered vehicle that charged at a station
    station = await server.builders.station()
    pile = await server.builders.charge_point(station)
    vin = await server.builders.vehicle()
    client = await StrictChargePoint.connect(server.ocpp_url(pile.id))
    try:
        await client.boot()
        await client.start(1, vin, 1000)
    finally:
        await client.close()

    # when: a stranger lists that VIN as theirs
    _, stranger = await server.builders.person(Role.DRIVER)
    await data(server.base_url, "mutation($v: String!) { addVehicle(vin: $v) { id } }", {"v": vin}, token=stranger)

    # then: the vehicle's sessions stay hidden from them
    sessions = (await data(server.base_url, "{ sessions(filter: {vin: %s}) { edges { node { id } } } }"
                           % f'"{vin}"', token=stranger))["sessions"]["edges"]
    assert sessions == []
