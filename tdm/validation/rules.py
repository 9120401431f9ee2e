"""Row rules: the `check:` constraints and `when:` conditions of a table (tdm.validation.suite
derives them), checked on each batch in one DuckDB query (tdm.checks.failing), so a version whose
rows break a rule of its own spec fails validation like any other check. A rule passes where it
is true or NULL, as a CHECK constraint does."""

from __future__ import annotations

import pyarrow as pa

from tdm.checks import failing
from tdm.validation.results import EXAMPLES, result_of
from tdm.validation.suite import is_rule


def rule_results(table: str, configs: list[dict], data: pa.Table, start: int) -> dict:
    """Position in `configs` -> the CheckResult of each row rule among them."""
    rules = {i: c for i, c in enumerate(configs) if is_rule(c)}
    if not rules:
        return {}
    bad = failing(data, {str(i): c["kwargs"]["sql"] for i, c in rules.items()})
    out = {}
    for i, cfg in rules.items():
        rows = bad[str(i)]
        out[i] = result_of(
            table,
            cfg,
            len(rows) == 0,
            unexpected_count=len(rows),
            element_count=data.num_rows,
            examples=[start + int(r) for r in rows[:EXAMPLES]],
            details={"engine": "duckdb"},
        )
    return out
