"""Fen, yuan and exact splits by basis points."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.core.money import parse_yuan, share_of, split_by_bp, yuan_str


@pytest.mark.parametrize(("fen", "text"), [(0, "0.00"), (5, "0.05"), (400, "4.00"), (123456, "1234.56"), (-5, "-0.05")])
def test_yuan_strings(fen, text):
    assert yuan_str(fen) == text


@pytest.mark.parametrize("text", ["", "1.234", "-1", "+1", "01", "1e3", "1.", ".5", " 1", "1,00", "NaN"])
def test_only_plain_yuan_amounts_parse(text):
    with pytest.raises(ValueError):
        parse_yuan(text)


@given(st.integers(0, 10**13))
def test_fen_survive_a_round_trip_through_yuan(fen):
    assert parse_yuan(yuan_str(fen)) == fen


def test_the_worked_examples_split_exactly():
    assert split_by_bp(300, {"property": 5000}) == {"property": 150}
    assert split_by_bp(400, {"property": 5000}) == {"property": 200}
    # 3 partners of a third each of 1 fen: one gets it
    assert split_by_bp(1, {"a": 3333, "b": 3333, "c": 3334}) == {"a": 0, "b": 0, "c": 1}
    assert split_by_bp(100, {"a": 3333, "b": 3333, "c": 3333}) == {"a": 33, "b": 33, "c": 33}
    assert share_of(1001, 3000) == 300


shares = st.dictionaries(st.integers(1, 20), st.integers(0, 10_000), max_size=8).filter(
    lambda d: sum(d.values()) <= 10_000)


@given(st.integers(0, 10**10), shares)
def test_a_split_is_exact_and_fair(amount_fen, shares_bp):
    parts = split_by_bp(amount_fen, shares_bp)
    assert set(parts) == set(shares_bp)
    exact_total = amount_fen * sum(shares_bp.values()) / 10_000
    assert 0 <= exact_total - sum(parts.values()) < 1  # the partners' total is the exact total, rounded down
    assert sum(parts.values()) <= amount_fen  # the platform's remainder is never negative
    for key, bp in shares_bp.items():
        assert 0 <= parts[key] and abs(parts[key] - amount_fen * bp / 10_000) < 1
    if sum(shares_bp.values()) == 10_000:
        assert sum(parts.values()) == amount_fen
