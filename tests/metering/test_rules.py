"""Downsampling rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from api.metering.rules import bucket_seconds, downsample

ORIGIN = datetime(2026, 11, 24, tzinfo=UTC)


def test_four_hours_at_one_second_fit_in_a_few_hundred_points():
    # given
    span = 4 * 3600

    # when
    width = bucket_seconds(span, 300)

    # then
    assert width == 49
    assert span / width <= 300


def test_buckets_keep_min_max_avg_last_and_leave_gaps():
    # given: samples at 0..4 s and 20..21 s
    rows = [(ORIGIN + timedelta(seconds=s), (v,)) for s, v in [(0, 5), (1, 7), (2, 3), (4, None), (20, 10), (21, 12)]]

    # when
    buckets = downsample(rows, ["power_w"], ORIGIN, 10)

    # then
    assert [b.offset_s for b in buckets] == [0, 20]
    first = buckets[0].values["power_w"]
    assert (first.min, first.max, first.avg, first.last, buckets[0].count) == (3, 7, 5.0, 3, 4)
    assert buckets[1].values["power_w"].avg == 11.0


@given(st.lists(st.tuples(st.integers(0, 14_400), st.integers(-10**6, 10**6)), max_size=300),
       st.integers(1, 2000))
def test_no_sample_is_lost_and_buckets_stay_within_the_limit(samples, max_points):
    # given
    rows = sorted((ORIGIN + timedelta(seconds=s), (v,)) for s, v in samples)
    span = max((s for s, _ in samples), default=0)

    # when
    buckets = downsample(rows, ["x"], ORIGIN, bucket_seconds(span, max_points))

    # then
    assert sum(b.count for b in buckets) == len(samples)
    assert len(buckets) <= max_points
    assert all(b.values["x"].min <= b.values["x"].avg <= b.values["x"].max for b in buckets)
