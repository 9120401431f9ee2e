"""plan_for_run: the plan a run produces -- the loaded plan itself, the dataset under another seed,
or its spec file read again -- always on the loaded plan's batch partitions, and kept per process
so every step of a run agrees."""

from __future__ import annotations

import hashlib
import itertools
import sqlite3
import textwrap

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from tdm.core.errors import SpecError
from tdm.plan import loading
from tdm.plan.loading import load_spec, plan_for_run
from tests.conftest import CUSTOMERS_ORDERS


@pytest.fixture(autouse=True)
def replans(monkeypatch) -> list[tuple]:
    """Every call of `replan` that plan_for_run makes."""
    calls: list[tuple] = []
    real = loading.replan

    def counted(plan, seed=None, reread=False, scale=None):
        calls.append((seed, reread))
        return real(plan, seed=seed, reread=reread, scale=scale)

    monkeypatch.setattr(loading, "replan", counted)
    return calls


@pytest.fixture
def spec(write_spec):
    return write_spec(CUSTOMERS_ORDERS, "shop.yaml")


def produced(plan, table: str) -> pa.Table:
    """The table generated batch by batch over the plan's partitions, checking they cover it."""
    blocks = [plan.block(table, i) for i in range(plan.batches)]
    assert blocks[0][0] == 0 and blocks[-1][1] == plan.rows[table]
    assert all(a[1] == b[0] for a, b in itertools.pairwise(blocks))
    return pa.concat_tables([plan.generate(table, s, e) for s, e in blocks])


def test_the_same_plan_when_nothing_changed(spec, replans):
    plan = load_spec(spec)
    assert plan_for_run(plan) is plan
    assert plan_for_run(plan, plan.spec.seed) is plan
    assert plan_for_run(plan, None, "some-run") is plan
    assert replans == []


def test_another_seed_gives_that_seed_on_the_same_batch_partitions(spec):
    plan = load_spec(spec)
    fresh = load_spec(spec, seed=4)
    assert (plan.batches, fresh.batches) == (5, 6)  # on its own, seed 4 needs six partitions

    run = plan_for_run(plan, 4)

    assert run is not plan and run.spec.seed == 4 and plan.spec.seed == 3
    assert run.fixed_batches == 5 and run.batch_keys() == plan.batch_keys()
    assert run.rows == fresh.rows and run.rows != plan.rows
    for table in run.order:  # the same rows as a plan made for seed 4, in five partitions
        assert produced(run, table).equals(fresh.generate(table, 0, fresh.rows[table])), table


def test_an_edited_spec_file_is_read_again(spec, replans):
    plan = load_spec(spec)
    original = spec.read_text()
    spec.write_text(original.replace("rows: 120", "rows: 140").replace("max: 90", "max: 40"))

    run = plan_for_run(plan)

    assert run is not plan and replans == [(None, True)]
    assert run.rows["customers"] == 140 and plan.rows["customers"] == 120
    assert run.source_hash == hashlib.sha256(spec.read_bytes()).hexdigest() != plan.source_hash
    assert run.batch_keys() == plan.batch_keys()
    ages = produced(run, "customers").column("age")
    assert pc.max(ages).as_py() <= 40 < pc.max(plan.generate("customers", 0, 120)["age"]).as_py()

    spec.write_text(original)  # edited back: the loaded plan is current again
    assert plan_for_run(plan) is plan


def test_an_edit_that_changes_the_tables_asks_for_a_reload(spec):
    plan = load_spec(spec)
    spec.write_text(CUSTOMERS_ORDERS.replace("  orders:", "  purchases:"))
    with pytest.raises(SpecError, match="tables changed since the code location loaded"):
        plan_for_run(plan)


def test_results_are_cached_per_plan_seed_and_file_hash(spec, replans):
    plan = load_spec(spec)
    seeded = plan_for_run(plan, 4, "run-1")
    assert plan_for_run(plan, 4, "run-2") is seeded  # generated data: the run does not matter
    assert len(replans) == 1

    other_seed = plan_for_run(plan, 5)
    assert other_seed is not seeded and other_seed.spec.seed == 5
    twin = load_spec(spec)  # another plan of the same file: a cache entry of its own
    assert plan_for_run(twin, 4) is not seeded
    assert len(replans) == 3

    original = spec.read_text()
    spec.write_text(original.replace("max: 90", "max: 40"))
    edited = plan_for_run(plan, 4)
    assert edited is not seeded and edited.spec.seed == 4
    assert pc.max(edited.generate("customers", 0, 120)["age"]).as_py() <= 40
    assert plan_for_run(plan, 4) is edited and len(replans) == 4

    spec.write_text(original)
    assert plan_for_run(plan, 4) is seeded and len(replans) == 4


def test_the_cache_lives_on_its_plan_and_keeps_the_last_runs(spec, replans):
    """A plan made after another was freed must not get the freed plan's run plans (an id()
    key would give them), and a long-lived code location keeps only the last few."""
    plan = load_spec(spec)
    big = plan_for_run(plan, 99)
    del plan
    other = load_spec(spec)
    assert plan_for_run(other, 99) is not big
    for seed in range(100, 100 + loading.RUNS_KEPT + 3):
        plan_for_run(other, seed)
    assert len(other.runs) == loading.RUNS_KEPT
    assert [key[0] for key in other.runs][-1] == 100 + loading.RUNS_KEPT + 2


def test_extracted_data_is_counted_again_for_each_run(tmp_path, write_spec):
    db = tmp_path / "src.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE people (id INTEGER PRIMARY KEY, city TEXT)")
        conn.executemany("INSERT INTO people VALUES (?, 'Springfield')", [(i,) for i in range(100)])
    text = f"""
        dataset: ext
        seed: 1
        batch_size: 40
        reference_date: 2026-01-01
        source: {{url: "sqlite:///{db}"}}
        tables:
          people:
            source: true
            primary_key: id
            columns:
              id: {{type: int}}
              city: {{type: string, allow: public town names}}
    """
    plan = load_spec(write_spec(textwrap.dedent(text), "ext.yaml"))
    assert plan.rows == {"people": 100} and plan.batches == 3

    first = plan_for_run(plan, None, "run-1")
    assert first is not plan and plan_for_run(plan, None, "run-1") is first
    with sqlite3.connect(db) as conn:
        conn.executemany(
            "INSERT INTO people VALUES (?, 'Shelbyville')", [(i,) for i in range(100, 130)]
        )

    second = plan_for_run(plan, None, "run-2")
    assert second.rows == {"people": 130} and first.rows == {"people": 100}
    assert second.batch_keys() == plan.batch_keys()  # the last partition takes the new rows
    assert second.block("people", 2) == (80, 130)
    assert produced(second, "people").column("id").to_pylist() == list(range(130))
