"""Which piles hold a live socket on this node. A reconnect replaces the old socket (DESIGN §4)."""

from __future__ import annotations

from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self) -> None:
        self._live: dict[str, T] = {}

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

    def get(self, charge_point_id: str) -> T | None:
        return self._live.get(charge_point_id)

    def connections(self) -> list[T]:
        return list(self._live.values())

    def __len__(self) -> int:
        return len(self._live)

    def __contains__(self, charge_point_id: object) -> bool:
        return charge_point_id in self._live
