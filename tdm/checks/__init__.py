"""PostgreSQL CHECK constraints: what they read and what generation can honour by construction
(tdm.checks.parse and tdm.checks.hints, with sqlglot), and which rows of an Arrow table fail them
(tdm.checks.evaluate, with DuckDB). sqlglot and duckdb are imported on first use, not by
importing this package."""

from tdm.checks.aggregate import Aggregate, aggregates, grouped, placeholder
from tdm.checks.evaluate import computed, failing, to_duckdb, unsupported
from tdm.checks.hints import hints
from tdm.checks.model import ColumnHint, Hints, Pair
from tdm.checks.parse import CheckSyntaxError, columns_of, qualified, unqualified

__all__ = [
    "Aggregate",
    "CheckSyntaxError",
    "ColumnHint",
    "Hints",
    "Pair",
    "aggregates",
    "columns_of",
    "computed",
    "failing",
    "grouped",
    "hints",
    "placeholder",
    "qualified",
    "to_duckdb",
    "unqualified",
    "unsupported",
]
