"""Money: integer fen everywhere, yuan only at the edges, and exact splits by basis points.

DESIGN §3: amounts are ``int`` fen and their names end in ``_fen``; ratios are basis points (10000 = 100 %);
a split uses the largest-remainder rule so the parts sum to the amount exactly, and the platform (the
caller's ``remainder_to``) takes what is left after the partners' parts.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping
from typing import TypeVar

K = TypeVar("K", bound=Hashable)

FULL_BP = 10_000
_YUAN = re.compile(r"^(0|[1-9]\d{0,11})(?:\.(\d{1,2}))?$")


def yuan_str(amount_fen: int) -> str:
    """``1234`` -> ``"12.34"``; ``-5`` -> ``"-0.05"``."""
    sign = "-" if amount_fen < 0 else ""
    whole, cents = divmod(abs(amount_fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def parse_yuan(text: str) -> int:
    """``"12.34"`` / ``"12.3"`` / ``"12"`` -> fen, exactly; anything else (signs, exponents, three decimals,
    leading zeros) is a ValueError."""
    match = _YUAN.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not an amount of yuan with at most two decimals")
    whole, cents = match.group(1), (match.group(2) or "").ljust(2, "0")
    return int(whole) * 100 + int(cents)


def share_of(amount_fen: int, bp: int) -> int:
    """``amount_fen`` × ``bp`` / 10000, rounded down (the provider's "maximum share" caps round down too)."""
    if not 0 <= bp <= FULL_BP:
        raise ValueError("basis points are 0..10000")
    return amount_fen * bp // FULL_BP


def split_by_bp(amount_fen: int, shares_bp: Mapping[K, int]) -> dict[K, int]:
    """Each key's part of ``amount_fen`` by its basis points, by the largest-remainder rule.

    The shares may sum to less than 10000; what is left (the platform's part) is ``amount_fen - sum(parts)``.
    The partners together get their exact total share rounded down (so the platform's remainder is never
    short), handed out by the largest-remainder rule: every part is its exact share rounded down or up, and ties
    go to the keys in the mapping's order.
    """
    if amount_fen < 0:
        raise ValueError("only amounts of 0 fen or more are split")
    if any(bp < 0 for bp in shares_bp.values()) or sum(shares_bp.values()) > FULL_BP:
        raise ValueError("shares are 0..10000 basis points and sum to at most 10000")
    exact = {key: amount_fen * bp for key, bp in shares_bp.items()}  # in fen/10000
    parts = {key: value // FULL_BP for key, value in exact.items()}
    total_share = sum(exact.values()) // FULL_BP
    left = total_share - sum(parts.values())
    order = sorted(exact, key=lambda key: -(exact[key] % FULL_BP))  # stable: ties keep the mapping's order
    for key in order[:left]:
        parts[key] += 1
    return parts
