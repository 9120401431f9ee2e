"""Subsets of a real PostgreSQL schema with every hard shape (a component of several cycles,
two self-references, a composite key, a key to a UNIQUE column, no primary key, nullable and
undeclared foreign keys): the rows chosen are exactly the closure, and they load into an empty
copy of the schema with every constraint enforced."""

from __future__ import annotations

import psycopg
import pyarrow.parquet as pq
import pytest

from tdm.plan.loading import load_spec
from tdm.produce.parquet_files import generate_to_dir
from tests.integration.subset.helpers import (
    ORDER,
    PARENTS_ONLY,
    copy_schema,
    extract,
    libpq,
    load,
    spec_text,
)

pytestmark = pytest.mark.xdist_group("postgres")

UNDECLARED = [("events", ("user_ref",), "emp", ("id",))]


def _edges(conn) -> list[tuple[str, tuple, str, tuple]]:
    rows = conn.execute(
        "SELECT conrelid::regclass::text, confrelid::regclass::text, "
        "(SELECT array_agg(attname::text ORDER BY k.i) FROM unnest(conkey) WITH ORDINALITY "
        "k(n, i) JOIN pg_attribute ON attrelid = conrelid AND attnum = k.n), "
        "(SELECT array_agg(attname::text ORDER BY k.i) FROM unnest(confkey) WITH ORDINALITY "
        "k(n, i) JOIN pg_attribute ON attrelid = confrelid AND attnum = k.n) "
        "FROM pg_constraint WHERE contype = 'f'"
    ).fetchall()
    return [(c, tuple(a), p, tuple(b)) for c, p, a, b in rows]


def _reference_closure(
    url: str,
    roots: dict[str, str],
    undeclared=UNDECLARED,
    children: bool = False,
    skip: frozenset = frozenset(),
) -> dict[str, set]:
    """The closure computed naively in Python from every row (ctid identities): parents of
    every chosen row; with `children`, children of rows taken as roots or children."""
    with psycopg.connect(libpq(url)) as conn:
        data = {}
        for t in ORDER:
            cur = conn.execute(f"SELECT ctid::text, * FROM {t}")
            names = [d.name for d in cur.description]
            data[t] = {r[0]: dict(zip(names, r, strict=True)) for r in cur.fetchall()}
        chosen = {t: set() for t in ORDER}
        for t, where in roots.items():
            chosen[t] |= {r[0] for r in conn.execute(f"SELECT ctid::text FROM {t} WHERE {where}")}
        edges = _edges(conn) + undeclared
    down = {t: set(v) for t, v in chosen.items()}

    def value(table: str, row: str, cols: tuple):
        v = tuple(data[table][row][k] for k in cols)
        return None if None in v else v

    changed = True
    while changed:
        changed = False
        for child, cols, parent, pcols in edges if children else []:
            if child in skip:
                continue
            keys = {value(parent, r, pcols) for r in down[parent]} - {None}
            found = {r for r in data[child] if value(child, r, cols) in keys}
            if not found <= down[child]:
                down[child] |= found
                chosen[child] |= found
                changed = True
        for child, cols, parent, pcols in edges:
            wanted = {
                tuple(data[child][c][k] for k in cols)
                for c in chosen[child]
                if all(data[child][c][k] is not None for k in cols)
            }
            found = {p for p, row in data[parent].items() if tuple(row[k] for k in pcols) in wanted}
            if not found <= chosen[parent]:
                chosen[parent] |= found
                changed = True
    return chosen


def test_the_closure_is_exact_and_loads_with_every_constraint(
    source, postgres_db, write_spec, tmp_path
):
    plan, counts, files = extract(write_spec, tmp_path, PARENTS_ONLY)
    percent = plan.subset.ids["bin"]
    bins = pq.read_table(files["bin"]).column("id").to_pylist()
    expected = _reference_closure(
        source,
        {
            "payment": "id <= 5 OR id % 900 = 9",
            "events": "id % 500 = 0",
            "bin": f"id IN ({', '.join(map(str, bins))})",
        },
    )
    assert len(percent) == len(bins) and 60 <= len(bins) <= 120  # 10 % of 900, by hash
    assert counts == {t: len(v) for t, v in expected.items()}
    # the undeclared relationship, the key to a UNIQUE column and the composite key were followed
    events = pq.read_table(files["events"]).column("user_ref").to_pylist()
    emps = set(pq.read_table(files["emp"]).column("id").to_pylist())
    assert events and set(events) <= emps
    numbers = pq.read_table(files["payment"]).column("account_number").to_pylist()
    assert None in numbers and {n for n in numbers if n} == set(
        pq.read_table(files["account"]).column("number").to_pylist()
    )
    assert counts["wh"] > 0 and counts["audit_log"] == 0  # nothing needs the log's rows

    target = postgres_db()
    copy_schema(source, target)
    load(target, files)  # raises on any orphan
    with psycopg.connect(libpq(target)) as conn:
        assert {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ORDER} == counts


def test_the_load_check_fails_on_an_orphan(source, postgres_db, write_spec, tmp_path):
    """The oracle above can fail: the same rows without one needed account do not load."""
    _, _, files = extract(write_spec, tmp_path, PARENTS_ONLY)
    accounts = pq.read_table(files["account"])
    pq.write_table(accounts.slice(1), files["account"])
    target = postgres_db()
    copy_schema(source, target)
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        load(target, files)


def test_children_follow_with_a_limit_per_parent_then_their_parents(
    source, postgres_db, write_spec, tmp_path
):
    subset = """
subset:
  roots: [{table: dept, where: "id = 3"}]
  children: {max_per_parent: 2, skip: [events]}
"""
    plan, counts, files = extract(write_spec, tmp_path, subset)
    log = pq.read_table(files["audit_log"]).column("emp_id").to_pylist()
    assert log, "rows without a primary key are taken as children"
    assert max(log.count(e) for e in set(log)) <= 2
    assert set(log) <= set(pq.read_table(files["emp"]).column("id").to_pylist())
    assert counts["events"] == 0  # skipped
    why = plan.subset.reasons
    assert why["dept"]["root"] == 1 and why["audit_log"] == {"child of emp": counts["audit_log"]}
    assert any(k.startswith("child of") for k in why["emp"])
    target = postgres_db()
    copy_schema(source, target)
    load(target, files)


def test_percent_is_deterministic_per_seed(source, write_spec, tmp_path):
    subset = "subset:\n  roots: [{table: payment, percent: 5}]\n"
    a = load_spec(write_spec(spec_text("SUBSET_SOURCE", subset), "a.yaml")).subset
    b = load_spec(write_spec(spec_text("SUBSET_SOURCE", subset), "b.yaml")).subset
    c = load_spec(write_spec(spec_text("SUBSET_SOURCE", "seed: 7\n" + subset), "c.yaml")).subset
    assert a.fingerprint == b.fingerprint and (a.ids["payment"] == b.ids["payment"]).all()
    assert a.fingerprint != c.fingerprint
    assert 100 <= len(a.ids["payment"]) <= 200  # 5 % of 3,000


def test_batches_in_worker_processes_give_the_same_files(source, write_spec, tmp_path):
    """The chosen rows travel with the plan: two worker processes read the same rows."""
    plan = load_spec(write_spec(spec_text("SUBSET_SOURCE", PARENTS_ONLY, batch_size=50)))
    one = generate_to_dir(plan, tmp_path / "one")
    two = generate_to_dir(plan, tmp_path / "two", workers=2)
    assert one == two and one["emp"] > 100
    for t in ORDER:
        assert (tmp_path / "one" / f"{t}.parquet").read_bytes() == (
            tmp_path / "two" / f"{t}.parquet"
        ).read_bytes()


def test_a_table_without_a_key_can_be_a_root_by_percent(source, postgres_db, write_spec, tmp_path):
    subset = "subset:\n  roots: [{table: audit_log, percent: 10}]\n"
    plan, counts, files = extract(write_spec, tmp_path, subset)
    again = load_spec(write_spec(spec_text("SUBSET_SOURCE", subset), "again.yaml")).subset
    assert (again.ids["audit_log"] == plan.subset.ids["audit_log"]).all()  # the row's text hash
    assert 450 <= counts["audit_log"] <= 750  # 10 % of 6,000
    needed = set(pq.read_table(files["audit_log"]).column("emp_id").to_pylist())
    assert needed <= set(pq.read_table(files["emp"]).column("id").to_pylist())
    target = postgres_db()
    copy_schema(source, target)
    load(target, files)


def test_children_without_a_limit_and_a_relationship_to_a_column_without_an_index(
    source, postgres_db, write_spec, tmp_path
):
    """Recursive descendants of a self-reference, and a lookup PostgreSQL must plan without an
    index (account.holder_id): the same rows as the naive closure, and they load."""
    subset = """
subset:
  roots: [{table: emp, where: "id IN (41, 1203)"}, {table: events, where: "id = 77"}]
  children: {skip: [audit_log, bin]}
  relationships:
    - {columns: events.user_ref, references: emp.id}
    - {columns: events.user_ref, references: account.holder_id}
"""
    _, counts, _ = extract(write_spec, tmp_path, subset)
    expected = _reference_closure(
        source,
        {"emp": "id IN (41, 1203)", "events": "id = 77"},
        [*UNDECLARED, ("events", ("user_ref",), "account", ("holder_id",))],
        children=True,
        skip=frozenset({"audit_log", "bin"}),
    )
    assert counts == {t: len(v) for t, v in expected.items()}
    assert counts["account"] > 0 and counts["emp"] > 40  # descendants down two boss chains
