"""`SourceReader`: counts, reads, samples and fingerprints extracted tables in independent
batches (see the package docstring for the design)."""

from __future__ import annotations

import hashlib
import json
import threading

import pyarrow as pa
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from tdm.core.errors import TdmError, did_you_mean
from tdm.core.types import LogicalType
from tdm.core.urls import without_secret
from tdm.source.backend import _Backend
from tdm.source.checks import _Checks
from tdm.source.copy_csv import _conform, _logical
from tdm.source.names import _key_of, _quote, _Relation, _Target, split_name
from tdm.source.postgres import _Postgres
from tdm.source.snapshot import holding
from tdm.source.sqlite import _Sqlite
from tdm.spec.model import TableSpec


class SourceReader(_Checks):
    """Reads extracted tables from the source database; one connection, opened on first use.

    Picklable (only the URL travels, a copy opens its own connection), usable as a context
    manager. A reader is cheap: make one per process.
    """

    def __init__(self, url: str):
        self.url = url
        self._lock = threading.RLock()
        self._relations: dict[str, _Relation] = {}
        # (relation, key, where) -> {row index: its key}, found by _probe
        self._bounds: dict[tuple, dict[int, tuple]] = {}
        try:
            parsed = make_url(url)
        except (ArgumentError, ValueError):
            raise TdmError(
                f"source.url is not a database URL: {self._safe(url)}; write e.g. "
                "postgresql+psycopg://user:${PASSWORD}@host:5432/database or sqlite:///file.sqlite"
            ) from None
        backend = parsed.get_backend_name()
        if backend in ("postgresql", "postgres"):
            self._db: _Backend = _Postgres(parsed, url)
        elif backend == "sqlite":
            self._db = _Sqlite(parsed, url)
        else:
            raise TdmError(
                f"cannot extract from {self.display_url}: source databases can be PostgreSQL "
                "(postgresql://, postgresql+psycopg://) or SQLite (sqlite:///path)"
            )

    # -- what others call ------------------------------------------------------------------

    def count(self, name: str, table: TableSpec) -> int:
        """Rows of the source table meeting `where`. Also checks the key has no NULLs."""
        with self._lock:
            target = self._target(name, table, list(table.columns))
            nullable = [k for k in target.key if not target.rel.columns[k].notnull]
            nulls = ""
            if nullable:
                cond = " OR ".join(f"{_quote(k)} IS NULL" for k in nullable)
                nulls = f", SUM(CASE WHEN {cond} THEN 1 ELSE 0 END)"
            sql = f"SELECT COUNT(*){nulls} FROM {target.rel.sql}{target.filter()}"
            with self._failing(target, "counting rows"):
                row = self._db.fetch(sql)[0]
            if nullable and row[1]:
                raise TdmError(
                    f"{target.about}: {row[1]} row(s) have a NULL in the key "
                    f"({', '.join(target.key)}); the key must be unique and not null to read the "
                    "table in batches: choose another source.key, or exclude them in source.where"
                )
            return int(row[0])

    def read(
        self, name: str, table: TableSpec, start: int, stop: int, schema: pa.Schema
    ) -> pa.Table:
        """Rows [start, stop) in key order, typed exactly as `schema`, columns in its order."""
        if start < 0 or stop < start:
            raise ValueError(f"bad row range [{start}, {stop})")
        with self._lock:
            target = self._target(name, table, schema.names)
            if stop == start:
                return schema.empty_table()
            cond = []
            if start > 0:
                bound = self._probe(target, start)
                if bound is None:
                    return schema.empty_table()
                cond = [self._db.keyset(target.key, bound)]
            sql_from = (
                f" FROM {target.rel.sql}{target.filter(*cond)} ORDER BY {target.order()} "
                f"LIMIT {stop - start}"
            )
            out = self._select(target, table, schema, sql_from, check_keys=True)
            if out.num_rows < stop - start:
                self._check_no_null_keys(target)  # they sort last, past every keyset bound
            return out

    def sample(self, name: str, table: TableSpec, schema: pa.Schema, limit: int = 1000) -> pa.Table:
        """Up to `limit` rows for PII detection, in key order; the same rows while the source
        does not change. PostgreSQL tables: a Bernoulli sample spread over the whole table
        (TABLESAMPLE ... REPEATABLE with a fixed seed); otherwise the first rows by key."""
        with self._lock:
            # a table without a key (possible in a subset) is sampled in ctid order
            target = self._target(name, table, schema.names, keyed=False)
            if limit <= 0:
                return schema.empty_table()
            with self._failing(target, "sampling rows"):
                sampled = self._db.tablesample(target, limit)
            if sampled is None and target.key:
                return self.read(name, table, 0, limit, schema)
            sampled = sampled or ""
            sql_from = (
                f" FROM {target.rel.sql} {sampled}{target.filter()} ORDER BY {target.order()} "
                f"LIMIT {limit}"
            )
            return self._select(target, table, schema, sql_from, check_keys=False)

    def snapshot(self, tables: dict[str, TableSpec]) -> str:
        """A 16-hex-digit fingerprint of the rows these tables would read now (what it
        covers and misses: docs/source.md#snapshots)."""
        with self._lock:
            state = {}
            for name in sorted(tables):
                table = tables[name]
                target = self._target(name, table, list(table.columns), fresh=True)
                with self._failing(target, "fingerprinting rows"):
                    state[name] = {
                        "relation": target.rel.display,
                        "key": target.key,
                        "where": target.where,
                        "types": {c: target.rel.columns[c].type for c in table.columns},
                        **self._db.state(target, list(table.columns)),
                    }
            text = json.dumps(state, sort_keys=True, default=str)
            return hashlib.sha256(text.encode()).hexdigest()[:16]

    def hold_snapshot(self) -> str | None:
        """Inside `tdm.source.snapshot.one_snapshot()` (PostgreSQL): export a snapshot held
        until the block ends, and read in it from now on; its id, else None."""
        with self._lock:
            if not holding() or not hasattr(self._db, "hold"):
                return None
            snapshot = self._db.hold()
            self.use_snapshot(snapshot)
            return snapshot

    def use_snapshot(self, snapshot: str | None) -> None:
        """Read every row inside this exported snapshot (tdm.source.snapshot); None: each
        connection its own transactions."""
        with self._lock:
            if snapshot == self.snapshot_id or not hasattr(self._db, "use_snapshot"):
                return
            self._db.use_snapshot(snapshot)
            self._relations.clear()  # found in another state of the source
            self._bounds.clear()

    @property
    def snapshot_id(self) -> str | None:
        return getattr(self._db, "snapshot", None)

    def close(self) -> None:
        with self._lock:
            self._db.close()
            self._relations.clear()
            self._bounds.clear()

    # -- plumbing --------------------------------------------------------------------------

    @property
    def display_url(self) -> str:
        return self._safe(self.url)

    def _safe(self, text: str) -> str:
        return without_secret(text, self.url)

    def __getstate__(self) -> dict:
        return {"url": self.url, "snapshot": self.snapshot_id}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["url"])
        self.use_snapshot(state.get("snapshot"))

    def __enter__(self) -> SourceReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _target(
        self, name: str, table: TableSpec, columns: list[str], fresh: bool = False, keyed=True
    ):
        """`keyed=False`: a table read by row ids (a subset) needs no key."""
        keyed = keyed or bool(table.primary_key or (table.source and table.source.key))
        key = _key_of(name, table) if keyed else ()
        src = table.source.table if table.source and table.source.table else name
        where = table.source.where if table.source and table.source.where else None
        parts = split_name(src)
        cache = "\x00".join(parts)
        rel = None if fresh else self._relations.get(cache)
        if rel is None:
            with self._failing(name, f"looking up source table {src!r}"):
                rel = self._db.relation(parts)
            if rel is None:
                known = self._db.relation_names()
                hint = did_you_mean(src, known)
                raise TdmError(
                    f"table {name}: source table {src!r} does not exist in {self.display_url}"
                    + (f"; {hint}" if hint else "")
                    + " (set source.table to the name in the source, schema.table if needed)"
                )
            self._relations[cache] = rel
        for col in dict.fromkeys([*key, *columns]):
            if col not in rel.columns:
                what = "key column" if col in key and col not in columns else "column"
                hint = did_you_mean(col, rel.columns) or next(
                    (f'did you mean "{c}"?' for c in rel.columns if c.lower() == col.lower()), None
                )
                raise TdmError(
                    f"table {name}: {what} {col!r} is not in source {rel.kind} {rel.display}"
                    + (f"; {hint}" if hint else "")
                    + f" (its columns: {', '.join(rel.columns)})"
                )
        target = _Target(name, rel, key, where)
        for col, spec in table.columns.items():
            if col in columns:
                self._db.check_type(target, col, spec.logical)
        return target

    def _probe(self, target: _Target, start: int) -> tuple | None:
        """The key of row `start` (None past the end), checking it differs from row start-1.

        Counted from the nearest row before it whose key an earlier probe found (batches read in
        order then cost one batch of index entries each), else from the first row: OFFSET walks
        every row it skips, so probing each batch from the first row made reading a table
        quadratic (2M rows in batches of 20k: 11.3 s of probes in a 12.8 s read)."""
        known = self._bounds.setdefault((target.rel.display, target.key, target.where), {})
        if start in known:
            return known[start]
        anchor = max((r for r in known if r < start), default=0)
        cond = [self._db.keyset(target.key, known[anchor])] if anchor else []
        sql = (
            f"SELECT {target.key_list()} FROM {target.rel.sql}{target.filter(*cond)} "
            f"ORDER BY {target.order()} LIMIT 2 OFFSET {start - anchor - 1}"
        )
        with self._failing(target, f"finding the key of row {start}"):
            rows = self._db.fetch(sql)
        if len(rows) < 2:
            if anchor:
                self._check_no_null_keys(target)  # a keyset bound leaves out NULL keys
            return None
        before, bound = tuple(rows[0]), tuple(rows[1])
        if any(v is None for v in bound):
            raise self._null_key(target)
        if before == bound:
            raise self._duplicate_key(target, bound)
        known[start] = bound
        return bound

    def _select(
        self, target: _Target, table: TableSpec, schema: pa.Schema, sql_from: str, check_keys: bool
    ) -> pa.Table:
        kinds = [_logical(table, f) for f in schema]
        # Key columns the caller did not ask for are read too, to check them, then dropped.
        extra = [k for k in target.key if k not in schema.names] if check_keys else []
        kinds += [LogicalType("string")] * len(extra)
        names = [*schema.names, *extra]
        with self._failing(target, "reading rows"):
            columns = self._db.select(sql_from, names, kinds)
        arrays = dict(zip(names, columns, strict=True))
        if check_keys:
            self._check_keys(target, [arrays[k] for k in target.key])
        try:
            out = [_conform(arrays[f.name], f.type) for f in schema]
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
            raise TdmError(
                f"{target.about}: cannot convert values to the spec types: {e}"
            ) from None
        return pa.Table.from_arrays(out, schema=schema)
