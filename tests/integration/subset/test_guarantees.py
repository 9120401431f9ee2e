"""What a subset guarantees beyond its rows: one snapshot or a clear failure, a source that is
only read, and every mistake in its SQL or its access a clear error, never a traceback."""

from __future__ import annotations

import psycopg
import pytest

from tdm.core.errors import SpecError, TdmError
from tdm.plan.loading import load_spec
from tests.integration.subset.helpers import PARENTS_ONLY, extract, libpq, spec_text

pytestmark = pytest.mark.xdist_group("postgres")


def test_a_bad_where_is_a_spec_problem_naming_the_root(source, write_spec, tmp_path):
    subset = 'subset:\n  roots: [{table: payment, where: "amont > 3"}]\n'
    with pytest.raises(SpecError) as err:
        load_spec(write_spec(spec_text("SUBSET_SOURCE", subset)))
    [p] = err.value.problems
    assert p.path == "subset.roots[0].where"
    assert 'column "amont" does not exist' in p.message and "public.payment" in p.message
    assert "SELECT count(*) FROM public.payment WHERE" in p.hint
    lines = spec_text("x", subset).splitlines()
    assert p.line == next(i for i, line in enumerate(lines, 1) if "amont" in line)


def test_a_changed_source_row_fails_the_batch_instead_of_mixing_snapshots(
    source, write_spec, tmp_path
):
    plan = load_spec(write_spec(spec_text("SUBSET_SOURCE", PARENTS_ONLY)))
    first = plan.generate("payment", 0, plan.rows["payment"])
    assert first.num_rows == plan.rows["payment"]
    with psycopg.connect(libpq(source)) as conn:
        conn.execute("UPDATE payment SET amount = amount + 1 WHERE id = 3")
    with pytest.raises(TdmError, match=r"1 of the \d+ chosen rows .* updated, deleted or moved"):
        plan.generate("payment", 0, plan.rows["payment"])
    again = load_spec(write_spec(spec_text("SUBSET_SOURCE", PARENTS_ONLY), "again.yaml"))
    assert again.snapshot() != plan.snapshot()  # so another version id: a new version
    assert again.generate("payment", 0, again.rows["payment"]).num_rows == first.num_rows


def test_the_source_is_only_read(source, write_spec, tmp_path, monkeypatch):
    """A role that may only SELECT (no TEMP, every transaction read-only) subsets and extracts."""
    db = libpq(source).split("dbname=")[1]
    role = f"ro_{db}"  # roles are cluster-wide: one per test database
    with psycopg.connect(libpq(source), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
        conn.execute(f'REVOKE TEMP ON DATABASE "{db}" FROM PUBLIC')
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
        conn.execute(f"ALTER ROLE {role} SET default_transaction_read_only = on")
        before = conn.execute("SELECT sum(n_tup_ins + n_tup_upd + n_tup_del) "
                              "FROM pg_stat_user_tables").fetchone()[0]  # fmt: skip
    try:
        monkeypatch.setenv("SUBSET_SOURCE", source.replace("postgres@", f"{role}@"))
        _, counts, _ = extract(write_spec, tmp_path, PARENTS_ONLY)
        assert counts["payment"] == 9 and sum(counts.values()) > 100
    finally:
        with psycopg.connect(libpq(source), autocommit=True) as conn:
            after = conn.execute("SELECT pg_stat_force_next_flush(), sum(n_tup_ins + n_tup_upd "
                                 "+ n_tup_del) FROM pg_stat_user_tables").fetchone()[1]  # fmt: skip
            conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE {role}")
    assert after == before


def test_a_table_the_source_user_may_not_read_is_a_clear_error(source, write_spec, monkeypatch):
    db = libpq(source).split("dbname=")[1]
    role = f"np_{db}"
    with psycopg.connect(libpq(source), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
        conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
        conn.execute(f"REVOKE SELECT ON events FROM {role}")
    try:
        monkeypatch.setenv("SUBSET_SOURCE", source.replace("postgres@", f"{role}@"))
        with pytest.raises(TdmError) as err:
            load_spec(write_spec(spec_text("SUBSET_SOURCE", PARENTS_ONLY)))
    finally:
        with psycopg.connect(libpq(source), autocommit=True) as conn:
            conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE {role}")
    assert not isinstance(err.value, SpecError)
    assert "permission denied for table events" in str(err.value)
    assert "grant the source user SELECT" in str(err.value)


@pytest.mark.parametrize(
    ("subset", "path", "words"),
    [
        (
            'subset:\n  roots: [{table: events, where: "id / 0 > 1"}]\n',
            "subset.roots[0].where",
            "division by zero",
        ),
        (
            "subset:\n  roots: [{table: events}]\n  relationships:\n"
            "    - {columns: events.kind, references: emp.id}\n",
            "subset.relationships[0]",
            "operator does not exist: integer = text",
        ),
    ],
)
def test_sql_the_source_refuses_is_a_spec_problem(source, write_spec, subset, path, words):
    with pytest.raises(SpecError) as err:
        load_spec(write_spec(spec_text("SUBSET_SOURCE", subset)))
    [p] = err.value.problems
    assert p.path == path and words in p.message and p.line and p.hint
