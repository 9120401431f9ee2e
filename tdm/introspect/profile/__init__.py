"""`tdm introspect --profile`: what the live rows look like, read with SQL aggregates in one
read-only REPEATABLE READ snapshot, and the spec made to follow it with the generators it has.

Copied into the spec: row counts, null rates, rows per parent row, and values only from columns
that do not look personal (tdm.masking.pii) and only values at least `k` rows hold. A range's
bounds are the k-th smallest and k-th largest values, so no bound is a value fewer than `k` rows
reach (with k = 1, the minimum and the maximum); a histogram's edges are quantiles rounded to a
grid and each of its bins holds at least `k` rows. See docs/introspection.md#profiling.
"""

from __future__ import annotations

from typing import Any

from tdm.core.types import parse_type
from tdm.introspect.profile.follow import RANGED, follow
from tdm.introspect.profile.read import ColumnProfile, TableProfile, Want, read_profiles
from tdm.introspect.tables import Shaped
from tdm.introspect.values import STRINGS
from tdm.targets.postgres.catalog import PgTable

__all__ = [
    "MIN_COUNT",
    "ColumnProfile",
    "TableProfile",
    "Want",
    "follow",
    "profile_spec",
    "read_profiles",
]

MIN_COUNT = 10  # k: rows a value must occur in to be copied
_CHOICE_KINDS = ("string", "int", "float", "decimal", "bool")
_AXIS = {"integer": "number", "float": "number", "decimal": "number", "date": "day"}


def profile_spec(
    params: dict[str, Any],
    schema: str,
    pg_tables: dict[str, PgTable],
    spec_tables: dict[str, dict],
    notes: dict[str, dict[str, list[str]]],
    shapes: dict[str, Shaped],
    k: int = MIN_COUNT,
) -> None:
    """Profile the tables of `spec_tables` and make each follow its profile, in place."""
    wanted = {
        t: _wanted(table, pg_tables[t], shapes[t].bounded) for t, table in spec_tables.items()
    }
    profiles = read_profiles(params, schema, wanted, {t: shapes[t].per for t in wanted}, k)
    for t, table in spec_tables.items():
        rows = table["rows"]
        parent = profiles.get(rows["per"]) if isinstance(rows, dict) else None
        parent_rows = parent.rows if parent is not None else None
        follow(table, notes.setdefault(t, {}), profiles[t], parent_rows, shapes[t].hints, k)


def _wanted(table: dict, pg: PgTable, bounded: set[str]) -> dict[str, Want]:
    """Per column worth profiling: what to read of it (tdm.introspect.profile.read.Want)."""
    out = {}
    for name, entry in table["columns"].items():
        gen = entry.get("generator")
        plain = gen is not None and not entry.get("unique") and not entry.get("per_parent")
        plain = plain and name not in table.get("primary_key", [])
        t = pg.columns[name].type.resolved()
        textual = t.kind == "enum" or (t.kind == "base" and t.typname in STRINGS)
        logical = parse_type(entry["type"])
        kind = logical.kind
        choosable = plain and kind in _CHOICE_KINDS and (kind != "string" or textual)
        ranged = plain and gen in RANGED and name not in bounded
        want = Want(
            choice=choosable,
            axis=(_AXIS.get(gen, "second") if ranged else None),
            resolution={"integer": 1.0, "date": 1.0, "timestamp": 1.0}.get(
                gen, 10.0 ** -(logical.scale or 0) if gen == "decimal" else 0.0
            ),
            lengths=plain and kind == "string" and textual,
        )
        if choosable or ranged or want.lengths or "null_ratio" in entry:
            out[name] = want
    return out
