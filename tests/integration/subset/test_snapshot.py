"""One exported snapshot for a whole `tdm generate` run: every reader, workers too, sees the
source the plan was made from, however the source changes meanwhile; the holding transaction
ends with the run; nothing is written; a holder gone is a clear error."""

from __future__ import annotations

import time

import psycopg
import pyarrow.parquet as pq
import pytest

from tdm.cli.main import main
from tdm.core.errors import TdmError
from tdm.plan.loading import load_spec
from tdm.produce.parquet_files import generate_to_dir
from tdm.source import SourceReader
from tdm.source.snapshot import one_snapshot
from tests.integration.subset.helpers import (
    ORDER,
    PARENTS_ONLY,
    copy_schema,
    libpq,
    load,
    spec_text,
)

pytestmark = pytest.mark.xdist_group("postgres")

# chosen rows changed after the plan is made: payments 3 and 5 are roots, 4 is deleted
CHANGES = [
    "UPDATE payment SET amount = amount + 1 WHERE id = 3",
    "UPDATE payment SET account_number = NULL WHERE id = 5",
    "DELETE FROM payment WHERE id = 4",
    "UPDATE emp SET label = 'moved' WHERE id IN (SELECT holder_id FROM account)",
]
WHOLE = """
dataset: whole
source: {url: "${SUBSET_SOURCE}"}
batch_size: 100
tables:
  account:
    source: true
    primary_key: [id]
    columns:
      id: {type: int, allow: test data}
      number: {type: string, allow: test data}
      holder_id: {type: int, allow: test data}
  payment:
    source: true
    primary_key: [id]
    columns:
      id: {type: int, allow: test data}
      account_number: {type: string, allow: test data}
      amount: {type: "decimal(10,2)", allow: test data}
"""


@pytest.fixture
def read_only(source, monkeypatch):
    """SUBSET_SOURCE as a role that may only SELECT (no TEMP, every transaction read-only)."""
    db = libpq(source).split("dbname=")[1]
    role = f"ro_{db}"  # roles are cluster-wide: one per test database
    with psycopg.connect(libpq(source), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
        conn.execute(f'REVOKE TEMP ON DATABASE "{db}" FROM PUBLIC')
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
        conn.execute(f"ALTER ROLE {role} SET default_transaction_read_only = on")
    monkeypatch.setenv("SUBSET_SOURCE", source.replace("postgres@", f"{role}@"))
    copies: list[str] = []  # databases the schema was copied into, with its grants
    yield source, copies
    for url in [*copies, source]:
        with psycopg.connect(libpq(url), autocommit=True) as conn:
            conn.execute(f"DROP OWNED BY {role}")
    with psycopg.connect(libpq(source), autocommit=True) as conn:
        conn.execute(f"DROP ROLE {role}")


def writes(url: str) -> dict[str, tuple[int, int, int]]:
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        conn.execute("SELECT pg_stat_force_next_flush()")
        rows = conn.execute(
            "SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables"
        ).fetchall()
    return {r[0]: tuple(r[1:]) for r in rows}


def change(url: str, statements: list[str]) -> list[int]:
    """Run `statements` as the owner (not tdm): the rows each changed."""
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        done = [conn.execute(sql).rowcount for sql in statements]
        conn.execute("SELECT pg_stat_force_next_flush()")
    return done


def plus(before: dict, own: dict[str, tuple[int, int, int]]) -> dict:
    return {
        t: tuple(map(sum, zip(n, own.get(t, (0, 0, 0)), strict=True))) for t, n in before.items()
    }


def written(url: str, want: dict) -> dict:
    """The write counters, once they are `want` or after 5 s (a closed session's counters
    reach pg_stat_user_tables a moment after it ends)."""
    deadline = time.monotonic() + 5
    while (now := writes(url)) != want and time.monotonic() < deadline:
        time.sleep(0.1)
    return now


def ours(url: str, wait: float = 5) -> list[tuple]:
    """Sessions tdm opened on the source database: (pid, state), waiting up to `wait` seconds
    for worker processes' sessions to end."""
    db = libpq(url).split("dbname=")[1]
    deadline = time.monotonic() + wait
    while True:
        with psycopg.connect(libpq(url), autocommit=True) as conn:
            found = conn.execute(
                "SELECT pid, state FROM pg_stat_activity WHERE datname = %s AND "
                "application_name = 'tdm-extract'",
                (db,),
            ).fetchall()
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def tables(out) -> dict:
    return {p.stem: pq.read_table(p) for p in sorted(out.glob("*.parquet"))}


def test_workers_read_the_snapshot_the_subset_was_chosen_in(
    read_only, postgres_db, write_spec, tmp_path
):
    read_only, copies = read_only
    spec = write_spec(spec_text("SUBSET_SOURCE", PARENTS_ONLY))
    generate_to_dir(load_spec(spec), tmp_path / "before")  # the source as it was: the baseline
    counted = writes(read_only)
    with one_snapshot():
        plan = load_spec(spec)
        assert plan.exported_snapshot and plan.subset.snapshot == plan.exported_snapshot
        changed = change(read_only, CHANGES)
        rows = generate_to_dir(plan, tmp_path / "during", workers=2)
    assert rows["payment"] == 9
    before, during = tables(tmp_path / "before"), tables(tmp_path / "during")
    assert list(during) == sorted(ORDER)
    for name, table in before.items():
        assert during[name].equals(table), name
    assert ours(read_only) == []  # no session left behind, idle in a transaction or not
    target = postgres_db()
    copies.append(target)
    copy_schema(read_only, target)
    load(target, {t: tmp_path / "during" / f"{t}.parquet" for t in ORDER})  # zero orphans
    assert changed[:3] == [1, 1, 1] and changed[3] > 100
    own = {"payment": (0, 2, 1), "emp": (0, changed[3], 0)}  # the test's, none of tdm's
    assert written(read_only, plus(counted, own)) == plus(counted, own)


def test_every_reader_sees_one_snapshot(source, write_spec):
    with one_snapshot():
        plan = load_spec(write_spec(spec_text("SUBSET_SOURCE", PARENTS_ONLY)))
        first, second = (SourceReader(plan.reader().url) for _ in range(2))
        first.use_snapshot(plan.exported_snapshot)
        second.use_snapshot(plan.exported_snapshot)
        sql = "SELECT pg_current_snapshot()::text, (SELECT amount FROM payment WHERE id = 3)"
        seen = first._db.fetch(sql)[0]
        change(source, ["UPDATE payment SET amount = amount + 1 WHERE id = 3"])
        assert second._db.fetch(sql)[0] == seen
        assert first._db.fetch(sql)[0] == seen
        with psycopg.connect(libpq(source)) as conn:
            now = conn.execute("SELECT amount FROM payment WHERE id = 3").fetchone()[0]
        assert now == seen[1] + 1
    assert ours(source) == []


def test_tdm_generate_with_workers_holds_nothing_after_the_run(
    read_only, write_spec, tmp_path, capsys
):
    read_only, _ = read_only
    spec = write_spec(spec_text("SUBSET_SOURCE", PARENTS_ONLY))
    counted = writes(read_only)
    out = tmp_path / "out"
    assert main(["generate", str(spec), "--out", str(out), "--workers", "2", "--quiet"]) == 0
    assert pq.read_table(out / "payment.parquet").num_rows == 9
    assert ours(read_only) == []
    assert written(read_only, counted) == counted


@pytest.mark.parametrize("stop", [RuntimeError, KeyboardInterrupt])
def test_a_failed_run_closes_the_snapshot(source, write_spec, stop):
    plan = None
    with pytest.raises(stop), one_snapshot():
        plan = load_spec(write_spec(spec_text("SUBSET_SOURCE", PARENTS_ONLY)))
        plan.generate("payment", 0, 3)
        held = ours(source, wait=0)  # the holder and this process's reader
        assert len(held) == 2 and {s for _, s in held} == {"idle in transaction"}
        raise stop("stop")
    assert plan is not None and ours(source) == []


def test_a_holder_gone_is_a_clear_error(source, write_spec):
    db = libpq(source).split("dbname=")[1]
    with one_snapshot():
        plan = load_spec(write_spec(spec_text("SUBSET_SOURCE", PARENTS_ONLY)))
        plan.reader().close()
        with psycopg.connect(libpq(source), autocommit=True) as conn:
            killed = conn.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
                "datname = %s AND application_name = 'tdm-extract'",
                (db,),
            ).fetchone()[0]
        assert killed == 1  # the holding transaction
        with pytest.raises(TdmError) as err:
            plan.generate("payment", 0, plan.rows["payment"])
    message = str(err.value)
    assert f"the snapshot {plan.exported_snapshot} exported by" in message
    assert "is gone" in message and "run again" in message and "table payment" in message


def test_whole_tables_with_workers_read_the_snapshot_they_were_counted_in(
    read_only, write_spec, tmp_path
):
    read_only, _ = read_only
    spec = write_spec(WHOLE, "whole.yaml")
    base = load_spec(spec)
    generate_to_dir(base, tmp_path / "before", batch_size=100)
    fingerprint = base.snapshot()
    base.reader().close()
    with one_snapshot():
        plan = load_spec(spec)
        assert plan.exported_snapshot and plan.subset is None
        change(read_only, [
            "UPDATE payment SET amount = amount + 1 WHERE id IN (3, 2500)",
            "DELETE FROM payment WHERE id IN (10, 2999)",
            "INSERT INTO payment VALUES (0, NULL, 1), (5000, NULL, 2)",
        ])  # fmt: skip
        rows = generate_to_dir(plan, tmp_path / "during", batch_size=100, workers=2)
        assert plan.snapshot() == fingerprint  # the version's source fingerprint too
    assert rows == {"account": 500, "payment": 3000}
    before, during = tables(tmp_path / "before"), tables(tmp_path / "during")
    assert all(during[t].equals(before[t]) for t in before)
    assert ours(read_only) == []
