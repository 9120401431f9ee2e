"""The difference between the expected and the live side, each with a readable message."""

from __future__ import annotations

import sqlalchemy as sa

from tdm.targets.postgres.introspection.expected import schema_of

KINDS = ("table", "column", "primary_key", "foreign_key", "unique", "check", "index")


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
