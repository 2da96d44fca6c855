"""A reconnect storm, small: 300 charging piles lose their node at once (SIGKILL) and all come back.

The storm of ``bench/reconnect_storm.py`` (the benchmark prints figures for 2000 piles), with 300 piles and
short intervals: a ``python -m api serve`` process on a SQLite file, every pile in a session with samples
acknowledged, the node killed and started again, the piles reconnecting with randomized back-off and resending
what was not answered. Asserted: every pile is back, every acknowledged sample is stored in its pile's one
session, and no pile has a second session. No time is asserted (DESIGN §8); the figures are printed.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from dataclasses import asdict
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "reconnect_storm.py"


def load_bench():
    spec = importlib.util.spec_from_file_location("reconnect_storm", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


async def test_300_piles_come_back_after_their_node_is_killed_and_nothing_acknowledged_is_lost():
    # given: 300 piles charging on one node, two samples each acknowledged
    bench = load_bench()
    options = bench.Options(piles=300, samples_before=2, samples_after=1, sample_interval_s=2.0,
                            connect_spread_s=3.0, backoff_min_s=0.5, backoff_random_s=3.0, call_timeout_s=30.0)

    # when: the node is killed and started again, and the piles reconnect
    figures = await bench.storm(options)
    print(bench.report(figures, options))

    # then
    assert figures.piles_back == 300, asdict(figures)
    assert figures.acknowledged >= 300 * 3
    assert (figures.missing, figures.stored_acknowledged) == (0, figures.acknowledged)
    assert (figures.sessions, figures.piles_with_more_than_one_session) == (300, 0)
    shutil.rmtree(figures.logs, ignore_errors=True)
