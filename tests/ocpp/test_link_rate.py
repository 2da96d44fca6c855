"""A per-pile call rate limit, so one broken pile cannot starve the others.

Each pile's calls pass a token bucket (CHARGEOPS_OCPP_RATE_PER_S calls/s, bursts of CHARGEOPS_OCPP_RATE_BURST). A call over the limit gets
``GenericError`` "rate limited; retry later" (OCPP-J has no code of its own for it; see ``api.ocpp.connection``),
a pile that keeps flooding is closed with 1008, and meanwhile another pile's answers stay prompt.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from websockets.exceptions import ConnectionClosed

from api.ocpp.connection import TokenBucket
from tests.support.cp_client import StrictChargePoint
from tests.support.cp_client_v201 import StrictChargingStation

OTHER_PILE_BOUND_S = 1.0
"""How long another pile may wait for an answer while one pile floods (they take a few ms when calm)."""


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_bucket_allows_a_burst_then_the_rate_and_spots_a_flood():
    # given
    clock = FakeClock()
    bucket = TokenBucket(rate=20, burst=60, clock=clock)

    # when / then: a burst of 60 passes, the 61st waits for a token
    assert all(bucket.take() for _ in range(60))
    assert not bucket.take()
    assert bucket.wait_s() == pytest.approx(0.05)
    # a second later 20 more pass
    clock.t += 1
    assert sum(bucket.take() for _ in range(40)) == 20
    assert not bucket.flooding
    # ignoring the refusals: more refused calls than a burst, faster than they drain, is a flood
    assert sum(bucket.take() for _ in range(60)) == 0
    assert bucket.flooding
    # and a pause ends it
    clock.t += 10
    assert bucket.take() and not bucket.flooding


def test_rate_zero_means_no_limit():
    bucket = TokenBucket(rate=0, burst=1)
    assert all(bucket.take() for _ in range(1000))


async def test_a_pile_calling_within_its_burst_is_never_limited(server):
    # given
    cp = await server.builders.charge_point()
    pile = await StrictChargePoint.connect(server.ocpp_url(cp.id))
    await pile.boot()

    # when: a pile flushes kept messages one after the other, as fast as we answer
    kept = server.services.settings.ocpp_rate_burst - 5
    answers = [await pile.call("Heartbeat", {}) for _ in range(kept)]

    # then
    assert len(answers) == kept
    await pile.close()


@pytest.mark.parametrize("client", [pytest.param(StrictChargePoint, id="1.6"),
                                    pytest.param(StrictChargingStation, id="2.0.1")])
async def test_a_flooding_pile_is_refused_then_closed_and_another_pile_stays_prompt(server, client):
    # given: a calm pile, and a pile that sends calls without waiting for answers (OCPP-J forbids it)
    calm_cp, flood_cp = await server.builders.charge_point(), await server.builders.charge_point()
    calm = await client.connect(server.ocpp_url(calm_cp.id))
    await calm.boot()
    flood = await client.connect(server.ocpp_url(flood_cp.id))
    await flood.boot()

    rate, burst = server.services.settings.ocpp_rate_per_s, server.services.settings.ocpp_rate_burst
    sent = 3 * burst + 100

    elapsed = [0.0]

    async def flooding() -> tuple[list[list], int | None]:
        started = time.perf_counter()
        for n in range(sent):
            await flood.send_raw(json.dumps([2, f"f{n}", "Heartbeat", {}]))
        answers = []
        try:
            while True:
                answers.append(await flood.next_frame(10))
        except ConnectionClosed as closed:
            elapsed[0] = time.perf_counter() - started
            return answers, closed.rcvd.code if closed.rcvd else None

    async def calm_calls() -> list[float]:
        waits = []
        for _ in range(25):
            started = time.perf_counter()
            await calm.call("Heartbeat", {})
            waits.append(time.perf_counter() - started)
            await asyncio.sleep(0.02)
        return waits

    # when
    (answers, code), waits = await asyncio.gather(flooding(), calm_calls())

    # then: the flood got its burst answered, then GenericError "rate limited", then a 1008 close
    results = [a for a in answers if a[0] == 3]
    refused = [a for a in answers if a[0] == 4]
    assert burst <= len(results) <= burst + rate * (elapsed[0] + 0.5), (len(results), elapsed)
    assert refused and {a[2] for a in refused} == {"GenericError"}
    assert "rate limited" in refused[0][3] and refused[0][4]["retryAfterS"] > 0
    # every call answered once, in the order sent (refills let a few through between the refusals)
    assert [a[1] for a in answers] == [f"f{n}" for n in range(len(answers))]
    assert all(a[0] == 3 for a in answers[:burst])
    assert len(answers) < sent
    assert code == 1008
    # and the calm pile was answered every time, promptly
    assert len(waits) == 25
    assert max(waits) < OTHER_PILE_BOUND_S, waits
    await calm.close()
