"""Limits on refused handshakes, over real sockets: per source address and per claimed pile, answered 429 with
Retry-After before any password check or database write, counted, and summed into one SecurityEvent per pile
and window; a pile with the right password is not locked out by someone hammering its id from elsewhere.

Each test runs a second node (``tests/ocpp/_listener.py``) with small limits and a short window; addresses other
than 127.0.0.1 come from ``X-Forwarded-For`` on a node that trusts proxy headers.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from prometheus_client import REGISTRY
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from api.access.passwords import hash_password
from api.ocpp.server import THROTTLED
from api.settings import Settings
from tests.ocpp._listener import basic, second_node

PASSWORD = "Limits-Password-01"
WRONG = "Wrong-Password-0001"
WINDOW_S = 2


async def answer(url: str, headers: dict[str, str] | None = None) -> Any:
    """The HTTP status of the upgrade (101 when the pile got in), with the response of a refusal."""
    try:
        ws = await connect(url, subprotocols=["ocpp1.6"], additional_headers=headers, open_timeout=5)  # type: ignore[list-item]
    except InvalidStatus as refused:
        return refused.response
    await ws.close()
    return None


async def status(url: str, headers: dict[str, str] | None = None) -> int:
    response = await answer(url, headers)
    return 101 if response is None else int(response.status_code)


def from_address(address: str, headers: dict[str, str]) -> dict[str, str]:
    return {"X-Forwarded-For": address, **headers}


async def secured_pile(server: Any) -> str:
    cp = await server.builders.charge_point()
    await server.services.charge_points.set_password_hash(cp.id, await hash_password(PASSWORD))
    await server.services.charge_points.set_security_profile(cp.id, 1)
    return str(cp.id)


async def security_events(server: Any, charge_point_id: str) -> list[dict[str, Any]]:
    events = await server.services.charge_points.events(charge_point_id)
    return [e.payload for e in reversed(events) if e.kind == "SecurityEvent"]


async def summary(server: Any, charge_point_id: str) -> dict[str, Any]:
    """The window's summary SecurityEvent, written when the window ends."""
    deadline = time.monotonic() + WINDOW_S + 10
    while time.monotonic() < deadline:
        found = [e for e in await security_events(server, charge_point_id) if e["reason"] == THROTTLED]
        if found:
            assert len(found) == 1, found
            return found[0]
        await asyncio.sleep(0.2)
    raise AssertionError("no summary SecurityEvent")


def sample(name: str, labels: dict[str, str] | None = None) -> float:
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


def throttled(limit: str) -> float:
    return sample("chargeops_ocpp_handshakes_throttled_total", {"limit": limit})


async def test_an_address_past_its_limit_is_answered_429_at_once(server):
    # given: a node allowing 3 refusals per address and window
    cp = await secured_pile(server)
    async with second_node(server, ocpp_handshake_failures_per_address=3, ocpp_handshake_failures_per_pile=0,
                           ocpp_handshake_window_s=WINDOW_S) as node:
        wrong_before = sample("chargeops_ocpp_handshake_refusals_total", {"reason": "wrong_credentials"})
        throttled_before = throttled("address")

        # when: a stranger guesses four times, then tries the right password and an unknown id
        guesses = [await status(node.ocpp_url(cp), basic(cp, WRONG)) for _ in range(4)]
        right = await answer(node.ocpp_url(cp), basic(cp, PASSWORD))
        unknown = await status(node.ocpp_url("NO-SUCH-PILE-LIMITS"))

        # then: three checked and refused, then 429 with Retry-After for everything from that address
        assert guesses == [401, 401, 401, 429]
        assert right.status_code == 429 and 1 <= int(right.headers["Retry-After"]) <= WINDOW_S
        assert unknown == 429
        assert throttled("address") == throttled_before + 3
        # the 429s checked no password and wrote no row: three refusals counted, three rows
        assert sample("chargeops_ocpp_handshake_refusals_total", {"reason": "wrong_credentials"}) == wrong_before + 3
        assert [e["reason"] for e in await security_events(server, cp)][:3] == ["wrong_credentials"] * 3

        # then: one summary when the window ends; after it, the right password gets in
        summed = await summary(server, cp)
        assert (summed["refused"], summed["throttled"], summed["remotes"]) == (3, 2, ["127.0.0.1"])
        assert len(await security_events(server, cp)) == 4
        assert await status(node.ocpp_url(cp), basic(cp, PASSWORD)) == 101


async def test_a_piles_own_address_is_not_throttled_by_others_refused_from_it(server):
    # given: a pile that connected from 127.0.0.1, and a node allowing 2 refusals per address
    cp = await secured_pile(server)
    other = await secured_pile(server)
    async with second_node(server, ocpp_handshake_failures_per_address=2, ocpp_handshake_failures_per_pile=0,
                           ocpp_handshake_window_s=30) as node:
        assert await status(node.ocpp_url(cp), basic(cp, PASSWORD)) == 101

        # when: someone behind the same address (a shared NAT) burns the address's refusals on another pile
        assert [await status(node.ocpp_url(other), basic(other, WRONG)) for _ in range(3)] == [401, 401, 429]

        # then: the pile, known at that address, still gets in; the other pile, never seen there, waits
        assert await status(node.ocpp_url(cp), basic(cp, PASSWORD)) == 101
        assert await status(node.ocpp_url(other), basic(other, PASSWORD)) == 429


async def test_a_pile_hammered_from_other_addresses_still_gets_in_with_its_password(server):
    # given: a node behind a proxy allowing 3 refusals per pile and window (no address limit)
    cp = await secured_pile(server)
    attacker, second_attacker, pile_address = "203.0.113.7", "203.0.113.8", "198.51.100.9"
    async with second_node(server, trust_proxy_headers=True, ocpp_handshake_failures_per_address=0,
                           ocpp_handshake_failures_per_pile=3, ocpp_handshake_window_s=WINDOW_S) as node:
        throttled_before = throttled("pile")
        summed_before = sample("chargeops_ocpp_handshake_refusals_summed_total")

        # when: one address guesses the pile's password 4 times, then another address once
        first = [await status(node.ocpp_url(cp), from_address(attacker, basic(cp, WRONG))) for _ in range(4)]
        second = await status(node.ocpp_url(cp), from_address(second_attacker, basic(cp, WRONG)))
        # and the pile itself connects from its own address
        pile = await status(node.ocpp_url(cp), from_address(pile_address, basic(cp, PASSWORD)))

        # then: the guessing address is cut off after the pile's limit, the new one is still checked (401), and
        # the pile, which failed nothing, gets in at once
        assert first == [401, 401, 401, 429]
        assert second == 401
        assert pile == 101
        assert throttled("pile") == throttled_before + 1
        assert sample("chargeops_ocpp_handshake_refusals_summed_total") == summed_before + 1

        # then: three refusals recorded one by one (they name their address), the rest in one summary
        summed = await summary(server, cp)
        events = await security_events(server, cp)
        assert [e["reason"] for e in events] == ["wrong_credentials"] * 3 + [THROTTLED]
        assert {e["remote"] for e in events[:3]} == {attacker}
        assert (summed["refused"], summed["throttled"]) == (4, 1)
        assert summed["not_recorded_one_by_one"] == {"wrong_credentials": 1}
        assert summed["remotes"] == [attacker, second_attacker]

        # then: a new window checks the guessing address again
        assert await status(node.ocpp_url(cp), from_address(attacker, basic(cp, WRONG))) == 401


async def test_the_address_is_the_peer_unless_proxy_headers_are_trusted(server):
    # given: a pile refused from 127.0.0.1 with a forged X-Forwarded-For (uvicorn rewrites the scope's client
    # from it for 127.0.0.1, its default trusted proxy)
    cp = await secured_pile(server)
    async with second_node(server) as node:
        assert await status(node.ocpp_url(cp), from_address("192.0.2.1", basic(cp, WRONG))) == 401
    async with second_node(server, trust_proxy_headers=True) as node:
        assert await status(node.ocpp_url(cp), from_address("192.0.2.1, 192.0.2.2", basic(cp, WRONG))) == 401

    # then: not believed by default; behind a trusted proxy, its own entry (the last) counts
    assert [e["remote"] for e in await security_events(server, cp)] == ["127.0.0.1", "192.0.2.2"]


def test_limit_settings_have_defaults_and_are_read_from_the_environment():
    assert (Settings().ocpp_handshake_failures_per_address, Settings().ocpp_handshake_failures_per_pile,
            Settings().ocpp_handshake_window_s) == (20, 10, 60)
    settings = Settings.from_env({"CHARGEOPS_OCPP_HANDSHAKE_FAILURES_PER_ADDRESS": "0",
                                  "CHARGEOPS_OCPP_HANDSHAKE_FAILURES_PER_PILE": "5",
                                  "CHARGEOPS_OCPP_HANDSHAKE_WINDOW_S": "300"})
    assert (settings.ocpp_handshake_failures_per_address, settings.ocpp_handshake_failures_per_pile,
            settings.ocpp_handshake_window_s) == (0, 5, 300)
    with pytest.raises(ValueError, match="WINDOW_S"):
        Settings.from_env({"CHARGEOPS_OCPP_HANDSHAKE_WINDOW_S": "0"})


def test_both_limits_show_in_metrics_from_the_start(server):
    samples = {s.labels["limit"] for metric in REGISTRY.collect()
               if metric.name == "chargeops_ocpp_handshakes_throttled" for s in metric.samples
               if s.name.endswith("_total")}
    assert samples == {"address", "pile"}
