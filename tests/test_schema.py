"""schema/schema.graphql is what the code exports (regenerate: ``chargeops export-schema``)."""

from __future__ import annotations

from pathlib import Path

from api.graphql.schema import export_sdl

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema" / "schema.graphql"


def test_committed_schema_matches_the_code():
    assert SCHEMA_FILE.read_text(encoding="utf-8") == export_sdl(), (
        "schema/schema.graphql is stale: run `chargeops export-schema`"
    )


def test_money_and_meter_fields_carry_their_unit_in_the_name():
    # given: every Int field named after a quantity
    sdl = export_sdl()
    quantity_words = ("energy", "power", "current", "voltage", "soc", "temperature")

    # then: the unit suffix is part of the name (DESIGN §3)
    for line in sdl.splitlines():
        name = line.strip().split(":")[0].split("(")[0]
        if any(name.lower().startswith(w) for w in quantity_words) and ": Int" in line:
            assert name.endswith(("Wh", "W", "Ma", "Mv", "Pct", "Decic")), line
