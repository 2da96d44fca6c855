"""A 2.0.1 pile is told why the station's access policy refused a valid card: ``NotAtThisLocation`` when the
station never admits it, ``NotAtThisTime`` when its schedule admits it at other times. A station's block
list still says ``Blocked``, and 1.6, which has no such words, still says ``Invalid``."""

from __future__ import annotations

from datetime import datetime, timedelta

from api.core.clock import SHANGHAI
from api.models import ChargingSession
from api.models.enums import AccessMode, AccessRuleEffect
from api.policy import rules
from tests.support.cp_client import StrictChargePoint
from tests.support.cp_client_v201 import StrictChargingStation


async def admin(server):
    return await server.services.access.viewer_from_token(server.admin_token)


def closed_now_open_later() -> list:
    """A schedule window that is in force now (the next hour, Shanghai time) and closes the station."""
    now = datetime.now(SHANGHAI)
    start, end = now - timedelta(minutes=5), now + timedelta(minutes=60)
    days = {start.isoweekday()}
    return [rules.window(days, start.strftime("%H:%M"), end.strftime("%H:%M"), AccessMode.CLOSED)]


async def test_a_private_station_says_not_at_this_location_to_authorize_and_transaction_event(server):
    # given: a private station, one card on its allow-list, one not
    viewer = await admin(server)
    cp = await server.builders.charge_point()
    allowed, stranger = await server.builders.id_tag(), await server.builders.id_tag()
    await server.services.policies.set_policy(viewer, cp.station_id, AccessMode.PRIVATE, [])
    await server.services.policies.add_rule(viewer, cp.station_id, AccessRuleEffect.ALLOW, id_tag=allowed)
    station = await StrictChargingStation.connect(server.ocpp_url(cp.id))
    await station.boot()

    # when
    refused = await station.authorize(stranger)
    admitted = await station.authorize(allowed)
    started = await station.transaction("Started", "tx-private", 0, "Authorized", evse=1, connector=1,
                                        id_token={"idToken": stranger, "type": "ISO14443"})

    # then: every frame valid against the 2.0.1 schemas (the client checks), with the right words
    assert refused["idTokenInfo"]["status"] == "NotAtThisLocation"
    assert admitted["idTokenInfo"]["status"] == "Accepted"
    assert started["idTokenInfo"]["status"] == "NotAtThisLocation"
    session = await ChargingSession.get(charge_point_id=cp.id, pile_transaction_id="tx-private")
    assert session.id_tag_status == "invalid"
    await station.close()


async def test_a_station_closed_now_but_open_later_says_not_at_this_time(server):
    # given: a public station whose schedule closes it for the hour around now
    viewer = await admin(server)
    cp = await server.builders.charge_point()
    card = await server.builders.id_tag()
    await server.services.policies.set_policy(viewer, cp.station_id, AccessMode.PUBLIC, closed_now_open_later())
    station = await StrictChargingStation.connect(server.ocpp_url(cp.id))
    await station.boot()

    # when
    refused = await station.authorize(card)
    started = await station.transaction("Started", "tx-closed", 0, "Authorized", evse=1, connector=1,
                                        id_token={"idToken": card, "type": "ISO14443"})

    # then
    assert refused["idTokenInfo"]["status"] == "NotAtThisTime"
    assert started["idTokenInfo"]["status"] == "NotAtThisTime"
    await station.close()


async def test_a_station_closed_at_all_times_and_a_block_list_keep_their_words(server):
    # given: a closed station (no schedule: never open), and a public one blocking a card
    viewer = await admin(server)
    closed = await server.builders.charge_point()
    await server.services.policies.set_policy(viewer, closed.station_id, AccessMode.CLOSED, [])
    blocking = await server.builders.charge_point()
    card = await server.builders.id_tag()
    await server.services.policies.add_rule(viewer, blocking.station_id, AccessRuleEffect.BLOCK, id_tag=card)
    at_closed = await StrictChargingStation.connect(server.ocpp_url(closed.id))
    at_blocking = await StrictChargingStation.connect(server.ocpp_url(blocking.id))
    for station in (at_closed, at_blocking):
        await station.boot()

    # when
    never = await at_closed.authorize(card)
    blocked = await at_blocking.authorize(card)

    # then
    assert never["idTokenInfo"]["status"] == "NotAtThisLocation"
    assert blocked["idTokenInfo"]["status"] == "Blocked"
    for station in (at_closed, at_blocking):
        await station.close()


async def test_a_16_pile_keeps_saying_invalid(server):
    # given: a station closed now, open later, and a 1.6 pile there
    viewer = await admin(server)
    cp = await server.builders.charge_point()
    card = await server.builders.id_tag()
    await server.services.policies.set_policy(viewer, cp.station_id, AccessMode.PUBLIC, closed_now_open_later())
    pile = await StrictChargePoint.connect(server.ocpp_url(cp.id))
    await pile.boot()

    # when
    answer = await pile.call("Authorize", {"idTag": card})

    # then
    assert answer["idTagInfo"]["status"] == "Invalid"
    await pile.close()
