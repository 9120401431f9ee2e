"""Reading the catalog model (tdm.targets.postgres.catalog.model) from pg_catalog in a few
queries; and the foreign keys of other tables that reference a set of tables."""

from __future__ import annotations

import re

import psycopg

from tdm.targets.postgres.catalog.model import (
    PgColumn,
    PgForeignKey,
    PgSchema,
    PgTable,
    PgType,
    PgUnique,
)

_ACTIONS = {
    "a": "NO ACTION",
    "r": "RESTRICT",
    "c": "CASCADE",
    "n": "SET NULL",
    "d": "SET DEFAULT",
}
_KINDS = {
    "b": "base",
    "e": "enum",
    "d": "domain",
    "r": "range",
    "c": "composite",
    "p": "pseudo",
    "m": "multirange",
}


def read_catalog(conn: psycopg.Connection, schema: str) -> PgSchema:
    """The tables of `schema` as the catalog declares them (partitions folded into parents)."""
    database = conn.execute("SELECT current_database()").fetchone()[0]
    rels = conn.execute(
        "SELECT c.oid, c.relname, c.relkind, c.relispartition, obj_description(c.oid, 'pg_class'),"
        " CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END,"
        " pg_get_expr(c.relpartbound, c.oid),"
        " (SELECT p.relname FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent"
        "  WHERE i.inhrelid = c.oid LIMIT 1)"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'f') ORDER BY c.relname",
        [schema],
    ).fetchall()
    tables: dict[str, PgTable] = {}
    partition_of: dict[int, str] = {}
    views, other = [], []
    for oid, name, kind, is_partition, comment, key, _bound, _parent in rels:
        if kind in ("v", "m"):
            views.append(name)
        elif kind == "f":
            other.append(name)
        elif is_partition:
            continue  # folded into its partitioned table below
        else:
            tables[name] = PgTable(name, oid, kind == "p", key, comment=comment)
    parent_of = {r[1]: r[7] for r in rels if r[3]}
    part_names = {}
    for oid, name, kind, is_partition, _, _, bound, parent in rels:
        if is_partition and kind in ("r", "p"):
            root = parent
            while root in parent_of:  # a partition of a partition: up to the partitioned table
                root = parent_of[root]
            partition_of[oid], part_names[oid] = root, name
            if parent in tables:
                tables[parent].partitions.append((name, bound or ""))
    by_oid = {t.oid: t for t in tables.values()}
    if by_oid:
        _read_columns(conn, by_oid)
        _read_constraints(conn, by_oid, partition_of, part_names, tables)
        _read_indexes(conn, by_oid)
        _read_triggers(conn, by_oid)
    return PgSchema(schema, database, tables, views, other)


def _read_columns(conn: psycopg.Connection, by_oid: dict[int, PgTable]) -> None:
    rows = conn.execute(
        "SELECT a.attrelid, a.attnum, a.attname, a.atttypid, format_type(a.atttypid, a.atttypmod),"
        " a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated,"
        " col_description(a.attrelid, a.attnum)"
        " FROM pg_attribute a LEFT JOIN pg_attrdef d"
        "  ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
        " WHERE a.attrelid = ANY(%s) AND a.attnum > 0 AND NOT a.attisdropped"
        " ORDER BY a.attrelid, a.attnum",
        [list(by_oid)],
    ).fetchall()
    types = _read_types(conn, {r[3] for r in rows})
    for relid, attnum, name, typid, sql_type, not_null, default, ident, gen, comment in rows:
        by_oid[relid].columns[name] = PgColumn(
            name,
            types[typid],
            sql_type,
            not_null,
            default if not gen else None,
            ident,
            gen == "s",
            comment,
            attnum,
        )


def _read_types(conn: psycopg.Connection, oids: set[int]) -> dict[int, PgType]:
    """The types of `oids` and every type they are built on (domain bases, array elements,
    range subtypes)."""
    raw: dict[int, tuple] = {}
    todo = set(oids)
    while todo:
        found = conn.execute(
            "SELECT t.oid, format_type(t.oid, NULL), t.typname, t.typtype, t.typcategory,"
            " t.typbasetype, t.typelem, r.rngsubtype,"
            " ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid"
            "       ORDER BY e.enumsortorder),"
            " ARRAY(SELECT pg_get_expr(c.conbin, 0) FROM pg_constraint c"
            "       WHERE c.contypid = t.oid AND c.contype = 'c' ORDER BY c.conname)"
            " FROM pg_type t LEFT JOIN pg_range r ON r.rngtypid = t.oid WHERE t.oid = ANY(%s)",
            [sorted(todo)],
        ).fetchall()
        todo = set()
        for row in found:
            raw[row[0]] = row
            for ref in (row[5], row[6] if row[4] == "A" else 0, row[7] or 0):
                if ref and ref not in raw:
                    todo.add(ref)
    out: dict[int, PgType] = {}

    def build(oid: int) -> PgType:
        if oid in out:
            return out[oid]
        _, name, typname, typtype, category, base, elem, subtype, labels, checks = raw[oid]
        kind = "array" if category == "A" and elem else _KINDS.get(typtype, "base")
        t = PgType(oid, name, typname, kind, category, list(labels), checks=list(checks))
        out[oid] = t
        if kind == "domain" and base:
            t.base = build(base)
        if kind == "array":
            t.element = build(elem)
        if kind == "range" and subtype:
            t.element = build(subtype)
        return t

    return {oid: build(oid) for oid in raw}


_NAMES = (
    "ARRAY(SELECT a.attname::text FROM unnest({key}) WITH ORDINALITY k(n, i)"
    " JOIN pg_attribute a ON a.attrelid = {rel} AND a.attnum = k.n ORDER BY k.i)"
)


def _read_constraints(
    conn: psycopg.Connection,
    by_oid: dict[int, PgTable],
    partition_of: dict[int, str],
    part_names: dict[int, str],
    tables: dict[str, PgTable],
) -> None:
    rows = conn.execute(
        "SELECT c.conrelid, c.conname, c.contype, "
        + _NAMES.format(key="c.conkey", rel="c.conrelid")
        + ", rn.nspname, r.relname, "
        + _NAMES.format(key="c.confkey", rel="c.confrelid")
        + ", c.confdeltype, c.confupdtype, c.condeferrable, pg_get_constraintdef(c.oid),"
        " c.convalidated, c.conparentid <> 0"
        " FROM pg_constraint c LEFT JOIN pg_class r ON r.oid = c.confrelid"
        " LEFT JOIN pg_namespace rn ON rn.oid = r.relnamespace"
        " WHERE c.conrelid = ANY(%s) AND c.contype IN ('p', 'u', 'f', 'c', 'x')"
        " ORDER BY c.conrelid, c.conname",
        [[*by_oid, *partition_of]],
    ).fetchall()
    for row in rows:
        relid, name, kind, columns, rschema, rtable, rcols = row[:7]
        ondel, onupd, defer, text, valid, inherited = row[7:]
        on_partition = relid in partition_of
        if inherited or (on_partition and kind != "f"):
            continue  # cloned from the parent, or a partition's own key: the parent's count
        table = tables[partition_of[relid]] if on_partition else by_oid[relid]
        if kind == "p":
            table.primary_key = list(columns)
        elif kind == "u":
            table.uniques.append(PgUnique(name, list(columns)))
        elif kind == "c":
            table.checks.append((name, _check_body(text), valid))
        elif kind == "x":
            table.exclusions.append((name, text))
        else:
            fk = PgForeignKey(
                name,
                list(columns),
                rschema,
                rtable,
                list(rcols),
                _ACTIONS.get(ondel, "NO ACTION"),
                _ACTIONS.get(onupd, "NO ACTION"),
                defer,
                part_names.get(relid),
            )
            same = [
                f
                for f in table.foreign_keys
                if (f.columns, f.ref_schema, f.ref_table, f.ref_columns)
                == (fk.columns, fk.ref_schema, fk.ref_table, fk.ref_columns)
            ]
            if not same:  # several partitions may each declare the same key
                table.foreign_keys.append(fk)


def _check_body(text: str) -> str:
    """'CHECK ((a > 0)) NOT VALID' -> '(a > 0)'."""
    body = text.removeprefix("CHECK ").removesuffix(" NOT VALID").strip()
    return body[1:-1] if body.startswith("(") and body.endswith(")") else body


def _read_indexes(conn: psycopg.Connection, by_oid: dict[int, PgTable]) -> None:
    """Unique indexes that are not constraints: partial ones, on expressions."""
    rows = conn.execute(
        "SELECT i.indrelid, ic.relname, "
        + _NAMES.format(key="i.indkey::int2[]", rel="i.indrelid")
        + ", 0 = ANY(i.indkey::int2[]), pg_get_expr(i.indpred, i.indrelid),"
        " pg_get_expr(i.indexprs, i.indrelid)"
        " FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid"
        " WHERE i.indrelid = ANY(%s) AND i.indisunique AND NOT EXISTS"
        " (SELECT 1 FROM pg_constraint c"
        "  WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid)"
        " ORDER BY ic.relname",
        [list(by_oid)],
    ).fetchall()
    for relid, name, columns, expressions, predicate, exprs in rows:
        table = by_oid[relid]
        cols = [c for c in columns if c in table.columns]
        if exprs:  # lower(email): the columns the expressions read
            words = set(re.findall(r'"((?:[^"]|"")+)"|\b([A-Za-z_]\w*)\b', exprs))
            found = {a.replace('""', '"') or b for a, b in words}
            cols += [c for c in table.columns if c in found and c not in cols]
        table.uniques.append(PgUnique(name, cols, False, predicate, expressions))


def _read_triggers(conn: psycopg.Connection, by_oid: dict[int, PgTable]) -> None:
    rows = conn.execute(
        "SELECT tgrelid, tgname, tgenabled, pg_get_triggerdef(oid) FROM pg_trigger"
        " WHERE tgrelid = ANY(%s) AND NOT tgisinternal ORDER BY tgrelid, tgname",
        [list(by_oid)],
    ).fetchall()
    for relid, name, enabled, definition in rows:
        by_oid[relid].triggers.append((name, enabled, definition))


def referencing(conn: psycopg.Connection, schema: str, tables: list[str]) -> list[tuple]:
    """Foreign keys of other tables (not in `tables` of `schema`, nor their partitions) that
    reference one of `tables`: (schema, table, constraint, referenced table)."""
    return conn.execute(
        "SELECT sn.nspname, s.relname, c.conname, r.relname"
        " FROM pg_constraint c JOIN pg_class s ON s.oid = c.conrelid"
        " JOIN pg_namespace sn ON sn.oid = s.relnamespace"
        " JOIN pg_class r ON r.oid = c.confrelid JOIN pg_namespace rn ON rn.oid = r.relnamespace"
        " WHERE c.contype = 'f' AND c.conparentid = 0 AND rn.nspname = %s"
        " AND r.relname = ANY(%s) AND NOT (sn.nspname = %s AND s.relname = ANY(%s))"
        " AND NOT s.relispartition ORDER BY 1, 2, 3",
        [schema, tables, schema, tables],
    ).fetchall()
