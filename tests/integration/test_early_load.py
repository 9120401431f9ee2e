"""A version's tables built in a staging schema while its batches are made
(tdm.targets.postgres.early), against the real server: adopted by the load only when it holds
exactly the version, invisible until the swap, dropped when discarded or not adoptable."""

from __future__ import annotations

import psycopg
import pytest

from tdm.store.versions import VersionStore
from tdm.targets.postgres.early import EarlyLoad, discard_early
from tdm.targets.postgres.target import PostgresTarget, lock_key
from tests.builders import seal_version

from ..conftest import SMALL

pytestmark = pytest.mark.xdist_group("postgres")


@pytest.fixture(scope="module")
def sealed(tmp_path_factory):
    """A store with two versions of shop (seeds 1 and 2): (store, {seed: (plan, version)})."""
    base = tmp_path_factory.mktemp("early")
    store = VersionStore(base / "store")
    path = base / "shop.yaml"
    path.write_text(SMALL)
    return store, {seed: seal_version(store, path, seed=seed) for seed in (1, 2)}


def dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def digest(url: str, schema: str, tables) -> dict[str, tuple[int, str]]:
    """Rows and an order-independent digest of every table's rows."""
    with psycopg.connect(dsn(url)) as conn:
        return {
            t: conn.execute(
                f"SELECT count(*), md5(string_agg(md5(x::text), '' ORDER BY md5(x::text))) "
                f'FROM "{schema}"."{t}" x'
            ).fetchone()
            for t in tables
        }


def stages(url: str) -> list[str]:
    with psycopg.connect(dsn(url)) as conn:
        rows = conn.execute(
            r"SELECT nspname FROM pg_namespace WHERE nspname LIKE '\_tdm\_stage\_%'"
        ).fetchall()
    return [r[0] for r in rows]


def feed(early: EarlyLoad, store: VersionStore, plan, version: str, skip: str = "") -> None:
    """Every batch of the version, as a run hands them over; `skip` leaves out one batch
    ("table/batch")."""
    manifest = store.manifest(plan.name, version)
    for table in plan.order:
        early.begin_table(table)
        for f in manifest["tables"][table]["files"]:
            if f"{table}/{f['batch']}" != skip:
                data = store.read_file(plan.name, version, f)
                early.add(table, f["batch"], data)
        early.end_table(table)


def test_an_early_load_is_adopted_and_holds_what_a_load_from_the_files_holds(sealed, postgres_db):
    store, versions = sealed
    plan, version = versions[1]
    early_url, files_url = postgres_db(), postgres_db()
    target = PostgresTarget(early_url)
    early = EarlyLoad(target, "shop", version, plan.spec, plan.order)
    assert early.start()
    feed(early, store, plan, version)
    # built, keys and foreign keys included, yet nothing of it in the environment
    assert target.current("shop") is None and len(stages(early_url)) == 1

    report = target.load(store, "shop", version)
    assert report.extra["built_while_produced"] is True
    assert report.rows == plan.rows and stages(early_url) == []
    from_files = PostgresTarget(files_url).load(store, "shop", version)
    assert from_files.extra["built_while_produced"] is False
    assert digest(early_url, "shop", plan.order) == digest(files_url, "shop", plan.order)
    with psycopg.connect(dsn(early_url)) as conn:  # the keys the load would have made
        constraints = conn.execute(
            "SELECT contype, count(*) FROM pg_constraint c JOIN pg_namespace n "
            "ON n.oid = c.connamespace WHERE n.nspname = 'shop' GROUP BY contype ORDER BY 1"
        ).fetchall()
    with psycopg.connect(dsn(files_url)) as conn:
        assert (
            constraints
            == conn.execute(
                "SELECT contype, count(*) FROM pg_constraint c JOIN pg_namespace n "
                "ON n.oid = c.connamespace WHERE n.nspname = 'shop' GROUP BY contype ORDER BY 1"
            ).fetchall()
        )
    assert {c for c, _ in constraints} >= {"p", "f", "u"}


def test_an_early_load_missing_a_batch_is_dropped_and_the_files_are_loaded(sealed, postgres_db):
    store, versions = sealed
    plan, version = versions[1]
    url = postgres_db()
    target = PostgresTarget(url)
    early = EarlyLoad(target, "shop", version, plan.spec, plan.order)
    assert early.start()
    biggest = max(plan.order, key=lambda t: plan.rows[t])
    feed(early, store, plan, version, skip=f"{biggest}/b0001")
    report = target.load(store, "shop", version)
    assert report.extra["built_while_produced"] is False
    assert report.rows == plan.rows and stages(url) == []
    assert {t: n for t, (n, _) in digest(url, "shop", plan.order).items()} == plan.rows


def test_a_discarded_early_load_leaves_the_environment_as_it_was(sealed, postgres_db):
    store, versions = sealed
    (p1, v1), (p2, v2) = versions[1], versions[2]
    url = postgres_db()
    target = PostgresTarget(url)
    target.load(store, "shop", v1)
    before = digest(url, "shop", p1.order)
    early = EarlyLoad(target, "shop", v2, p2.spec, p2.order)
    assert early.start()
    early.begin_table(p2.order[0])  # stopped in the middle of a table, as a failed run is
    discard_early("shop")
    assert stages(url) == [] and target.current("shop")["version"] == v1
    assert digest(url, "shop", p1.order) == before
    # the dataset's lock is free again: the next load goes through, from the files
    report = target.load(store, "shop", v2)
    assert report.previous == v1 and report.extra["built_while_produced"] is False


def test_no_early_load_while_another_load_holds_the_dataset(sealed, postgres_db):
    store, versions = sealed
    plan, version = versions[1]
    url = postgres_db()
    target = PostgresTarget(url)
    with psycopg.connect(dsn(url), autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", [lock_key("shop", "shop")])
        early = EarlyLoad(target, "shop", version, plan.spec, plan.order)
        assert early.start() is False
        assert stages(url) == []
        feed(early, store, plan, version)  # handed batches anyway: ignored
    assert target.load(store, "shop", version).extra["built_while_produced"] is False
