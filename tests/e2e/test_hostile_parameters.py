"""Absurd generator and distribution parameters: each spec either works or is refused as a
spec problem (exit 2, file and path named) — never the unexpected-error exit (70), never numpy
quietly computing with infinities."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.xdist_group("cli")

BASE = """\
dataset: f
seed: 1
reference_date: 2026-01-01
tables:
  p:
    rows: 20
    primary_key: id
    columns:
      id: {type: int, generator: sequence}
  t:
    rows: 30
    primary_key: id
    columns:
      id: {type: int, generator: sequence}
      x: COLUMN
"""

COLUMNS = [
    "{type: int, generator: integer, min: -1.0e+30, max: 1.0e+30}",
    "{type: int, generator: integer, min: 0, max: .inf}",
    "{type: float, generator: float, distribution: normal, mean: .inf, std: 1}",
    "{type: float, generator: float, distribution: normal, mean: .nan, std: 1}",
    "{type: float, generator: float, min: 1.0e+308, max: 1.7e+308}",
    "{type: 'decimal(1000,2)', generator: decimal, min: 0, max: 1}",
    "{type: 'decimal(10,2)', generator: decimal, min: -1.0e+30, max: 1.0e+30}",
    "{type: 'decimal(99999999999999999999,2)', generator: decimal}",
    "{type: int, generator: sequence, start: 9223372036854775800, step: 1000}",
    "{type: int, generator: sequence, start: 1.0e+300}",
    "{type: string, generator: choice, values: [a, b], weights: [-1, 2]}",
    "{type: string, generator: choice, values: [a, b], weights: [.inf, 2]}",
    "{type: string, generator: choice, values: [a, b], weights: [0, 0]}",
    "{type: string, generator: choice, values: []}",
    "{type: string, generator: pattern, pattern: '" + "#" * 5000 + "', unique: true}",
    "{type: string, generator: pattern, pattern: '" + "?" * 40 + "', unique: true}",
    "{type: date, generator: date, start: -100000y, end: today}",
    "{type: timestamp, generator: timestamp, start: -1000000000d}",
    "{type: string, generator: text, max_chars: 1000000000000}",
    "{type: int, references: p, null_ratio: .nan}",
    "{type: int, references: p, distribution: zipf, a: .inf}",
    "{type: int, generator: integer, distribution: poisson, lam: 1.0e+300}",
    "{type: float, generator: float, distribution: lognormal, mean: 1000, sigma: 100}",
    "{type: string, generator: phone, format: '" + "#" * 3000 + "'}",
    "{type: json, generator: json, fields: {'': {generator: sequence}}}",
    "{type: string, generator: iban, country: XX}",
    "{type: string, mask: {strategy: partial, keep_last: -5}, generator: first_name}",
    "{type: string, generator: first_name, expect: [{type: expect_column_values_to_match_regex,"
    " regex: '(('}]}",
    "{type: 'decimal(-1,2)', generator: decimal}",
]
SPECS = [BASE.replace("COLUMN", c) for c in COLUMNS] + [
    BASE.replace("seed: 1", "seed: 1\nlocales: {en_US: .nan}"),
    BASE.replace("reference_date: 2026-01-01", "reference_date: 0001-01-01").replace(
        "COLUMN", "{type: date, generator: date, start: -5y}"
    ),
    BASE.replace("reference_date: 2026-01-01", "reference_date: 9999-12-31").replace(
        "COLUMN", "{type: date, generator: date, start: -5y, end: +5y}"
    ),
    BASE.replace("rows: 30", "rows: {per: p, distribution: uniform, min: 0, max: 1.0e+300}"),
    BASE.replace("rows: 30", "rows: {per: t}"),
]


@pytest.mark.filterwarnings("error::RuntimeWarning")  # numpy computing garbage (inf / inf)
@pytest.mark.parametrize("text", SPECS, ids=[f"spec{i}" for i in range(len(SPECS))])
def test_absurd_parameters_work_or_are_spec_problems(text, cli, tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(text.replace("COLUMN", "{type: int, references: p}"))
    for args in (["generate", spec, "--out", tmp_path / "out"], ["scan", spec]):
        result = cli(*args)
        assert result.code in (0, 1, 2), (args, result.err)  # 1: scan found unmasked PII
        if result.code == 2:
            assert result.err.startswith(f"error: {spec}: "), result.err
