"""A paid order on an OCPP 2.0.1 pile, when the driver plugged in before paying (the usual order of things)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from api.models import ChargingSession
from api.models.enums import Role
from tests.orders.test_lifecycle import ONE_YUAN_PER_KWH, until
from tests.support.cp_client_v201 import StrictChargingStation
from tests.support.gql_client import data

START = """mutation($cp: ID!) { r: startCharging(chargePointId: $cp, connectorNo: 1, method: WALLET, capFen: 500)
  { order { id status } } }"""


async def test_a_transaction_open_since_plug_in_becomes_the_orders_session(server):
    # given: a 2.0.1 pile where the cable went in first, so the pile opened a transaction with no one named
    admin = await server.services.access.viewer_from_token(server.admin_token)
    station = await server.builders.station()
    cp = await server.builders.charge_point(station)
    await server.services.tariffs.publish(admin, station.id, ONE_YUAN_PER_KWH, datetime.now(UTC) - timedelta(days=1),
                                          backdate=True)
    driver_id, driver = await server.builders.person(Role.DRIVER)
    await server.services.ledger.top_up(driver_id, "sandbox", 2000, key=f"test-top-up-{uuid.uuid4().hex}")
    pile = await StrictChargingStation.connect(server.ocpp_url(cp.id))
    try:
        await pile.boot()
        await pile.status(1, "Occupied")
        await pile.transaction("Started", "PLUG-1", 0, "CablePluggedIn", charging_state="EVConnected", evse=1,
                               connector=1)
        # the car has been waiting ten minutes (the driver went for a coffee before paying)
        await ChargingSession.filter(charge_point_id=cp.id, pile_transaction_id="PLUG-1").update(
            created_at=datetime.now(UTC) - timedelta(minutes=10))

        # when: the driver pays from the wallet, and the pile takes the remote start into that transaction
        order_id = (await data(server.base_url, START, {"cp": cp.id}, token=driver))["r"]["order"]["id"]
        request = await pile.expect_call("RequestStartTransaction", timeout=10)
        await pile.answer(request, {"status": "Accepted", "transactionId": "PLUG-1"})
        await pile.transaction("Updated", "PLUG-1", 1, "RemoteStart", charging_state="Charging", evse=1,
                               id_token=request[3]["idToken"], remote_start_id=request[3]["remoteStartId"])

        # then: the order follows that session
        order = await until(server, driver, order_id, lambda o: o["status"] == "CHARGING")
        session = (await data(server.base_url, "query($id: ID!) { session(id: $id) { pileTransactionId idTag } }",
                              {"id": order["sessionId"]}, token=driver))["session"]
        assert session == {"pileTransactionId": "PLUG-1", "idTag": request[3]["idToken"]["idToken"]}
    finally:
        await pile.close()
