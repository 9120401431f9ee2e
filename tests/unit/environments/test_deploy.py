"""The load gate of tdm.environments.deploy, against a real version store and SQLite files: only
validated, intact versions go in, never into a drifted environment unless forced."""

from __future__ import annotations

import json
import sqlite3

import pyarrow.parquet as pq
import pytest

from tdm.core.errors import TdmError
from tdm.environments.deploy import deploy, require_valid
from tdm.environments.drift import DriftState
from tdm.store.versions import BrokenVersion
from tdm.validation.results import REPORT
from tests.builders import put


@pytest.fixture
def db(tmp_path):
    """The database file local_env keeps the shop dataset in."""
    return tmp_path / "envs" / "shop.sqlite"


def counts(db) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return {
            t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("customers", "orders")
        }


def held(db) -> str:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT version FROM _tdm_meta WHERE dataset = 'shop'").fetchone()[0]


def column(db, table: str, name: str) -> list:
    with sqlite3.connect(db) as conn:
        return [r[0] for r in conn.execute(f"SELECT {name} FROM {table} ORDER BY id")]


def test_latest_is_loaded_into_a_local_sqlite_environment(store, version_of, local_env, db):
    version_of(seed=4)
    plan, version = version_of(seed=3)
    store.mark_latest("shop", version)

    deployed = deploy(local_env, store, "shop")

    assert deployed.version == version
    report = deployed.report
    assert (report.dataset, report.version, report.previous) == ("shop", version, None)
    assert report.rows == plan.rows and report.location == str(db)
    assert counts(db) == plan.rows and held(db) == version
    stored = store.read_table("shop", version, "customers")
    assert column(db, "customers", "age") == stored.column("age").to_pylist()


def test_latest_follows_the_latest_pointer_not_the_newest_version(store, version_of, local_env, db):
    plan, older = version_of(seed=4)
    version_of(seed=3)
    store.mark_latest("shop", older)
    assert deploy(local_env, store, "shop", "latest").version == older
    assert held(db) == older and counts(db) == plan.rows


def test_a_version_without_a_validation_report_is_refused(store, version_of, local_env, db):
    _, version = version_of(validate=False)
    assert not store.path("shop", version, REPORT).exists()
    with pytest.raises(TdmError, match="has no validation report") as err:
        deploy(local_env, store, "shop", version)
    assert f"tdm validate shop --version {version}" in str(err.value)
    with pytest.raises(TdmError, match="has no validation report"):
        require_valid(store, "shop", version)
    assert not db.exists()


def test_a_failed_version_is_refused_with_its_failures_even_when_forced(
    store, version_of, local_env, db
):
    def corrupt(table, batch, data):
        if table == "customers" and batch == 1:
            data = put(data, "id", 0, data.column("id")[1].as_py())  # a duplicate key
            return put(data, "age", 3, 200)  # out of 18..90
        return None

    _, version = version_of(corrupt=corrupt)
    for force in (False, True):
        with pytest.raises(TdmError, match="failed validation, so it is not loaded") as err:
            deploy(local_env, store, "shop", version, force=force)
        text = str(err.value)
        assert "customers.id: expect_column_values_to_be_unique FAILED" in text
        assert "customers.age: expect_column_values_to_be_between FAILED" in text
    assert not db.exists()


def test_require_valid_lists_the_first_ten_failures(store, version_of):
    _, version = version_of()
    require_valid(store, "shop", version)  # passed: no error
    path = store.path("shop", version, REPORT)
    report = json.loads(path.read_text())
    report.update(success=False, failed=[f"check {i} FAILED" for i in range(12)])
    path.write_text(json.dumps(report))
    with pytest.raises(TdmError) as err:
        require_valid(store, "shop", version)
    listed = str(err.value).splitlines()[1:]
    assert [line.strip() for line in listed] == [f"check {i} FAILED" for i in range(10)]


def test_a_version_whose_batch_file_changed_is_refused_and_nothing_is_loaded(
    store, version_of, local_env, db
):
    plan, first = version_of(seed=4)
    deploy(local_env, store, "shop", first)
    _, second = version_of(seed=3)
    path = store.batch_path("shop", second, "orders", "b0001")
    data = pq.read_table(path)
    pq.write_table(put(data, "customer_id", 0, data.column("customer_id")[1].as_py()), path)
    require_valid(store, "shop", second)  # its report passed: the checksum is what refuses it

    with pytest.raises(BrokenVersion, match=r"orders/b0001\.parquet changed \(sha256 differs"):
        deploy(local_env, store, "shop", second)
    assert held(db) == first and counts(db) == plan.rows


def test_a_drifted_environment_is_refused_unless_forced(store, version_of, local_env, db, tdm_home):
    plan, version = version_of()
    drift = DriftState("local", "shop")
    drift.record([{"message": "column customers.nickname (TEXT) was added"}], version)
    assert drift.path == tdm_home / "drift" / "local" / "shop.json"

    with pytest.raises(TdmError, match="local is blocked") as err:
        deploy(local_env, store, "shop", version)
    assert "column customers.nickname (TEXT) was added" in str(err.value)
    assert "force: true" in str(err.value)
    assert not db.exists() and drift.blocked()

    deployed = deploy(local_env, store, "shop", version, force=True)
    assert deployed.version == version and counts(db) == plan.rows and held(db) == version
    assert not drift.blocked() and not drift.path.exists()


def test_drift_of_another_environment_or_dataset_does_not_block(store, version_of, local_env, db):
    plan, version = version_of()
    elsewhere = [DriftState("qa", "shop"), DriftState("local", "other")]
    for state in elsewhere:
        state.record([{"message": "table x was added"}], version)
    assert deploy(local_env, store, "shop", version).version == version
    assert counts(db) == plan.rows
    assert all(state.blocked() for state in elsewhere)  # only the loaded one is cleared


def test_rollback_to_an_older_version_id(store, version_of, local_env, db):
    old_plan, old = version_of(seed=4)
    new_plan, new = version_of(seed=3)
    assert old_plan.rows != new_plan.rows  # so the counts tell the versions apart
    store.mark_latest("shop", new)
    assert deploy(local_env, store, "shop").version == new
    assert counts(db) == new_plan.rows

    back = deploy(local_env, store, "shop", old)

    assert back.version == old and back.report.previous == new
    assert held(db) == old and counts(db) == old_plan.rows
    stored = store.read_table("shop", old, "orders")
    assert column(db, "orders", "customer_id") == stored.column("customer_id").to_pylist()
    assert store.latest("shop") == new  # rolling an environment back does not move latest


def test_an_unknown_version_is_refused(store, version_of, local_env, db):
    _, version = version_of()
    with pytest.raises(TdmError, match=f"no version v0000000000000aa of dataset shop.*{version}"):
        deploy(local_env, store, "shop", "v0000000000000aa")
    assert not db.exists()
