"""Facts about orders, published after commit on ``order:<id>`` (and the session's channel for its cost)."""

from __future__ import annotations

from dataclasses import dataclass

from api.core.bus import Event


@dataclass(frozen=True)
class OrderChanged(Event):
    order_id: int
    status: str
    cap_fen: int
    paid_fen: int
    cost_fen: int
    due_fen: int | None
    refund_fen: int
    session_id: int | None
    failure: str = ""
    failure_code: str = ""
    """An ``api.orders.rules.FailureCode`` value, or empty while nothing failed."""


@dataclass(frozen=True)
class SessionCostChanged(Event):
    """The running cost of a session under its order, against the order's cap."""

    session_id: int
    order_id: int
    cost_fen: int
    cap_fen: int
    energy_wh: int
