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
MIGRATIONS_MODULE = "api.migrations"
MIGRATION_LOCK = "chargeops_migrate"
MIGRATION_LOCK_WAIT_S = 300


class DatabaseNotMigrated(Exception):
    """The database's tables were made before migrations existed: nothing can tell which version they are."""


def tortoise_config(database_url: str) -> dict[str, Any]:
    url = database_url
    if url.startswith("mysql://") and "charset=" not in url:
        url += ("&" if "?" in url else "?") + "charset=utf8mb4"
    return {
        "connections": {"default": url},
        "apps": {
            "models": {"models": [MODELS_MODULE], "default_connection": "default", "migrations": MIGRATIONS_MODULE}
        },
        "use_tz": True,
        "timezone": "UTC",
    }


TORTOISE_ORM = tortoise_config("sqlite://chargeops.sqlite3")
"""For tortoise's own CLI (``python -m tortoise -c api.core.db.TORTOISE_ORM makemigrations``)."""


async def open_database(database_url: str, *, migrate: bool = True) -> TortoiseContext:
    """Bring the schema up to date (``migrate_database``), then connect.

    The returned context is also the process-wide fallback, because uvicorn runs the lifespan in
    another task than the requests, and tortoise keeps its state in a context variable.
    """
    if migrate:
        await migrate_database(database_url)
    return await Tortoise.init(config=tortoise_config(database_url), _enable_global_fallback=True)


async def migrate_database(database_url: str, target: str | None = None) -> list[str]:
    """Apply the migrations not applied yet (up to ``target``, e.g. ``0001_initial``); returns their names.

    On MySQL/MariaDB a named lock (GET_LOCK) makes nodes that start together take turns: the first one
    migrates, the others find nothing left to do."""
    from tortoise.migrations.api import migrate

    config = tortoise_config(database_url)
    applied: list[str] = []
    async with _migration_lock(database_url):
        await Tortoise.init(config=config)
        try:
            await _refuse_unversioned_tables(Tortoise.get_connection("default"))
        finally:
            await Tortoise.close_connections()
        await migrate(
            config=config, target=f"models.{target}" if target else None,
            progress=lambda event, app, name: applied.append(name) if event == "apply_done" else None,
        )
        await Tortoise.close_connections()
    if applied:
        log.info("database migrated: %s", ", ".join(applied))
    return applied


async def ping_database() -> None:
    """Raises when the database does not answer (for /readyz)."""
    await Tortoise.get_connection("default").execute_query("SELECT 1")


def is_database_error(error: BaseException) -> bool:
    """An error of the database or of the link to it (for metrics: adapters do not know the ORM)."""
    from tortoise.exceptions import BaseORMException

    return isinstance(error, BaseORMException | ConnectionError)


async def _refuse_unversioned_tables(connection: Any) -> None:
    if connection.capabilities.dialect == "mysql":
        query = "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name IN "
    else:
        query = "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN "
    _, rows = await connection.execute_query(query + "('tortoise_migrations', 'charge_point')")
    found = {next(iter(dict(row).values())) for row in rows}
    if "charge_point" in found and "tortoise_migrations" not in found:
        raise DatabaseNotMigrated(
            "this database's tables were created before ChargeOps had migrations, so its version is unknown: "
            "for the SQLite demo delete the file and let --demo seed it again; otherwise restore a backup into an "
            "empty database after 'chargeops migrate'"
        )


@asynccontextmanager
async def _migration_lock(database_url: str) -> AsyncIterator[None]:
    if not database_url.startswith("mysql://"):
        yield  # SQLite: one file, one process migrating
        return
    import asyncmy
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(database_url)
    conn = await asyncmy.connect(
        host=parts.hostname, port=parts.port or 3306, user=unquote(parts.username or "root"),
        password=unquote(parts.password or ""), database=parts.path.lstrip("/") or None,
    )
    try:
        async with conn.cursor() as cursor:
            await cursor.execute("SELECT GET_LOCK(%s, %s)", (MIGRATION_LOCK, MIGRATION_LOCK_WAIT_S))
            (granted,) = await cursor.fetchone()
            if granted != 1:
                raise TimeoutError(f"another node held the migration lock for {MIGRATION_LOCK_WAIT_S} s")
            try:
                yield
            finally:
                await cursor.execute("SELECT RELEASE_LOCK(%s)", (MIGRATION_LOCK,))
    finally:
        conn.close()


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
