"""Bounds that keep memory and time independent of hostile row counts and spec sizes."""

from __future__ import annotations

import itertools
import pickle
import textwrap
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

import tdm.plan.compile
import tdm.plan.per_parent
from tdm.core.errors import SpecError, TdmError
from tdm.core.rand import RowRandom, stream_key
from tdm.plan.loading import load_spec
from tdm.plan.model import MAX_BATCHES, MAX_COUNTED_PARENTS
from tdm.produce.parquet_files import _bounded_map, blocks
from tdm.spec.model import MAX_ROWS

PER_PARENT = """
dataset: tree
seed: 5
tables:
  customers:
    rows: {customers}
    primary_key: id
    columns:
      id: {{type: int, generator: sequence}}
  orders:
    rows: {orders}
    primary_key: id
    columns:
      id: {{type: int, generator: sequence}}
      customer_id: {{type: int, references: customers}}
"""


def spec(write_spec, customers="1000", orders="{per: customers, lam: 3}", **top) -> str:
    text = PER_PARENT.format(customers=customers, orders=orders)
    for key, value in top.items():
        text = text.replace("seed: 5", f"seed: 5\n{key}: {value}")
    return write_spec(text)


def test_rows_per_parent_are_counted_in_blocks_with_the_same_result(write_spec, monkeypatch):
    path = spec(write_spec, customers="50000")
    whole = load_spec(path)
    parents = whole.rows["customers"]
    rows = whole.spec.tables["orders"].rows
    rr = RowRandom(stream_key(whole.spec.seed, "orders", "__rows__"), 0, parents)
    expected = np.cumsum(np.maximum(rows.sample(rr, integer=True), 0))
    monkeypatch.setattr(tdm.plan.compile, "BLOCK", 4096 * 3)  # 5 blocks, the last partial
    monkeypatch.setattr(tdm.plan.compile, "_COUNT_BLOCK", 4096 * 6)
    monkeypatch.setattr(tdm.plan.per_parent, "CACHED", 2)  # blocks drawn again and again
    blocked = load_spec(path)
    assert len(blocked.per_parent["orders"].marks) == 5
    for plan in (blocked, whole):
        per = plan.per_parent["orders"]
        assert np.array_equal(per.ends(0, parents), expected)
        assert np.array_equal(per.ends(12000, 40000), expected[12000:40000])
        assert [per.end(p) for p in (-1, 0, 12287, 12288, parents - 1)] == [
            0, *(int(expected[p]) for p in (0, 12287, 12288, parents - 1))
        ]  # fmt: skip
    assert blocked.per_parent["orders"].largest == int(np.diff(expected, prepend=0).max())
    assert blocked.rows["orders"] == int(expected[-1])


def test_parents_and_ordinals_of_child_rows_are_those_of_every_count_in_memory(
    write_spec, monkeypatch
):
    """Any child rows, in order or not, across blocks, past the last child: the parent and the
    position under it are what searching every parent's end gives."""
    monkeypatch.setattr(tdm.plan.compile, "BLOCK", 1000)
    monkeypatch.setattr(tdm.plan.per_parent, "CACHED", 3)
    plan = load_spec(spec(write_spec, customers="20000", orders="{per: customers, lam: 0.7}"))
    per = plan.per_parent["orders"]
    ends = per.ends(0, per.parents)
    assert (np.diff(ends, prepend=0) == 0).mean() > 0.4  # many parents without children
    rng = np.random.default_rng(3)
    for idx in (
        np.arange(0, per.total),
        np.arange(5000, 9000),
        np.arange(per.total - 700, per.total + 30),  # a run past the last child
        np.arange(per.total + 3, per.total + 9),
        np.arange(int(ends[10]), int(ends[10]) + 2),  # starting at a parent's first child
        np.arange(1, 2999, 2),  # ordered, not a run
        *(
            np.arange(a, a + n)
            for a, n in zip(rng.integers(0, 14000, 30), rng.integers(2, 4000, 30), strict=True)
        ),
        rng.integers(0, per.total + 50, 3000),  # unordered, some past the last child
        np.array([], dtype=np.int64),
    ):
        parent = np.searchsorted(ends, idx, side="right")
        assert np.array_equal(per.parent_of(idx), parent)
        start = np.where(parent > 0, ends[np.maximum(parent - 1, 0)], 0)
        assert np.array_equal(per.ordinal(idx), idx - start)
    assert pickle.loads(pickle.dumps(per)).ends(0, per.parents).tolist() == ends.tolist()


def test_counting_rows_per_parent_has_a_bound_named_with_its_fix(write_spec):
    path = spec(write_spec, customers=str(MAX_COUNTED_PARENTS + 1))
    with pytest.raises(SpecError) as info:
        load_spec(path)
    [problem] = info.value.problems
    assert problem.path == "tables.orders.rows" and problem.line == 10
    assert f"at most {MAX_COUNTED_PARENTS:,} parent rows" in problem.message
    assert "give orders a whole number of rows" in problem.hint


@pytest.mark.parametrize(
    "orders",
    [
        "{per: customers, distribution: fixed, value: 1.0e+15}",  # adds up beyond MAX_ROWS
        "{per: customers, distribution: fixed, value: 1.0e+300}",  # beyond int64
        "{per: customers, distribution: poisson, lam: 1.0e+300}",  # numpy could not draw it
        "{per: customers, distribution: poisson, lam: .inf}",
    ],
)
def test_absurd_rows_per_parent_are_problems_not_crashes(write_spec, orders):
    with pytest.raises(SpecError) as info:
        load_spec(spec(write_spec, orders=orders))
    [problem] = info.value.problems
    assert problem.path == "tables.orders.rows"
    assert (
        f"more than {MAX_ROWS:,} rows" in problem.message
        or "lam must be <= 1e+15" in problem.message
        or "lam must be a finite number" in problem.message
    ), problem.message


def test_too_many_batch_partitions_fail_before_any_work_and_the_fix_works(write_spec):
    path = spec(write_spec, customers=str(MAX_BATCHES * 10_000 + 1), orders="5")
    plan = load_spec(path)  # planning itself does not enumerate batches
    with pytest.raises(SpecError) as info:
        plan.batch_keys()
    [problem] = info.value.problems
    assert problem.path == "batch_size"
    assert f"make {MAX_BATCHES + 1:,} batch partitions" in problem.message
    suggested = problem.hint.split("batch_size: ")[1].split("`")[0]
    fixed = load_spec(
        spec(write_spec, customers=str(MAX_BATCHES * 10_000 + 1), orders="5", batch_size=suggested)
    )
    assert len(fixed.batch_keys()) <= MAX_BATCHES


def test_rows_beyond_what_any_run_holds_say_so(write_spec):
    plan = load_spec(spec(write_spec, customers=str(10**12), orders="5"))
    with pytest.raises(SpecError, match=r"lower the rows of customers to 250,000,000,000"):
        plan.check_batches()


@pytest.mark.parametrize("scale", [1e-9, 0.0001])
def test_a_tiny_scale_keeps_at_least_one_row(write_spec, scale):
    plan = load_spec(spec(write_spec, customers="1000", orders="7"), scale=scale)
    assert plan.rows["customers"] == 1 and plan.rows["orders"] == 1


@pytest.mark.parametrize("scale", [0, -1, float("inf"), float("nan"), 1e300])
def test_scales_out_of_range_are_errors(write_spec, scale):
    with pytest.raises(TdmError, match="scale"):
        load_spec(spec(write_spec), scale=scale)


@pytest.mark.parametrize("seed", [-1, 2**63, 2**64])
def test_seeds_out_of_range_are_errors(write_spec, seed):
    with pytest.raises(TdmError, match="0 <= seed < 2\\*\\*63"):
        load_spec(spec(write_spec), seed=seed)


def test_batches_are_enumerated_lazily_and_submitted_a_few_at_a_time():
    consumed = 0

    def work():
        nonlocal consumed
        for start, stop in blocks(10**15, 1000):  # 10^12 blocks: a list would not fit
            consumed += 1
            yield ("t", start, stop)

    with ProcessPoolExecutor(1, initializer=_start_echo) as pool:
        first = list(itertools.islice(_bounded_map(pool, work(), window=4), 3))
    assert [f.num_rows for f in first] == [1000, 1000, 1000]
    assert consumed <= 4 + 3


def _start_echo() -> None:
    """A worker whose producer returns an empty table of the block's length."""
    import pyarrow as pa

    import tdm.produce.parquet_files as gen

    class Echo:
        def __call__(self, block):
            _, start, stop = block
            return pa.table({"i": pa.array(np.arange(start, stop))})

    gen._WORKER[:] = [Echo()]


def test_ten_thousand_tables_plan_in_seconds(tmp_path):
    """A wide spec: every table references an earlier one, listed children first."""
    n = 10_000
    parts = ["dataset: wide", "seed: 1", "tables:"]
    for i in reversed(range(n)):
        ref = f", parent_id: {{type: int, references: t{i // 2}}}" if i else ""
        parts.append(
            f"  t{i}: {{rows: 3, primary_key: id, columns: "
            f"{{id: {{type: int, generator: sequence}}{ref}}}}}"
        )
    path = tmp_path / "wide.yaml"
    path.write_text("\n".join(parts) + "\n")
    started = time.perf_counter()
    plan = load_spec(path)
    seconds = time.perf_counter() - started
    print(f"10,000 tables planned in {seconds:.1f} s")
    position = {t: i for i, t in enumerate(plan.order)}
    assert len(position) == n
    assert all(position[f"t{i // 2}"] < position[f"t{i}"] for i in range(1, n))


def test_the_plan_order_is_parents_first_in_spec_order(write_spec):
    text = textwrap.dedent(
        """
        dataset: order
        tables:
          c: {rows: 1, primary_key: id, columns: {id: {type: int, generator: sequence},
              a_id: {type: int, references: a}, b_id: {type: int, references: b}}}
          b: {rows: 1, primary_key: id, columns: {id: {type: int, generator: sequence}}}
          a: {rows: 1, primary_key: id, columns: {id: {type: int, generator: sequence},
              c_id: {type: int, references: c, null_ratio: 0.5}}}
        """
    )
    assert load_spec(write_spec(text)).order == ["b", "a", "c"]
