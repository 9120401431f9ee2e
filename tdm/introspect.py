"""What a live PostgreSQL schema holds, what the spec says it should hold, and the difference.

Both sides are the same plain, JSON-able shape (one entry per table, tables and columns in order):

    {"schema": "shop",
     "tables": {"orders": {
         "columns": {"id": {"type": "BIGINT", "nullable": False}, ...},
         "primary_key": ["id"],
         "foreign_keys": [{"name": "fk_orders_customer_id", "columns": ["customer_id"],
                           "referred_schema": None, "referred_table": "customers",
                           "referred_columns": ["id"]}],
         "unique": [{"name": "uq_orders_code", "columns": ["code"]}],
         "checks": [{"name": "ck_orders_total", "sqltext": "total >= 0.0"}],
         "indexes": [{"name": "ix_orders_customer_id", "columns": ["customer_id"],
                      "unique": False}]}}}

Types are SQLAlchemy's PostgreSQL rendering (BIGINT, NUMERIC(10, 2), TIMESTAMP WITH TIME ZONE,
...); `referred_schema` is None for a table of the same schema. `indexes` lists plain indexes
only (those behind primary keys and unique constraints are the constraints).

- `live_schema(url, schema)` reads it through SQLAlchemy's inspector;
- `expected_schema(spec, schema)` is the DDL tdm creates for a spec (tdm.targets.ddl);
- `drift(expected, live)` lists the differences, each with a readable message;
- `spec_from_database(url, schema)` turns a live schema into a spec-like dict (logical types,
  keys), a starting point for writing a spec from an existing database.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from tdm.environments import hide_password
from tdm.errors import TdmError
from tdm.spec import DatasetSpec
from tdm.targets.ddl import metadata_for

_DIALECT = pg_dialect.dialect()
KINDS = ("table", "column", "primary_key", "foreign_key", "unique", "check", "index")


def type_name(t: sa.types.TypeEngine) -> str:
    try:
        return t.compile(dialect=_DIALECT)
    except Exception:  # a type SQLAlchemy cannot render (user-defined, ...)
        return str(getattr(t, "name", None) or type(t).__name__).upper()


# -- the expected side -------------------------------------------------------------------------


def schema_of(md: sa.MetaData, schema: str | None = None) -> dict:
    """The shape above for SQLAlchemy metadata (tables of `schema`, or all of them)."""
    tables = {}
    for table in md.tables.values():
        if schema is not None and table.schema not in (schema, None):
            continue
        fks = []
        for fk in table.foreign_key_constraints:
            referred = fk.elements[0].column.table
            fks.append(
                {
                    "name": fk.name,
                    "columns": [c.name for c in fk.columns],
                    "referred_schema": None if referred.schema == table.schema else referred.schema,
                    "referred_table": referred.name,
                    "referred_columns": [e.column.name for e in fk.elements],
                }
            )
        tables[table.name] = {
            "columns": {
                c.name: {"type": type_name(c.type), "nullable": bool(c.nullable)}
                for c in table.columns
            },
            "primary_key": [c.name for c in table.primary_key.columns],
            "foreign_keys": sorted(fks, key=lambda f: f["name"] or ""),
            "unique": sorted(
                (
                    {"name": u.name, "columns": [c.name for c in u.columns]}
                    for u in table.constraints
                    if isinstance(u, sa.UniqueConstraint)
                    and not isinstance(u, sa.PrimaryKeyConstraint)
                ),
                key=lambda u: u["name"] or "",
            ),
            "checks": sorted(
                (
                    {"name": c.name, "sqltext": str(c.sqltext)}
                    for c in table.constraints
                    if isinstance(c, sa.CheckConstraint)
                ),
                key=lambda c: c["name"] or "",
            ),
            "indexes": sorted(
                (
                    {
                        "name": ix.name,
                        "columns": [c.name for c in ix.columns],
                        "unique": bool(ix.unique),
                    }
                    for ix in table.indexes
                ),
                key=lambda ix: ix["name"] or "",
            ),
        }
    return {"schema": schema, "tables": tables}


def expected_schema(
    spec: DatasetSpec | dict, schema: str | None = None, order: list[str] | None = None
) -> dict:
    """What tdm creates in PostgreSQL for `spec` (a DatasetSpec or its JSON form)."""
    if isinstance(spec, dict):
        spec = DatasetSpec.model_validate(spec)
    md = metadata_for(spec, "postgresql", schema=schema, order=order, checks=True, indexes=True)
    return schema_of(md, schema)


# -- the live side -----------------------------------------------------------------------------


def _engine(url: str | sa.Engine) -> tuple[sa.Engine, str]:
    if isinstance(url, sa.Engine):
        return url, hide_password(str(url.url))
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise TdmError(f"not a database URL: {hide_password(url)}") from None
    if parsed.get_backend_name() not in ("postgresql", "postgres"):
        raise TdmError(f"not a PostgreSQL URL: {hide_password(url)}")
    shown = hide_password(url)
    parsed = parsed.set(drivername="postgresql+psycopg")
    args: dict[str, Any] = {"application_name": "tdm-introspect"}
    if "connect_timeout" not in parsed.query:
        args["connect_timeout"] = 10
    return sa.create_engine(parsed, poolclass=NullPool, connect_args=args), shown


def live_schema(url: str | sa.Engine, schema: str) -> dict:
    """The tables of `schema` in the database at `url`, as they are now."""
    engine, shown = _engine(url)
    password = "" if isinstance(url, sa.Engine) else (make_url(url).password or "")
    try:
        with engine.connect() as conn:
            found = conn.execute(
                sa.text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": schema}
            ).first()
            if not found:
                return {"schema": schema, "tables": {}}
            return _inspect(sa.inspect(conn), schema)
    except SQLAlchemyError as e:
        message = " ".join(str(getattr(e, "orig", None) or e).split())
        if password and len(password) >= 3:
            message = message.replace(password, "***")
        raise TdmError(
            f"cannot read the schema {schema} of {shown}: {hide_password(message)}"
        ) from None
    finally:
        if not isinstance(url, sa.Engine):
            engine.dispose()


def _inspect(insp: sa.Inspector, schema: str) -> dict:
    names = insp.get_table_names(schema=schema)  # in name order
    columns = insp.get_multi_columns(schema=schema)
    pks = insp.get_multi_pk_constraint(schema=schema)
    fks = insp.get_multi_foreign_keys(schema=schema)
    uniques = insp.get_multi_unique_constraints(schema=schema)
    checks = insp.get_multi_check_constraints(schema=schema)
    indexes = insp.get_multi_indexes(schema=schema)
    tables = {}
    for name in names:
        key = (schema, name)
        tables[name] = {
            "columns": {
                c["name"]: {"type": type_name(c["type"]), "nullable": bool(c["nullable"])}
                for c in columns.get(key, [])
            },
            "primary_key": list((pks.get(key) or {}).get("constrained_columns") or []),
            "foreign_keys": sorted(
                (
                    {
                        "name": fk["name"],
                        "columns": list(fk["constrained_columns"]),
                        "referred_schema": None
                        if fk.get("referred_schema") in (None, schema)
                        else fk["referred_schema"],
                        "referred_table": fk["referred_table"],
                        "referred_columns": list(fk["referred_columns"]),
                    }
                    for fk in fks.get(key, [])
                ),
                key=lambda f: f["name"] or "",
            ),
            "unique": sorted(
                (
                    {"name": u["name"], "columns": list(u["column_names"])}
                    for u in uniques.get(key, [])
                ),
                key=lambda u: u["name"] or "",
            ),
            "checks": sorted(
                ({"name": c["name"], "sqltext": c["sqltext"]} for c in checks.get(key, [])),
                key=lambda c: c["name"] or "",
            ),
            "indexes": sorted(
                (
                    {
                        "name": ix["name"],
                        "columns": list(ix["column_names"]),
                        "unique": bool(ix["unique"]),
                    }
                    for ix in indexes.get(key, [])
                    if not ix.get("duplicates_constraint")
                ),
                key=lambda ix: ix["name"] or "",
            ),
        }
    return {"schema": schema, "tables": tables}


# -- the difference ----------------------------------------------------------------------------


def _cols(cols: list[str]) -> str:
    return ", ".join(cols)


def _fk_text(table: str, fk: dict) -> str:
    target = (f"{fk['referred_schema']}." if fk.get("referred_schema") else "") + fk[
        "referred_table"
    ]
    return f"{table}({_cols(fk['columns'])}) -> {target}({_cols(fk['referred_columns'])})"


def _column_text(c: dict) -> str:
    return f"{c['type']}{'' if c['nullable'] else ' NOT NULL'}"


def drift(expected: dict | sa.MetaData, live: dict, ignore: set[str] | tuple = ()) -> list[dict]:
    """Differences between what the spec says (`expected`, from expected_schema or a MetaData)
    and what the database holds (`live`, from live_schema). Each is a dict: table, kind (one of
    KINDS), name, change (added: only live has it, removed: only the spec, changed), expected,
    live, message. Live tables named in `ignore` (and _tdm_meta) are not reported; [] when
    they match.

    CHECK constraints are compared by name only (PostgreSQL rewrites their text)."""
    if isinstance(expected, sa.MetaData):
        expected = schema_of(expected)
    out: list[dict] = []

    def add(table, kind, name, change, exp, got, message):
        out.append(
            {
                "table": table,
                "kind": kind,
                "name": name,
                "change": change,
                "expected": exp,
                "live": got,
                "message": message,
            }
        )

    want, have = expected["tables"], live["tables"]
    ignore = {"_tdm_meta", *ignore}
    for t in want:
        if t not in have:
            add(t, "table", t, "removed", want[t], None, f"table {t} is missing")
    for t in have:
        if t not in want and t not in ignore:
            columns = _cols(list(have[t]["columns"]))
            add(t, "table", t, "added", None, have[t], f"table {t} was added ({columns})")
    for t in [t for t in want if t in have]:
        _table_drift(t, want[t], have[t], add)
    rank = {k: i for i, k in enumerate(KINDS)}
    tables: dict[str, int] = {}
    for t in [*want, *have]:
        tables.setdefault(t, len(tables))
    return sorted(out, key=lambda d: (tables[d["table"]], rank[d["kind"]]))


def _table_drift(t: str, want: dict, have: dict, add) -> None:
    wc, hc = want["columns"], have["columns"]
    for c in wc:
        if c not in hc:
            add(
                t,
                "column",
                c,
                "removed",
                wc[c],
                None,
                f"column {t}.{c} ({_column_text(wc[c])}) is missing",
            )
    for c in hc:
        if c not in wc:
            add(
                t,
                "column",
                c,
                "added",
                None,
                hc[c],
                f"column {t}.{c} ({_column_text(hc[c])}) was added",
            )
    for c in [c for c in wc if c in hc]:
        e, g = wc[c], hc[c]
        what = []
        if e["type"] != g["type"]:
            what.append(f"type {e['type']} is now {g['type']}")
        if e["nullable"] != g["nullable"]:
            what.append("it is now nullable" if g["nullable"] else "it is now NOT NULL")
        if what:
            add(t, "column", c, "changed", e, g, f"column {t}.{c} changed: {'; '.join(what)}")

    if want["primary_key"] != have["primary_key"]:
        e, g = want["primary_key"], have["primary_key"]
        change = "removed" if not g else "added" if not e else "changed"
        text = {
            "removed": f"the primary key ({_cols(e)}) of {t} is missing",
            "added": f"{t} has a primary key ({_cols(g)}) the spec does not declare",
            "changed": f"the primary key of {t} is ({_cols(g)}), expected ({_cols(e)})",
        }[change]
        add(t, "primary_key", None, change, e or None, g or None, text)

    for kind, field, key, text in _CONSTRAINTS:
        _sets(t, kind, want[field], have[field], key, lambda x, text=text: text(t, x), add)


# kind, field of the table dict, identity (what makes two equal), description
_CONSTRAINTS = [
    (
        "foreign_key",
        "foreign_keys",
        lambda fk: (
            tuple(fk["columns"]),
            fk.get("referred_schema"),
            fk["referred_table"],
            tuple(fk["referred_columns"]),
        ),
        lambda t, fk: f"foreign key {fk['name']} {_fk_text(t, fk)}",
    ),
    (
        "unique",
        "unique",
        lambda u: tuple(sorted(u["columns"])),
        lambda t, u: f"unique constraint {u['name']} on {t}({_cols(u['columns'])})",
    ),
    (
        "check",
        "checks",
        lambda c: c["name"],
        lambda t, c: f"check constraint {c['name']} on {t} ({c['sqltext']})",
    ),
    (
        "index",
        "indexes",
        lambda ix: (tuple(ix["columns"]), ix["unique"]),
        lambda t, ix: (
            f"{'unique ' if ix['unique'] else ''}index {ix['name']} on {t}({_cols(ix['columns'])})"
        ),
    ),
]


def _sets(t, kind, want, have, key, text, add) -> None:
    wk, hk = {key(x): x for x in want}, {key(x): x for x in have}
    for k, x in wk.items():
        if k not in hk:
            add(t, kind, x["name"], "removed", x, None, f"{text(x)} is missing")
    for k, x in hk.items():
        if k not in wk:
            add(t, kind, x["name"], "added", None, x, f"{text(x)} was added")


# -- a spec from a database ----------------------------------------------------------------------


def logical_type(sql_type: str) -> str:
    """The spec type closest to a rendered PostgreSQL type ('string' when none fits)."""
    t = sql_type.upper()
    if t in ("BIGINT", "INTEGER", "SMALLINT"):
        return "int"
    if t.startswith(("DOUBLE", "REAL", "FLOAT")):
        return "float"
    if t.startswith("NUMERIC") or t.startswith("DECIMAL"):
        inside = t[t.find("(") + 1 : t.find(")")] if "(" in t else ""
        parts = [p.strip() for p in inside.split(",") if p.strip()]
        if len(parts) == 2:
            return f"decimal({parts[0]},{parts[1]})"
        if len(parts) == 1:
            return f"decimal({parts[0]},0)"
        return "float"  # unconstrained numeric: no fixed scale to keep
    if t == "BOOLEAN":
        return "bool"
    if t == "DATE":
        return "date"
    if t.startswith("TIMESTAMP"):
        return "timestamp"
    if t == "UUID":
        return "uuid"
    if t in ("JSON", "JSONB"):
        return "json"
    return "string"


def spec_from_database(url: str | sa.Engine, schema: str) -> dict:
    """A spec-like dict of the live schema: per table its columns (logical type, the SQL type
    it came from, null_ratio 0 for NOT NULL columns), primary key, foreign keys and uniques.
    Row counts and generators are left for the author (or `source: true` to extract)."""
    live = live_schema(url, schema)
    tables = {}
    for name, t in live["tables"].items():
        columns = {}
        for c, info in t["columns"].items():
            col: dict[str, Any] = {"type": logical_type(info["type"]), "sql_type": info["type"]}
            if not info["nullable"]:
                col["null_ratio"] = 0
            columns[c] = col
        tables[name] = {
            "primary_key": t["primary_key"],
            "columns": columns,
            "foreign_keys": [
                {
                    "columns": fk["columns"],
                    "references": f"{fk['referred_table']}({', '.join(fk['referred_columns'])})",
                }
                for fk in t["foreign_keys"]
            ],
            "unique": [u["columns"] for u in t["unique"]],
        }
    return {"dataset": schema, "tables": tables}
