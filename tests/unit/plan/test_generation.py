"""Multi-table generation: determinism, referential integrity, per-parent counts."""

from __future__ import annotations

import hashlib
import itertools

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from tdm.plan.loading import load_spec
from tdm.produce.parquet_files import generate_to_dir


def whole(plan, table):
    return plan.generate(table, 0, plan.rows[table])


def in_blocks(plan, table, size):
    n = plan.rows[table]
    return pa.concat_tables([plan.generate(table, s, min(n, s + size)) for s in range(0, n, size)])


def test_batch_split_does_not_change_values(small_spec):
    plan = load_spec(small_spec)
    for table in plan.order:
        expected = whole(plan, table)
        for size in (1, 97, 4096, 5000):
            if size == 1 and plan.rows[table] > 2000:
                continue
            assert in_blocks(plan, table, size).equals(expected), (table, size)


def test_batches_from_the_plan_cover_each_table_exactly(small_spec):
    plan = load_spec(small_spec)
    for table in plan.order:
        blocks = [plan.block(table, b) for b in range(plan.batches)]
        assert blocks[0][0] == 0 and blocks[-1][1] == plan.rows[table]
        assert all(a[1] == b[0] for a, b in itertools.pairwise(blocks))


def _digests(directory):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in directory.glob("*.parquet")}


def test_files_are_byte_identical_across_batch_sizes_and_processes(small_spec, tmp_path):
    plan = load_spec(small_spec)
    generate_to_dir(plan, tmp_path / "a", batch_size=100_000)
    generate_to_dir(plan, tmp_path / "b", batch_size=333)
    generate_to_dir(plan, tmp_path / "c", batch_size=1000, workers=2)
    fresh = load_spec(small_spec)  # a new plan, as in another process
    generate_to_dir(fresh, tmp_path / "d", batch_size=4097)
    a = _digests(tmp_path / "a")
    assert len(a) == 4
    assert a == _digests(tmp_path / "b") == _digests(tmp_path / "c") == _digests(tmp_path / "d")


def test_a_different_seed_gives_different_data(small_spec):
    one, two = load_spec(small_spec), load_spec(small_spec, seed=12)
    a, b = whole(one, "customers"), whole(two, "customers")
    assert a.column("id").equals(b.column("id"))  # sequences do not depend on the seed
    for name in ("code", "score", "balance", "signup", "ext"):
        same = pc.sum(pc.equal(a.column(name), b.column(name))).as_py() or 0
        assert same < 0.2 * a.num_rows, name


def test_every_foreign_key_resolves_to_a_parent_row(small_spec):
    plan = load_spec(small_spec)
    data = {t: whole(plan, t) for t in plan.order}
    ids = set(data["customers"].column("id").to_pylist())
    for child, col in (("orders", "customer_id"), ("customers", "referrer_id")):
        values = [v for v in data[child].column(col).to_pylist() if v is not None]
        assert values and set(values) <= ids
    assert set(data["order_items"].column("order_id").to_pylist()) <= set(
        data["orders"].column("id").to_pylist()
    )
    assert set(data["order_items"].column("product_id").to_pylist()) <= set(
        data["products"].column("id").to_pylist()
    )


def test_self_reference_points_to_earlier_rows(small_spec):
    table = whole(load_spec(small_spec), "customers")
    ids = table.column("id").to_numpy()
    ref = table.column("referrer_id").to_numpy(zero_copy_only=False)
    present = ~np.isnan(ref)
    assert np.all(ref[present] < ids[present])
    assert 0.4 < 1 - present.mean() < 0.6  # null_ratio 0.5


def test_per_parent_counts_follow_the_distribution(small_spec):
    plan = load_spec(small_spec)
    per_customer = np.bincount(
        whole(plan, "orders").column("customer_id").to_numpy(), minlength=plan.rows["customers"] + 1
    )[1:]
    assert abs(per_customer.mean() - 3) < 0.15  # Poisson(3) over 1500 parents
    assert abs(per_customer.var() - 3) < 0.5
    items = whole(plan, "order_items")
    per_order = pc.value_counts(items.column("order_id")).field("counts").to_numpy()
    assert per_order.min() >= 1 and per_order.max() <= 4
    assert abs(per_order.mean() - 2.5) < 0.1
    # children of one parent are contiguous and numbered 1..k
    lines = items.column("line_no").to_numpy()
    assert lines[0] == 1 and np.all((np.diff(lines) == 1) | (lines[1:] == 1))


def test_composite_key_and_distinct_per_parent_hold(small_spec):
    items = whole(load_spec(small_spec), "order_items")
    keys = list(
        zip(items.column("order_id").to_pylist(), items.column("line_no").to_pylist(), strict=True)
    )
    assert len(set(keys)) == len(keys)
    pairs = list(
        zip(
            items.column("order_id").to_pylist(),
            items.column("product_id").to_pylist(),
            strict=True,
        )
    )
    assert len(set(pairs)) == len(pairs)


def test_null_ratio_is_applied(small_spec):
    seen = whole(load_spec(small_spec), "customers").column("seen")
    assert 0.15 < seen.null_count / len(seen) < 0.25


def test_scale_multiplies_absolute_counts(small_spec):
    plan = load_spec(small_spec, scale=2)
    assert plan.rows["customers"] == 3000 and plan.rows["products"] == 80
    assert 8000 < plan.rows["orders"] < 10000


def test_locales_are_mixed_by_weight(write_spec):
    spec = write_spec("""
        dataset: mix
        locales: {en_US: 0.75, de_DE: 0.25}
        tables:
          t:
            rows: 4000
            columns:
              w: {type: string, generator: sentence, min_words: 1, max_words: 1}
              name: {type: string, generator: last_name}
    """)
    plan = load_spec(spec)
    data = whole(plan, "t")
    assert data.num_rows == 4000
    locale = plan.locales("t", 0, 4000)
    share = np.bincount(locale, minlength=2) / 4000
    assert abs(share[0] - 0.75) < 0.03 and abs(share[1] - 0.25) < 0.03
    # each row's values come from its own locale: German and American surnames barely overlap
    names = np.array(data.column("name").to_pylist())
    american, german = set(names[locale == 0]), set(names[locale == 1])
    assert len(american & german) < 0.1 * len(german)


# The Arrow type of each column SMALL declares, and the share of nulls its null_ratio asks for,
# written out here rather than taken from the plan that builds the tables.
DECLARED = {
    "customers": {
        "id": (pa.int64(), 0),
        "code": (pa.string(), 0),
        "score": (pa.int64(), 0),
        "balance": (pa.decimal128(10, 2), 0),
        "tier": (pa.string(), 0),
        "signup": (pa.date32(), 0),
        "seen": (pa.timestamp("us", tz="UTC"), 0.2),
        "ext": (pa.string(), 0),
        "referrer_id": (pa.int64(), 0.5),
    },
    "orders": {"id": (pa.string(), 0), "customer_id": (pa.int64(), 0), "total": (pa.float64(), 0)},
    "order_items": {
        "order_id": (pa.string(), 0),
        "line_no": (pa.int64(), 0),
        "product_id": (pa.int64(), 0),
        "qty": (pa.int64(), 0),
    },
}


@pytest.mark.parametrize("table", list(DECLARED))
def test_columns_have_the_declared_types_order_and_nulls(small_spec, table):
    plan = load_spec(small_spec)
    data = whole(plan, table)
    declared = DECLARED[table]
    assert data.column_names == list(declared)
    for field in data.schema:
        arrow, ratio = declared[field.name]
        nulls = data.column(field.name).null_count / data.num_rows
        assert field.type == arrow, field
        assert field.nullable == (ratio > 0), field
        assert abs(nulls - ratio) < 0.05, (field.name, nulls)


def test_child_rows_share_their_parents_locale(write_spec):
    spec = write_spec("""
        dataset: world
        locales: {en_US: 0.5, de_DE: 0.5}
        tables:
          customers:
            rows: 2000
            primary_key: id
            columns:
              id: {type: int, generator: sequence}
              country: {type: string, generator: country_code, of_locale: true}
          addresses:
            rows: {per: customers, distribution: uniform, min: 1, max: 3}
            primary_key: id
            columns:
              id: {type: int, generator: sequence}
              customer_id: {type: int, references: customers}
              country: {type: string, generator: country_code, of_locale: true}
    """)
    plan = load_spec(spec)
    customers = whole(plan, "customers").column("country").to_pylist()
    addresses = in_blocks(plan, "addresses", 777)
    owner = addresses.column("customer_id").to_pylist()
    assert {"US", "DE"} == set(customers)
    assert addresses.column("country").to_pylist() == [customers[c - 1] for c in owner]
