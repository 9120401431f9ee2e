"""Shared fixtures: an isolated TDM_HOME per test, and small specs written to tmp_path."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tdm.store.versions import VersionStore

ROOT = Path(__file__).resolve().parents[1]
RETAIL = ROOT / "schemas" / "retail.yaml"

SMALL = """
dataset: shop
seed: 11
batch_size: 700
reference_date: 2026-01-01
locales: {en_US: 0.6, de_DE: 0.4}
tables:
  customers:
    rows: 1500
    primary_key: id
    columns:
      id: {type: int, generator: sequence}
      code: {type: string, generator: pattern, pattern: "C-####-??", unique: true}
      score: {type: int, generator: integer, distribution: normal, mean: 50, std: 10, min: 0}
      balance: {type: "decimal(10,2)", generator: decimal, min: 0, max: 5000}
      tier: {type: string, generator: choice, values: [bronze, silver, gold], weights: [6, 3, 1]}
      signup: {type: date, generator: date, start: -5y, end: today}
      seen: {type: timestamp, generator: timestamp, start: -30d, null_ratio: 0.2}
      ext: {type: uuid, generator: uuid}
      referrer_id: {type: int, references: customers.id, null_ratio: 0.5}
  orders:
    rows: {per: customers, distribution: poisson, lam: 3}
    primary_key: id
    columns:
      id: {type: string, generator: sequence, prefix: ORD-, width: 8}
      customer_id: {type: int, references: customers}
      total: {type: float, generator: float, distribution: lognormal, mean: 3, sigma: 0.5, round: 2}
  products:
    rows: 40
    primary_key: id
    columns:
      id: {type: int, generator: integer, min: 1000, max: 9999, unique: true}
      name: {type: string, generator: sentence, min_words: 2, max_words: 3}
  order_items:
    rows: {per: orders, distribution: uniform, min: 1, max: 4}
    primary_key: [order_id, line_no]
    columns:
      order_id: {type: string, references: orders}
      line_no: {type: int, generator: sequence, per_parent: true}
      product_id: {type: int}
      qty: {type: int, generator: integer, distribution: geometric, p: 0.5, min: 1}
    foreign_keys:
      - {columns: product_id, references: products.id, distinct_per_parent: true}
"""


# Two tables, one counted per the other: the smallest spec with a foreign key and batches.
CUSTOMERS_ORDERS = """
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
      age: {type: int, generator: integer, min: 18, max: 90}
  orders:
    rows: {per: customers, distribution: uniform, min: 0, max: 4}
    primary_key: id
    columns:
      id: {type: int, generator: sequence}
      customer_id: {type: int, references: customers}
"""


@pytest.fixture(autouse=True)
def tdm_home(tmp_path_factory, monkeypatch) -> Path:
    """Every test gets its own working state: store, embedded databases, Dagster home."""
    home = tmp_path_factory.mktemp("tdm_home")
    monkeypatch.setenv("TDM_HOME", str(home))
    monkeypatch.delenv("TDM_STORE", raising=False)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    for name in ("TDM_MASKING_KEY", "TDM_ALLOW_DEV_KEY", "TDM_PROJECT", "TDM_SCHEMAS"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def write_spec(tmp_path):
    def write(text: str, name: str = "spec.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip())
        return path

    return write


@pytest.fixture
def store(tmp_path) -> VersionStore:
    return VersionStore(tmp_path / "store")


@pytest.fixture
def small_spec(write_spec) -> Path:
    return write_spec(SMALL, "shop.yaml")


def snapshot(*directories: Path) -> dict[str, tuple[int, int]]:
    """Every file under `directories` with its size and modification time: equal snapshots
    mean nothing was written there."""
    return {
        str(p): (p.stat().st_size, p.stat().st_mtime_ns)
        for d in directories
        if d.exists()
        for p in sorted(d.rglob("*"))
        if p.is_file()
    }
