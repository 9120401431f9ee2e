"""`tables: existing`: fill the application's own tables, which its migrations own.

How a load works
    1. The live tables are read from the catalog and compared with the spec (tables, columns,
       types, NOT NULL columns the spec leaves empty, generated columns it would write), and
       tables outside the dataset that reference it are looked for: any mismatch is a TdmError
       before anything is written.
    2. ONE transaction: TRUNCATE the dataset's tables (ON TRUNCATE triggers fire; nothing else
       is touched: another table referencing them was refused above), then COPY each table's
       rows, parents first, straight into the table (binary COPY where every column has a
       binary form, CSV otherwise; row triggers fire as in production, constraints are checked
       as always). The tables of a foreign-key cycle are copied into temporary tables (pg_temp,
       not the application's schema) and inserted by one statement, so the database checks
       their keys once all rows are in, whatever NOT NULL or DEFERRABLE says. Identity and
       serial sequences are moved past the largest value written. tdm's note of which version
       the schema holds goes to the `tdm` schema (created in the same transaction).
    3. COMMIT. Readers see the old rows or the new ones (TRUNCATE holds its lock to the end);
       a failure or a kill at any moment rolls everything back, the `tdm` schema included.
tdm never creates, alters, drops or disables anything in the application's schema.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import time
from contextlib import suppress

import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv

from tdm.core.errors import TdmError
from tdm.core.graphs import components
from tdm.spec.model import DatasetSpec
from tdm.store.versions import VersionStore
from tdm.targets.base import LoadReport, Target
from tdm.targets.postgres.catalog import PgSchema, PgTable, read_catalog, referencing
from tdm.targets.postgres.errors import _Connections, describe
from tdm.targets.postgres.existing_compare import mismatches
from tdm.targets.postgres.existing_wire import binary_copy
from tdm.targets.postgres.meta import _Bookkeeping, _q

BOOK = "tdm"  # tdm's own schema, beside the application's
LOADS = f"{BOOK}.loads"
_LOADS_DDL = (
    f"CREATE TABLE IF NOT EXISTS {LOADS} (schema_name text, dataset text, version text NOT NULL,"
    " loaded_at timestamptz NOT NULL, tables jsonb NOT NULL, rows jsonb NOT NULL,"
    " spec json, PRIMARY KEY (schema_name, dataset))"
)


class ExistingTablesTarget(_Bookkeeping, _Connections, Target):
    kind = "postgresql"

    def __init__(
        self,
        url: str,
        schema: str | None = None,
        *,
        wait_timeout: float = 600.0,
        lock_timeout: float = 60.0,
    ):
        self.url = url
        self.schema = schema or "public"
        self.wait_timeout = wait_timeout
        self.lock_timeout = lock_timeout
        self._parse(url)

    def schema_for(self, dataset: str) -> str:
        return self.schema

    def location(self, dataset: str) -> str:
        return f"{self.display_url} (schema {self.schema}, existing tables)"

    # -- what others call ----------------------------------------------------------------------

    def current(self, dataset: str) -> dict | None:
        head = f"reading which version of {dataset} {self.location(dataset)} holds"
        with self._failing(head), self.connect() as conn:
            row = self._held(conn, dataset, "version, loaded_at, tables, rows")
        if not row:
            return None
        return {
            "version": row[0],
            "loaded_at": row[1].astimezone(dt.UTC).isoformat(timespec="seconds"),
            "tables": list(row[2]),
            "rows": dict(row[3]),
            "schema": self.schema,
        }

    def drift(self, dataset: str) -> list[dict]:
        """How the live tables differ from the spec of the version they hold; [] when they
        match. Each difference is a dict with `table` and `message`."""
        head = f"checking {dataset} in {self.location(dataset)} for drift"
        with self._failing(head), self.connect() as conn:
            row = self._held(conn, dataset, "tables, spec")
            if row is None:
                raise TdmError(f"{head}: no version of {dataset} is loaded there")
            catalog = read_catalog(conn, self.schema)
        spec = DatasetSpec.model_validate(row[1])
        return [{"table": t, "message": m} for t, m in mismatches(spec, list(row[0]), catalog)]

    def load(self, store: VersionStore, dataset: str, version: str) -> LoadReport:
        started = time.perf_counter()
        manifest = store.manifest(dataset, version)
        spec = DatasetSpec.model_validate(manifest["spec"])
        order: list[str] = manifest["order"]
        head = f"loading {dataset} {version} into {self.location(dataset)}"
        state: dict = {"previous": None, "swapped": False}
        conn = self.connect(head)
        try:
            with self._failing(head, state):
                self._lock_dataset(conn, self.schema, dataset)
                catalog = read_catalog(conn, self.schema)
                problems = [m for _, m in mismatches(spec, order, catalog)]
                if problems:
                    raise TdmError(
                        "the application's tables do not match the spec, so nothing was "
                        "written:\n  " + "\n  ".join(problems)
                    )
                others = referencing(conn, self.schema, order)
                if others:
                    s, t, name, ref = others[0]
                    raise TdmError(
                        f"{s}.{t} references {ref} (foreign key {name}) but is not in the "
                        "dataset: emptying the dataset's tables would break it; add "
                        f"{t} to the spec, or load into a schema where nothing else points at them"
                    )
                held = self._held(conn, dataset, "version")
                state["previous"] = held[0] if held else None
                rows = self._fill(conn, store, manifest, spec, catalog)
                state["swapped"] = True
        finally:
            with suppress(Exception):
                conn.close()
        seconds = time.perf_counter() - started
        total = sum(rows.values())
        return LoadReport(
            dataset,
            version,
            rows,
            self.location(dataset),
            state["previous"],
            extra={
                "schema": self.schema,
                "seconds": round(seconds, 3),
                "rows_per_second": round(total / seconds) if seconds > 0 else None,
            },
        )

    # -- the load ------------------------------------------------------------------------------

    def _held(self, conn: psycopg.Connection, dataset: str, columns: str) -> tuple | None:
        """`columns` of the note of which version `dataset` is at here (None: none yet)."""
        if conn.execute("SELECT to_regclass(%s)", [LOADS]).fetchone()[0] is None:
            return None
        return conn.execute(
            f"SELECT {columns} FROM {LOADS} WHERE schema_name = %s AND dataset = %s",
            [self.schema, dataset],
        ).fetchone()

    def _fill(self, conn, store, manifest, spec: DatasetSpec, catalog: PgSchema) -> dict[str, int]:
        order: list[str] = manifest["order"]
        dataset, version = manifest["dataset"], manifest["version"]
        tables = {t: catalog.tables[t] for t in order}
        comp = components(catalog.parents(order))
        groups: dict[int, list[str]] = {}
        for t in order:
            groups.setdefault(comp[t], []).append(t)
        rows: dict[str, int] = {}
        with conn.transaction():
            conn.execute(
                "SELECT set_config('lock_timeout', %s, true)",
                [f"{round(self.lock_timeout * 1000)}ms"],
            )
            conn.execute("TRUNCATE " + ", ".join(self._name(t) for t in order))
            for number in sorted(groups):  # parents first (Tarjan numbers parents lower)
                group = groups[number]
                if len(group) == 1:
                    t = group[0]
                    rows[t] = self._copy(
                        conn, store, dataset, version, spec, tables[t], self._name(t)
                    )
                    continue
                inserts = []
                for i, t in enumerate(group):
                    temp = f"_tdm_cycle_{number}_{i}"
                    conn.execute(f"CREATE TEMP TABLE {temp} (LIKE {self._name(t)}) ON COMMIT DROP")
                    temp = f"pg_temp.{temp}"
                    rows[t] = self._copy(conn, store, dataset, version, spec, tables[t], temp)
                    cols = ", ".join(_q(c) for c in self._written(spec, tables[t]))
                    inserts.append(
                        f"i{i} AS (INSERT INTO {self._name(t)} ({cols}) "
                        f"OVERRIDING SYSTEM VALUE SELECT {cols} FROM {temp})"
                    )
                conn.execute("WITH " + ", ".join(inserts) + " SELECT 1")
            for t in order:
                self._advance_sequences(conn, spec, tables[t])
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {BOOK}")
            conn.execute(_LOADS_DDL)
            conn.execute(
                f"INSERT INTO {LOADS} VALUES (%s, %s, %s, now(), %s, %s, %s)"
                " ON CONFLICT (schema_name, dataset) DO UPDATE SET version = EXCLUDED.version,"
                " loaded_at = EXCLUDED.loaded_at, tables = EXCLUDED.tables, rows = EXCLUDED.rows,"
                " spec = EXCLUDED.spec",
                [
                    self.schema,
                    dataset,
                    version,
                    json.dumps(order),
                    json.dumps(rows),
                    json.dumps(manifest["spec"]),
                ],
            )
        return {t: rows[t] for t in order}

    def _name(self, table: str) -> str:
        return f"{_q(self.schema)}.{_q(table)}"

    def _written(self, spec: DatasetSpec, table: PgTable) -> list[str]:
        return [c for c in spec.tables[table.name].columns if not table.columns[c].generated]

    def _copy(self, conn, store, dataset, version, spec, table: PgTable, into: str) -> int:
        columns = self._written(spec, table)
        kinds = {c: spec.tables[table.name].columns[c].logical for c in columns}
        live = {c: table.columns[c].type for c in columns}
        binary = binary_copy(columns, kinds, live)
        cols = ", ".join(_q(c) for c in columns)
        fmt = "binary" if binary else "csv"
        count = 0
        try:
            sql = f"COPY {into} ({cols}) FROM STDIN (FORMAT {fmt})"
            with conn.cursor() as cur, cur.copy(sql) as copy:
                if binary:
                    copy.write(binary.header())
                for part in store.batches(dataset, version, table.name):
                    part = part.select(columns)
                    if binary:
                        copy.write(binary.encode(part))
                    else:
                        buf = io.BytesIO()
                        pacsv.write_csv(
                            part,
                            buf,
                            pacsv.WriteOptions(include_header=False, quoting_style="needed"),
                        )
                        copy.write(buf.getvalue())
                    count += part.num_rows
                if binary:
                    copy.write(binary.finish())
        except psycopg.Error as e:
            raise TdmError(f"table {table.name}: {describe(e)}{_trigger(e, table)}") from None
        except pa.ArrowException as e:
            raise TdmError(f"table {table.name}: {e}") from None
        return count

    def _advance_sequences(self, conn, spec: DatasetSpec, table: PgTable) -> None:
        """Identity, serial and nextval() sequences past the largest value written (never back:
        a sequence shared by several tables keeps the largest)."""
        for c in self._written(spec, table):
            col = table.columns[c]
            if not (col.identity or col.serial):
                continue
            seq = conn.execute(
                "SELECT pg_get_serial_sequence(%s, %s)", [self._name(table.name), c]
            ).fetchone()[0]
            if seq is None and col.default:  # DEFAULT nextval('a_sequence_it_does_not_own')
                named = re.match(r"nextval\('((?:[^']|'')+)'", col.default)
                seq = named.group(1).replace("''", "'") if named else None
            if seq:
                conn.execute(
                    "SELECT setval(%s::regclass, greatest(m, (SELECT last_value FROM "
                    f"{seq}))) FROM (SELECT max({_q(c)}) AS m FROM "
                    f"{self._name(table.name)}) x WHERE m IS NOT NULL",
                    [seq],
                )


def _trigger(e: psycopg.Error, table: PgTable) -> str:
    """' (raised by trigger t of table x)' when a trigger's function raised the error."""
    context = getattr(getattr(e, "diag", None), "context", None) or ""
    for name, _, definition in table.triggers:
        function = definition.rsplit("EXECUTE FUNCTION ", 1)[-1].split("(")[0].split(".")[-1]
        if function and f"function {function}(" in context.replace('"', ""):
            return f" (raised by trigger {name} on {table.name}, function {function})"
        if function and function in context:
            return f" (raised by trigger {name} on {table.name})"
    return ""
