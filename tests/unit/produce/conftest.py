"""A run's production of a small dataset: three tables over five batch partitions, products only
in the first (its later batches are empty)."""

from __future__ import annotations

import pytest

from tdm.plan.loading import load_spec
from tdm.produce.production import Production

SPEC = """
dataset: shop
seed: 3
batch_size: 50
reference_date: 2026-01-01
tables:
  customers:
    rows: 120
    primary_key: id
    columns:
      id: {type: int, generator: sequence}
      age: {type: int, generator: integer, min: 18, max: 90AGE}
  products:
    rows: 30
    primary_key: id
    columns:
      id: {type: int, generator: sequence}
      name: {type: string, generator: sentence, min_words: 1, max_words: 3}
  orders:
    rows: {per: customers, distribution: uniform, min: 0, max: 4}
    primary_key: id
    columns:
      id: {type: int, generator: sequence}
      customer_id: {type: int, references: customers}
      product_id: {type: int, references: products}
"""

# ages are drawn from 18..90: most of them break this
IMPOSSIBLE = ", expect: [{type: expect_column_values_to_be_between, min_value: 18, max_value: 30}]"


@pytest.fixture
def production(write_spec):
    """A factory: production(impossible=False) -> Production.start of SPEC (with an `expect:`
    on customers.age that cannot hold when `impossible`)."""

    def start(impossible: bool = False, seed: int | None = None) -> Production:
        text = SPEC.replace("AGE", IMPOSSIBLE if impossible else "")
        plan = load_spec(write_spec(text, "bad.yaml" if impossible else "shop.yaml"), seed=seed)
        return Production.start(plan, None)

    return start
