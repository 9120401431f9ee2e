"""`tdm introspect`: a spec from a live PostgreSQL schema, ready to run unedited.

Every table of the schema (or the ones named, with the tables they reference) becomes a spec
table: tables that reference no other get a fixed row count, the others a count per parent row;
every column a generator from its type, name and CHECK constraints (tdm.introspect.values),
keys unique by construction (tdm.introspect.tables), checks kept to verify rows
(tdm.introspect.checks). The result is written as commented YAML (tdm.introspect.render) and
checked by the planner before it is. With `profile`, the live rows are read too and the spec
follows them (tdm.introspect.profile).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import psycopg
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from tdm.core.databases import psycopg_params
from tdm.core.errors import TdmError
from tdm.core.graphs import components
from tdm.core.names import is_name
from tdm.core.urls import hide_password, without_secret
from tdm.introspect.fallback import planned
from tdm.introspect.profile import MIN_COUNT, profile_spec
from tdm.introspect.render import render
from tdm.introspect.tables import shape_table
from tdm.targets.postgres.catalog import PgSchema, read_catalog

__all__ = ["Introspection", "introspect", "read_schema", "spec_from_database"]

_RULE = "letters, digits and _, not starting with a digit, at most 63 characters"


@dataclass
class Introspection:
    spec: dict
    text: str  # the spec as commented YAML
    warnings: list[str]


def _params(url: str) -> dict:
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise TdmError(f"not a database URL: {hide_password(url)}") from None
    if parsed.get_backend_name() not in ("postgresql", "postgres"):
        raise TdmError(f"not a PostgreSQL URL: {hide_password(url)}; tdm introspects PostgreSQL")
    return psycopg_params(parsed, "tdm-introspect")


def read_schema(url: str, schema: str) -> PgSchema:
    params = _params(url)
    try:
        with psycopg.connect(**params) as conn:
            conn.read_only = True
            found = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema])
            if not found.fetchone():
                raise TdmError(f"{hide_password(url)} has no schema {schema!r}")
            return read_catalog(conn, schema)
    except psycopg.Error as e:
        message = without_secret(" ".join(str(e).split()), url)
        raise TdmError(f"cannot read schema {schema} of {hide_password(url)}: {message}") from None


def introspect(
    url: str,
    schema: str = "public",
    tables: list[str] | None = None,
    rows: int = 1000,
    name: str | None = None,
    profile: bool = False,
    min_count: int = MIN_COUNT,
) -> Introspection:
    """`profile`: read the rows too and follow them; a value is copied only from a column that
    does not look personal and only when at least `min_count` rows hold it."""
    catalog = read_schema(url, schema)
    warnings: list[str] = []
    usable = {}
    for t, table in catalog.tables.items():
        if t == "_tdm_meta":
            continue  # tdm's own note in a schema it manages
        if not is_name("table", t):
            warnings.append(f"{t}: skipped, {t!r} is not a name tdm can use ({_RULE})")
            continue
        bad = [c for c in table.columns.values() if not is_name("table", c.name)]
        needed = [c.name for c in bad if c.not_null and c.default is None and not c.identity]
        if needed:
            warnings.append(
                f"{t}: skipped, its column {needed[0]!r} is not a name tdm can use ({_RULE})"
            )
            continue
        for c in bad:
            del table.columns[c.name]
            warnings.append(f"{t}.{c.name}: left to the database (not a name tdm can use)")
        if bad:
            table.foreign_keys = [
                fk for fk in table.foreign_keys if set(fk.columns) <= set(table.columns)
            ]
            table.uniques = [u for u in table.uniques if set(u.columns) <= set(table.columns)]
        usable[t] = table
    wanted = set(usable) if tables is None else set(tables)
    missing = sorted(wanted - set(usable))
    if missing:
        raise TdmError(
            f"schema {schema} has no table {missing[0]!r} tdm can fill; it has: "
            f"{', '.join(sorted(usable)) or 'no tables'}"
        )
    included = _with_parents(wanted, usable, schema)
    if not included:
        raise TdmError(f"schema {schema} has no tables to fill")
    graph = catalog.parents(included)
    comp = components(graph)
    order = _parents_first(graph, comp)
    dataset = name or _dataset_name(catalog.database)
    spec_tables, notes, shapes = {}, {}, {}
    for t in order:
        referenced = frozenset(
            c
            for child in included
            for fk in usable[child].foreign_keys
            if fk.ref_table == t and fk.ref_schema == schema
            for c in fk.ref_columns
        )
        shaped = shape_table(usable[t], catalog, set(included), comp, rows, referenced)
        warnings += shaped.warnings
        if not shaped.table["columns"]:
            warnings.append(f"{t}: skipped, it has no column tdm can fill")
            continue
        spec_tables[t] = shaped.table
        notes[t] = shaped.notes
        shapes[t] = shaped
    if not spec_tables:
        raise TdmError(f"schema {schema} has no table with a column tdm can fill")
    if profile:
        try:
            profile_spec(_params(url), schema, usable, spec_tables, notes, shapes, min_count)
        except psycopg.Error as e:
            message = without_secret(" ".join(str(e).split()), url)
            raise TdmError(
                f"cannot profile schema {schema} of {hide_password(url)}: {message}"
            ) from None
    spec = {"dataset": dataset, "seed": 42, "batch_size": 10000, "tables": spec_tables}
    skipped = sorted(catalog.views) + sorted(catalog.other)
    spec, text = planned(spec, lambda s: render(s, notes, catalog, skipped, warnings), warnings)
    return Introspection(spec, text, warnings)


def _dataset_name(database: str) -> str:
    text = re.sub(r"\W", "_", database).strip("_") or "dataset"
    return text if re.match(r"[A-Za-z_]", text) else f"db_{text}"


def _with_parents(wanted: set[str], usable: dict, schema: str) -> list[str]:
    """`wanted` plus every table they reference, transitively, in name order."""
    out, todo = set(), sorted(wanted)
    while todo:
        t = todo.pop()
        if t in out:
            continue
        out.add(t)
        todo += [
            fk.ref_table
            for fk in usable[t].foreign_keys
            if fk.ref_schema == schema and fk.ref_table in usable
        ]
    return sorted(out)


def _parents_first(graph: dict[str, set[str]], comp: dict[str, int]) -> list[str]:
    """Tables ordered parents before children (a cycle's tables together, by name)."""
    placed: list[str] = []
    done: set[str] = set()

    def visit(t: str, path: set[str]) -> None:
        if t in done or t in path:
            return
        path.add(t)
        for parent in sorted(graph[t]):
            if comp[parent] != comp[t]:
                visit(parent, path)
        for peer in sorted(x for x in graph if comp[x] == comp[t] and x != t and x not in done):
            for parent in sorted(graph[peer]):
                if comp[parent] != comp[t]:
                    visit(parent, path)
        for member in sorted(x for x in graph if comp[x] == comp[t]):
            if member not in done:
                done.add(member)
                placed.append(member)

    for t in sorted(graph):
        visit(t, set())
    return placed


def spec_from_database(url: str, schema: str = "public", **options) -> dict:
    """The spec `tdm introspect` writes, as a dict (options: tables, rows, name, profile,
    min_count)."""
    return introspect(url, schema, **options).spec
