"""Spec problems in the words of the spec: no class names, error codes or internal terms; a
missing file names the nearest one; a key written twice is a problem, a merge key is not."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tdm.core.errors import SpecError
from tdm.plan.loading import load_spec
from tdm.spec.reading import read_yaml, read_yaml_checked
from tests.unit.specs import CUSTOMERS

JARGON = [
    "Input should",
    "Field required",
    "Value error",
    "instance of",
    "valid dictionary",
    "after validation",
    "should have at least",
    "String should",
    "Spec",  # ColumnSpec, TableSpec, MaskSpec, ...
    "model_type",
    "extra_forbidden",
    "literal_error",
    "[key]",
    "<top>",
    "index-based",
    "row index",
    "pydantic",
    "ValidationError",
]
_PLAN = re.compile(r"\bplan\b", re.IGNORECASE)

HEAD = CUSTOMERS
ORDERS = "  orders:\n    rows: 5\n    columns:\n"


def _column(text: str) -> str:
    return HEAD + f"      c: {text}\n"


def _top(line: str) -> str:
    return HEAD.replace("tables:\n", f"{line}\ntables:\n")


SINGLE_MISTAKES = {
    "null-ratio-above-1": _column("{type: int, generator: sequence, null_ratio: 2}"),
    "null-ratio-not-a-number": _column("{type: int, generator: sequence, null_ratio: abc}"),
    "unique-not-a-boolean": _column("{type: int, generator: sequence, unique: maybe}"),
    "mask-not-a-mapping": _column("{type: int, generator: sequence, mask: 5}"),
    "mask-without-strategy": _column("{type: int, generator: sequence, mask: {keep_last: 3}}"),
    "expect-not-a-list": _column("{type: int, generator: sequence, expect: 5}"),
    "empty-sql-type": _column("{type: int, generator: sequence, sql_type: ''}"),
    "description-not-text": _column("{type: int, generator: sequence, description: [1]}"),
    "column-not-a-mapping": _column("int"),
    "column-without-type": _column("{generator: sequence}"),
    "parameter-not-a-number": _column("{type: int, generator: integer, min: abc, max: 5}"),
    "unknown-distribution": _column("{type: int, generator: integer, distribution: gauss}"),
    "values-not-a-list": _column("{type: string, generator: choice, values: 5}"),
    "json-field-not-a-mapping": _column("{type: json, generator: json, fields: {b: 5}}"),
    "min-confidence-zero": _top("masking: {min_confidence: 0}"),
    "masking-default-not-a-mask": _top("masking: {defaults: {email: 5}}"),
    "batch-size-zero": _top("batch_size: 0"),
    "negative-seed": _top("seed: -1"),
    "seed-not-a-number": _top("seed: abc"),
    "locales-not-a-mapping": _top("locales: 5"),
    "source-url-not-text": _top("source: {url: 5}"),
    "no-tables": "dataset: t\ntables: {}\n",
    "tables-not-a-mapping": "dataset: t\ntables: [a]\n",
    "table-not-a-mapping": HEAD + "  orders: 5\n",
    "table-without-columns": HEAD + "  orders:\n    rows: 1\n    columns: {}\n",
    "primary-key-not-a-list": HEAD.replace("primary_key: id", "primary_key: {a: 1}"),
    "source-not-true-or-mapping": HEAD.replace("rows: 10", "source: 5"),
    "rows-per-without-per": HEAD
    + "  orders:\n    rows: {distribution: poisson, lam: 2}\n    columns:\n"
    + "      c: {type: int, references: customers}\n",
    "rows-per-distribution-not-allowed": HEAD
    + "  orders:\n    rows: {per: customers, distribution: normal, mean: 1, std: 1}\n"
    + "    columns:\n      c: {type: int, references: customers}\n",
    "foreign-key-skew-too-small": HEAD
    + ORDERS
    + "      c: {type: int}\n    foreign_keys:\n"
    + "      - {columns: c, references: customers, distribution: zipf, a: 0.5}\n",
    "reference-to-a-drawn-column": HEAD.replace(
        "sequence}\n",
        "sequence}\n      first: {type: string, generator: first_name, unique: true}\n",
    )
    + ORDERS
    + "      f: {type: string, references: customers.first}\n",
    "reference-with-too-many-columns": HEAD
    + ORDERS
    + "      a: {type: int}\n      b: {type: int}\n    foreign_keys:\n"
    + "      - {columns: [a, b], references: customers}\n",
    "reference-to-a-column-that-is-not-a-key": HEAD.replace(
        "sequence}\n", "sequence}\n      tier: {type: string, generator: choice, values: [a, b]}\n"
    )
    + ORDERS
    + "      tier: {type: string, references: customers.tier}\n",
    "not-a-name": HEAD + "      bad-name: {type: int, generator: sequence}\n",
}


@pytest.mark.parametrize("text", SINGLE_MISTAKES.values(), ids=SINGLE_MISTAKES.keys())
def test_a_single_mistake_is_said_in_the_words_of_the_spec(tmp_path, text):
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    problems = info.value.problems
    assert len(problems) == 1, [(p.path, p.message) for p in problems]
    [p] = problems
    assert p.path and p.line, p
    said = f"{p.message}\n{p.hint or ''}\n{info.value}"
    assert not [word for word in JARGON if word in said], said
    assert not _PLAN.search(said), said


# --- a missing file ------------------------------------------------------------------------------


@pytest.fixture
def schemas(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "retail.yaml").write_text("dataset: retail\n")
    (tmp_path / "schemas" / "environments.yaml").write_text("{}\n")
    return tmp_path


@pytest.mark.parametrize(
    ("given", "meant"),
    [
        ("schemas/retial.yaml", "schemas/retail.yaml"),
        ("schemas/retail.yml", "schemas/retail.yaml"),
        ("schemas/retail", "schemas/retail.yaml"),
        ("schema/retail.yaml", "schemas/retail.yaml"),
    ],
)
def test_a_missing_file_names_the_nearest_one(schemas, given, meant):
    with pytest.raises(SpecError) as info:
        read_yaml(Path(given))
    [p] = info.value.problems
    assert (p.message, p.hint) == ("file not found", f'did you mean "{meant}"?')
    assert str(info.value) == (
        f"{given}: 1 problem in the spec\n"
        f"  {given}: file not found\n"
        f'    fix: did you mean "{meant}"?'
    )


def test_a_missing_file_with_nothing_near_says_where_specs_live(schemas):
    with pytest.raises(SpecError) as info:
        read_yaml(Path("schemas/zzzzzz.yaml"))
    assert info.value.problems[0].hint == "check the path; specs live under schemas/"


# --- keys written twice ------------------------------------------------------------------------


def test_a_key_written_twice_is_a_problem_with_both_lines(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(HEAD + "      email: {type: string, generator: email}\n" * 2)
    data, _, [p] = read_yaml_checked(path)
    assert (p.path, p.line) == ("tables.customers.columns.email", 9)
    assert (
        p.message == "'email' is written twice here (lines 8 and 9); only the last one would count"
    )
    assert p.hint == "remove or rename one of them"
    assert list(data["tables"]["customers"]["columns"]) == ["id", "email"]
    with pytest.raises(SpecError, match="written twice"):
        read_yaml(path)


def test_a_merge_key_may_be_overridden(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(
        "base: &base {type: int, generator: integer, min: 1, max: 9}\n"
        "column: {<<: *base, max: 5}\n"
        "list: [{<<: *base, min: 2}, {<<: *base}]\n"
    )
    data, lines = read_yaml(path)
    assert data["column"]["max"] == 5 and data["list"][0]["min"] == 2
    assert lines[("column", "max")] == 2
