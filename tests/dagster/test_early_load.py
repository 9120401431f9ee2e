"""A run that ends in a PostgreSQL load (unless TDM_EARLY_LOAD=0) builds the tables in staging
while it makes the batches (tdm.targets.postgres.early): the load adopts them only after the
gate, and a run that fails leaves the environment as it was, with no staging schema behind."""

from __future__ import annotations

import psycopg
import pytest

from assets import names
from pipelines.runner import load_version, run_dataset
from tdm.core.errors import TdmError
from tdm.plan.loading import load_spec
from tests.integration.conftest import postgres_db  # noqa: F401  (a fixture)

pytestmark = pytest.mark.xdist_group("postgres")

SPEC = """
dataset: shop
seed: SEED
batch_size: 300
reference_date: 2026-01-01
tables:
  customers:
    rows: 900
    primary_key: id
    columns:
      id: {type: int, generator: sequence}
      age: {type: int, generator: integer, min: 18, max: 90, EXPECT}
  orders:
    rows: {per: customers, distribution: poisson, lam: 2}
    primary_key: id
    columns:
      id: {type: int, generator: sequence}
      customer_id: {type: int, references: customers}
      total:
        {type: "decimal(12,2)", generator: expression, sql: "coalesce(sum(order_items.price), 0)"}
  order_items:
    rows: {per: orders, distribution: uniform, min: 1, max: 3}
    primary_key: [order_id, line_no]
    columns:
      order_id: {type: int, references: orders}
      line_no: {type: int, generator: sequence, per_parent: true}
      price: {type: "decimal(10,2)", generator: decimal, min: 1, max: 100}
  payments:
    rows: {per: orders, distribution: fixed, value: 1}
    primary_key: id
    columns:
      id: {type: int, generator: sequence}
      order_id: {type: int, references: orders}
      amount: {type: "decimal(12,2)", generator: expression, sql: orders.total}
"""
FAILING = "expect: [{type: expect_column_values_to_be_between, min_value: 18, max_value: 30}]"


@pytest.fixture
def environments(tmp_path, monkeypatch, postgres_db):  # noqa: F811
    """Two PostgreSQL environments (each its own database) in TDM_SCHEMAS: {name: url}."""
    urls = {"pg": postgres_db(), "other": postgres_db()}
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    (schemas / "environments.yaml").write_text(
        "environments:\n" + "".join(f"  {n}:\n    url: {u}\n" for n, u in urls.items())
    )
    monkeypatch.setenv("TDM_SCHEMAS", str(schemas))
    return schemas, urls


def spec(schemas, seed: int = 1, expect: str = "description: ok"):
    path = schemas / "shop.yaml"
    path.write_text(SPEC.replace("SEED", str(seed)).replace("EXPECT", expect))
    return load_spec(path)


def query(url: str, sql: str) -> list[tuple]:
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        return conn.execute(sql).fetchall()


def content(url: str, tables) -> dict:
    return {
        t: query(url, f"SELECT md5(string_agg(x::text, ',' ORDER BY x::text)) FROM shop.{t} x")
        for t in tables
    }


def stages(url: str) -> list[tuple]:
    return query(url, r"SELECT nspname FROM pg_namespace WHERE nspname LIKE '\_tdm\_stage\_%'")


def test_the_tables_are_built_while_the_batches_are_made(environments, instance, monkeypatch):
    schemas, urls = environments
    monkeypatch.setenv("TDM_EARLY_LOAD", "1")
    plan = spec(schemas)
    summary = run_dataset(plan, env="pg", inst=instance)
    load = instance.fetch_materializations(names.key("shop", names.LOAD), limit=1).records[0]
    assert load.asset_materialization.metadata["built_while_produced"].value is True
    assert stages(urls["pg"]) == []
    # the same version loaded from its files into another database holds the same rows
    load_version(plan, "other", summary.version, instance)
    assert content(urls["pg"], plan.order) == content(urls["other"], plan.order)
    counted = {t: query(urls["pg"], f"SELECT count(*) FROM shop.{t}")[0][0] for t in plan.order}
    assert counted == plan.rows
    # the computed columns read the rows generated again (kept, tdm.plan.reuse): they agree
    assert query(
        urls["pg"],
        "SELECT count(*) FROM shop.orders o WHERE o.total <> coalesce((SELECT sum(price) "
        "FROM shop.order_items i WHERE i.order_id = o.id), 0) OR EXISTS (SELECT 1 FROM "
        "shop.payments p WHERE p.order_id = o.id AND p.amount <> o.total)",
    ) == [(0,)]


def test_a_run_that_fails_its_checks_leaves_postgres_as_it_was(environments, instance, monkeypatch):
    schemas, urls = environments
    monkeypatch.setenv("TDM_EARLY_LOAD", "1")
    good = run_dataset(spec(schemas, seed=1), env="pg", inst=instance)
    before = content(urls["pg"], ["customers", "orders", "order_items"])
    with pytest.raises(TdmError, match="expect_column_values_to_be_between"):
        run_dataset(spec(schemas, seed=2, expect=FAILING), env="pg", inst=instance)
    assert stages(urls["pg"]) == []
    assert query(urls["pg"], "SELECT version FROM shop._tdm_meta") == [(good.version,)]
    assert content(urls["pg"], ["customers", "orders", "order_items"]) == before
    # nothing holds the dataset's lock: the next run loads
    assert run_dataset(spec(schemas, seed=3), env="pg", inst=instance).loaded_into == "pg"


def test_turned_off_the_load_builds_the_tables_from_the_files(environments, instance, monkeypatch):
    schemas, urls = environments
    monkeypatch.setenv("TDM_EARLY_LOAD", "0")
    plan = spec(schemas)
    run_dataset(plan, env="pg", inst=instance)
    load = instance.fetch_materializations(names.key("shop", names.LOAD), limit=1).records[0]
    assert load.asset_materialization.metadata["built_while_produced"].value is False
    counted = {t: query(urls["pg"], f"SELECT count(*) FROM shop.{t}")[0][0] for t in plan.order}
    assert counted == plan.rows and stages(urls["pg"]) == []
