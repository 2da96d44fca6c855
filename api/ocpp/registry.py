"""Which piles hold a live socket on this node. A reconnect replaces the old socket (DESIGN §4).

``turn(id)`` serialises what a pile's sockets tell the database (online when one starts, offline when the last
one ends), so a socket that closes just as its successor opens can never mark the pile offline after the
successor marked it online.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self) -> None:
        self._live: dict[str, T] = {}
        self._turns: dict[str, tuple[asyncio.Lock, int]] = {}

    def claim(self, charge_point_id: str, connection: T) -> T | None:
        """Make ``connection`` the pile's live one; returns the connection it replaces, if any."""
        previous = self._live.get(charge_point_id)
        self._live[charge_point_id] = connection
        return previous

    def release(self, charge_point_id: str, connection: T) -> bool:
        """Forget ``connection`` if it is still the live one; False when a newer socket already replaced it."""
        if self._live.get(charge_point_id) is connection:
            del self._live[charge_point_id]
            return True
        return False

    @asynccontextmanager
    async def turn(self, charge_point_id: str) -> AsyncIterator[None]:
        """One at a time per pile: the connect and disconnect bookkeeping of its sockets."""
        lock, users = self._turns.get(charge_point_id) or (asyncio.Lock(), 0)
        self._turns[charge_point_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._turns[charge_point_id]
            if users == 1:
                del self._turns[charge_point_id]
            else:
                self._turns[charge_point_id] = (lock, users - 1)

    def is_live(self, charge_point_id: str, connection: T) -> bool:
        return self._live.get(charge_point_id) is connection

    def get(self, charge_point_id: str) -> T | None:
        return self._live.get(charge_point_id)

    def connections(self) -> list[T]:
        return list(self._live.values())

    def __len__(self) -> int:
        return len(self._live)

    def __contains__(self, charge_point_id: object) -> bool:
        return charge_point_id in self._live
