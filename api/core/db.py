"""Database wiring (tortoise-orm) and the unit of work that publishes events after commit.

``UnitOfWork.begin()`` opens one transaction and hands out an outbox; events put in the outbox are
published on the bus only when the transaction commits, so a subscriber never sees a rolled-back
change and never misses a committed one (DESIGN §5).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from tortoise import Tortoise
from tortoise.context import TortoiseContext
from tortoise.transactions import in_transaction

from api.core.bus import Event, EventBus

log = logging.getLogger(__name__)

MODELS_MODULE = "api.models"


def tortoise_config(database_url: str) -> dict[str, Any]:
    url = database_url
    if url.startswith("mysql://") and "charset=" not in url:
        url += ("&" if "?" in url else "?") + "charset=utf8mb4"
    return {
        "connections": {"default": url},
        "apps": {"models": {"models": [MODELS_MODULE], "default_connection": "default"}},
        "use_tz": True,
        "timezone": "UTC",
    }


async def open_database(database_url: str, *, create_schema: bool = True) -> TortoiseContext:
    """Connect, and create missing tables (``safe``) on the embedded default.

    The returned context is also the process-wide fallback, because uvicorn runs the lifespan in
    another task than the requests, and tortoise keeps its state in a context variable.
    """
    ctx = await Tortoise.init(config=tortoise_config(database_url), _enable_global_fallback=True)
    if create_schema:
        await Tortoise.generate_schemas(safe=True)
    return ctx


@dataclass
class Outbox:
    items: list[tuple[str, Event]] = field(default_factory=list)

    def publish(self, channel: str, event: Event) -> None:
        self.items.append((channel, event))


class UnitOfWork:
    def __init__(self, bus: EventBus) -> None:
        self.bus = bus

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[Outbox]:
        outbox = Outbox()
        async with in_transaction():
            yield outbox
        for channel, event in outbox.items:
            await self.bus.publish(channel, event)
