"""The safety net of `tdm introspect`: whatever the planner refuses falls back to a plain
generator (with a warning) until the spec plans."""

from __future__ import annotations

import yaml

from tdm.introspect.fallback import planned


def _spec(columns: dict, **table) -> dict:
    return {
        "dataset": "d",
        "tables": {
            "parent": {
                "rows": 5,
                "primary_key": ["id"],
                "columns": {"id": {"type": "int", "generator": "sequence"}},
            },
            "t": {"rows": 10, "primary_key": ["id"], "columns": columns, **table},
        },
    }


def render(spec: dict) -> str:
    return yaml.safe_dump(spec, sort_keys=False)


def test_a_column_the_planner_refuses_falls_back_and_says_so():
    spec = _spec(
        {
            "id": {"type": "int", "generator": "sequence"},
            "code": {"type": "string", "generator": "regex", "pattern": "^(?=.*[0-9])[a-z]{8}$"},
            "n": {"type": "int", "generator": "integer", "min": 10, "max": 1},
            "fine": {"type": "string", "generator": "city"},
        }
    )
    warnings: list[str] = []
    mended, text = planned(spec, render, warnings)
    columns = mended["tables"]["t"]["columns"]
    assert columns["code"]["generator"] == "pattern" and columns["n"]["generator"] == "integer"
    assert columns["n"]["min"] <= columns["n"]["max"]
    assert columns["fine"] == spec["tables"]["t"]["columns"]["fine"]
    assert len(warnings) == 2 and all("falls back" in w for w in warnings)
    assert yaml.safe_load(text) == mended


def test_a_key_that_cannot_be_unique_by_construction_is_left_to_the_database():
    spec = _spec(
        {
            "id": {"type": "int", "generator": "sequence"},
            "a": {"type": "string", "generator": "city"},
            "b": {"type": "string", "generator": "city"},
        },
        unique=[["a", "b"]],
    )
    warnings: list[str] = []
    mended, _ = planned(spec, render, warnings)
    assert "unique" not in mended["tables"]["t"]
    assert "left to the database" in warnings[0]


def test_a_spec_that_plans_is_returned_unchanged():
    spec = _spec({"id": {"type": "int", "generator": "sequence"}})
    warnings: list[str] = []
    assert planned(spec, render, warnings)[0] == spec and warnings == []


def test_a_unique_key_with_fewer_values_than_rows_lowers_the_rows_not_the_key():
    spec = _spec({"id": {"type": "int", "generator": "sequence"}})
    spec["tables"]["t"]["columns"]["code"] = {
        "type": "string",
        "sql_type": "character(2)",
        "generator": "pattern",
        "pattern": "??",
        "unique": True,
    }
    spec["tables"]["t"]["rows"] = 1000
    warnings: list[str] = []
    mended, _ = planned(spec, render, warnings)
    assert mended["tables"]["t"]["rows"] == 676
    assert mended["tables"]["t"]["columns"]["code"]["pattern"] == "??"
    assert "t gets 676 rows" in warnings[0]
