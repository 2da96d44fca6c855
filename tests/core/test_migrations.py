"""Schema migrations: they describe the models exactly, and upgrade a database of the first version with its data.

Runs on SQLite, and on MariaDB in the MariaDB pass (CHARGEOPS_TEST_DATABASE_URL=mysql://…). Every test here uses
the pass's engine: tortoise's model classes are process-wide, and binding them to SQLite in a MariaDB pass would
leave them building SQLite queries for the session's server.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from tortoise import Tortoise
from tortoise.context import TortoiseContext
from tortoise.migrations.autodetector import MigrationAutodetector

from api.core.db import DatabaseNotMigrated, migrate_database, tortoise_config
from tests.conftest import _drop_mysql_database, _mysql_database

ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = sorted(p.stem for p in (ROOT / "api" / "migrations").glob("0*.py"))


async def test_the_migrations_describe_the_models_exactly(empty_database):
    # a model change without its migration fails here (as `makemigrations` would write one)
    config = tortoise_config(empty_database)
    async with TortoiseContext() as ctx:
        await ctx.init(config=config)
        writers = await MigrationAutodetector(ctx.apps, config["apps"]).changes()
    assert writers == [], "models changed without a migration: run python -m tortoise -c api.core.db.TORTOISE_ORM " \
        "makemigrations --name <what_changed>"


@pytest.fixture
async def empty_database(tmp_path):
    wanted = os.environ.get("CHARGEOPS_TEST_DATABASE_URL", "")
    if wanted.startswith("mysql://"):
        url, name = await _mysql_database(wanted)
        yield url
        await _drop_mysql_database(wanted, name)
    else:
        yield f"sqlite://{tmp_path / 'upgrade.sqlite3'}"


async def _execute(url: str, sql: str, *values: object) -> list[dict]:
    await Tortoise.init(config=tortoise_config(url))
    try:
        connection = Tortoise.get_connection("default")
        if connection.capabilities.dialect == "mysql":
            sql = sql.replace("?", "%s")
        _, rows = await connection.execute_query(sql, list(values))
        return [dict(r) for r in rows]
    finally:
        await Tortoise.close_connections()


async def test_a_database_of_the_first_version_is_upgraded_with_its_data(empty_database):
    assert len(MIGRATIONS) >= 2, MIGRATIONS
    # given: a database at the first version, with an operator, a station and a pile in it
    assert await migrate_database(empty_database, MIGRATIONS[0]) == [MIGRATIONS[0]]
    await _execute(empty_database, "INSERT INTO operator (name, created_at) VALUES (?, ?)", "杭州运营", "2026-01-01 00:00:00")
    operator = (await _execute(empty_database, "SELECT id FROM operator"))[0]["id"]
    await _execute(
        empty_database,
        "INSERT INTO station (operator_id, name, kind, latitude, longitude, address, city, opening_hours, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        operator, "西湖站", "charging", 30.27, 120.16, "中山北路", "杭州", "00:00-24:00", "2026-01-01 00:00:00",
    )

    # when: the node starts with the current code
    applied = await migrate_database(empty_database)

    # then: every later migration ran once, and the data is still there
    assert applied == MIGRATIONS[1:]
    assert await migrate_database(empty_database) == []
    rows = await _execute(empty_database, "SELECT name FROM station")
    assert rows == [{"name": "西湖站"}]


async def test_tables_made_before_migrations_are_refused_with_a_reason(empty_database):
    url = empty_database
    await Tortoise.init(config=tortoise_config(url))
    await Tortoise.generate_schemas()  # how nodes made their tables before migrations existed
    await Tortoise.close_connections()
    with pytest.raises(DatabaseNotMigrated, match="before ChargeOps had migrations"):
        await migrate_database(url)


def test_chargeops_migrate_command(tmp_path):
    env = {**os.environ, "CHARGEOPS_DATABASE_URL": f"sqlite://{tmp_path / 'cli.sqlite3'}"}
    first = subprocess.run([sys.executable, "-m", "api", "migrate"], env=env, cwd=ROOT, capture_output=True, text=True,
                           timeout=120)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == f"applied {', '.join(MIGRATIONS)}"
    again = subprocess.run([sys.executable, "-m", "api", "migrate"], env=env, cwd=ROOT, capture_output=True, text=True,
                           timeout=120)
    assert (again.returncode, again.stdout.strip()) == (0, "the schema is up to date")
