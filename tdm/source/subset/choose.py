"""Choosing a subset in one REPEATABLE READ, READ ONLY transaction: the tables, the foreign keys
(declared, from the spec, and `subset.relationships`), the roots (each `where` checked first, so
a bad one is a spec problem, never a traceback), the closure, and each chosen row's xmin. Inside
`tdm.source.snapshot.one_snapshot()` the transaction stays open and exports its snapshot."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import numpy as np
import psycopg

from tdm.core.databases import one_line
from tdm.core.errors import SpecError, TdmError, problem_at
from tdm.source.names import _quote, split_name
from tdm.source.snapshot import export, holding
from tdm.source.subset.graph import Closure, Edge
from tdm.source.subset.postgres import PgRows, PgTable, declared_edges, find_table
from tdm.source.subset.rowids import MAX_LEAVES, row_id

if TYPE_CHECKING:
    from tdm.source.reader import SourceReader
    from tdm.spec.model import DatasetSpec
    from tdm.spec.subset import SubsetRoot

Chosen = tuple[dict, dict, dict, dict, list[Edge], dict]  # ids, xmins, sizes, reasons, edges,
# and each partitioned table's leaf partitions (quoted names, the order of the ids' leaf index)
PERCENT_SCALE = 1_000_000_000  # percent is compared on a 64-bit hash modulo this
_KINDS = {"r": "table", "m": "materialized view", "p": "partitioned table"}


def choose(
    reader: SourceReader,
    spec: DatasetSpec,
    source: str,
    progress: Callable[[str], None] | None,
) -> tuple[Chosen, str | None]:
    """The chosen rows, and the id of the exported snapshot they were chosen in when a
    `one_snapshot()` block holds it for the run."""
    db = reader._db
    if not hasattr(db, "params"):
        raise TdmError(f"{source}: subset: needs a PostgreSQL source, not {reader.display_url}")
    try:
        conn = psycopg.connect(**db.params)
    except psycopg.Error as e:
        raise TdmError(f"{source}: subset: {db._connect_failure(e)}") from None
    try:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        with _failing(reader, source, "choosing the subset"):
            # first, so the exported snapshot is the one every query below sees
            exported = export(conn) if holding() else None
            found = _choose(conn, reader, spec, source, progress)
    except BaseException:
        conn.close()  # the transaction only read: nothing to commit
        raise
    if exported is None:  # a held one is closed when the run ends (tdm.source.snapshot)
        conn.close()
    return found, exported


@contextmanager
def _failing(reader: SourceReader, source: str, doing: str) -> Iterator[None]:
    try:
        yield
    except psycopg.Error as e:
        message = reader._safe(one_line(str(e)))
        state = getattr(e, "sqlstate", None) or ""
        fix = (
            "grant the source user SELECT on every table of the spec"
            if state == "42501"
            else f"check that {reader.display_url} is reachable, then run again"
            if state.startswith("08") or state.startswith("57P") or not state
            else "run again; if it persists, report it with this message"
        )
        raise TdmError(f"{source}: subset: {doing} failed: {message} (fix: {fix})") from None


def _choose(
    conn: psycopg.Connection,
    reader: SourceReader,
    spec: DatasetSpec,
    source: str,
    progress: Callable[[str], None] | None,
) -> Chosen:
    # A TID scan cannot run in parallel: with workers the planner prefers a parallel scan of
    # the whole table to look up a chunk of row ids. (A setting of this transaction, no write.)
    conn.execute("SET LOCAL max_parallel_workers_per_gather = 0")
    # The same queries run chunk after chunk, so psycopg prepares them; a generic plan would not
    # see each chunk's ids (no hashed ANY, no TID scan by their count): plan every execution.
    conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
    subset = spec.subset
    tables: dict[str, PgTable] = {}
    for name, t in spec.tables.items():
        if t.source is None:
            continue
        src = t.source.table or name
        found = find_table(conn, name, split_name(src))
        if found is None:
            raise TdmError(f"{source}: table {name}: source table {src!r} does not exist in "
                           f"{reader.display_url} (set source.table)")  # fmt: skip
        if found.kind not in _KINDS:
            raise TdmError(
                f"{source}: table {name}: subsetting reads row ids (ctid) of tables, partitioned "
                f"tables and materialized views; {found.display} is not one (relkind "
                f"{found.kind!r}): subset the tables under the view instead"
            )
        _check_leaves(found, f"{source}: table {name}")
        tables[name] = found
    edges = _edges(conn, spec, tables, source)
    rows = PgRows(conn, tables)
    rules = subset.child_rules
    closure = Closure(
        list(tables), edges, rows, children=rules is not None,
        max_per_parent=rules.max_per_parent if rules else None,
        skip=frozenset(rules.skip if rules else ()),
    )  # fmt: skip
    for i, root in enumerate(subset.roots):
        closure.add_roots(root.table, _roots(conn, rows, tables[root.table], root, i, spec, source))
    chosen = closure.run(progress)
    xmins = {t: rows.xmins(t, ids) for t, ids in chosen.items()}
    for t, x in xmins.items():
        if (x < 0).any():
            raise AssertionError(f"{t}: a chosen row vanished inside the snapshot")
    sizes = {t: conn.execute(f"SELECT count(*) FROM {tables[t].sql}").fetchone()[0] for t in tables}
    reasons = {t: dict(r.counts) for t, r in closure.reasons.items()}
    leaves = {t: pg.leaf_sql for t, pg in tables.items() if pg.kind == "p"}
    return chosen, xmins, sizes, reasons, edges, leaves


def _check_leaves(t: PgTable, about: str) -> None:
    """A partitioned table's rows are read from each leaf partition by ctid: each must be a
    table the source user may read, and their index must fit in a row id."""
    if len(t.leaves) > MAX_LEAVES:
        raise TdmError(
            f"{about}: {t.display} has {len(t.leaves):,} leaf partitions; a subset reads at "
            f"most {MAX_LEAVES:,} (a row id holds the partition's index)"
        )
    for leaf in t.leaves:
        if leaf.kind != "r":
            what = "a foreign table" if leaf.kind == "f" else f"relkind {leaf.kind!r}"
            raise TdmError(
                f"{about}: partition {leaf.display} of {t.display} is {what}, which has no row "
                "ids (ctid) to subset by: detach it, or leave the table out of the spec"
            )
        if not leaf.readable:
            raise TdmError(
                f"{about}: the source user may not read partition {leaf.display} of "
                f"{t.display} (a subset reads a partitioned table's rows from each partition "
                "by ctid): grant the source user SELECT on every partition of the table"
            )


def _spec_mistake(err: psycopg.Error) -> bool:
    """An error the spec's SQL or columns cause (syntax, names, types, a value), not the
    connection or the privileges of the source user."""
    state = getattr(err, "sqlstate", None) or ""
    return state[:2] in ("42", "22") and state != "42501"


def _edges(
    conn: psycopg.Connection, spec: DatasetSpec, tables: dict[str, PgTable], source: str
) -> list[Edge]:
    edges = declared_edges(conn, tables)
    for name, t in spec.tables.items():
        for fk in t.all_foreign_keys if name in tables else []:
            parent = fk.references.table
            if parent not in tables:
                continue
            pcols = fk.references.columns or spec.tables[parent].primary_key
            edges.append(Edge(name, tuple(fk.columns), parent, tuple(pcols), "spec"))
    for i, rel in enumerate(spec.subset.relationships):
        edges.append(Edge(rel.table, tuple(rel.columns), rel.parent, tuple(rel.parent_columns),
                          f"relationships[{i}]"))  # fmt: skip
    seen, out = set(), []
    for e in edges:
        shape = (e.table, e.columns, e.parent, e.parent_columns)
        if shape not in seen:
            seen.add(shape)
            out.append(e)
    # an edge whose columns do not compare (types) is a spec problem, shown before any work
    for e in out:
        conn.execute("SAVEPOINT edge")
        try:
            conn.execute(f"EXPLAIN {_probe(tables, e)}")
        except psycopg.Error as err:
            if not _spec_mistake(err):
                raise
            conn.execute("ROLLBACK TO SAVEPOINT edge")
            at: tuple = ("subset", "relationships", int(e.name[14:-1])) if e.name[:1] == "r" else ()
            raise SpecError(source, [problem_at(
                at, f"the foreign key {e} cannot be followed: {one_line(str(err))}",
                "give columns of the same types on both sides")]) from None  # fmt: skip
    return out


def _probe(tables: dict[str, PgTable], e: Edge) -> str:
    c, p = tables[e.table], tables[e.parent]
    left = ", ".join(f"p.{_quote(k)}" for k in e.parent_columns)
    right = ", ".join(f"c.{_quote(k)}" for k in e.columns)
    return f"SELECT 1 FROM {p.sql} p JOIN {c.sql} c ON ({left}) = ({right})"


def _roots(
    conn: psycopg.Connection,
    rows: PgRows,
    table: PgTable,
    root: SubsetRoot,
    i: int,
    spec: DatasetSpec,
    source: str,
) -> np.ndarray:
    conds = []
    if root.where:
        conds.append(f"({root.where})")
    if root.percent is not None:
        if table.key:
            text = "ROW(" + ", ".join(_quote(k) for k in table.key) + ")::text"
        else:
            text = f"{table.sql.split('.')[-1]}::text"
        cut = round(root.percent / 100 * PERCENT_SCALE)
        conds.append(
            f"(hashtextextended({text}, {int(spec.seed) % 2**63}) & 9223372036854775807) "
            f"% {PERCENT_SCALE} < {cut}"
        )
    where = f" WHERE {' AND '.join(conds)}" if conds else ""
    sql = f"SELECT {row_id(leaves=table.leaves)} FROM {table.sql}{where}"
    conn.execute("SAVEPOINT root")
    try:
        conn.execute(f"EXPLAIN {sql}")
        ids = rows.ids(sql)
    except psycopg.Error as err:
        if not _spec_mistake(err):
            raise
        conn.execute("ROLLBACK TO SAVEPOINT root")
        message = one_line(getattr(err.diag, "message_primary", None) or str(err))
        raise SpecError(source, [problem_at(
            ("subset", "roots", i, *(["where"] if root.where else [])),
            f"the condition on {table.name} ({table.display}) fails in the source: {message}",
            f"write SQL over the columns of {table.display}, as in WHERE ...; try it with "
            f"SELECT count(*) FROM {table.display} WHERE <condition>",
        )]) from None  # fmt: skip
    conn.execute("RELEASE SAVEPOINT root")
    return ids
