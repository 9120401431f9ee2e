"""tdm's local instance: Dagster's SQLite storage, its event log keeping connections
(pipelines.event_log), readable by a plain Dagster instance on the same directory."""

import dagster as dg
import pytest
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

from pipelines import event_log
from pipelines.event_log import PooledSqliteEventLogStorage
from pipelines.runner import instance


@dg.asset(partitions_def=dg.StaticPartitionsDefinition(["a", "b"]))
def numbers(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"rows": len(context.partition_key) + 41})


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    return tmp_path / "dagster"


def test_runs_recorded_by_tdm_are_read_by_plain_dagster(home):
    with instance() as inst:
        assert type(inst.event_log_storage) is PooledSqliteEventLogStorage
        runs = [
            dg.materialize([numbers], instance=inst, partition_key=key).run_id for key in ("a", "b")
        ]
        mine = [len(inst.all_logs(run)) for run in runs]
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as plain:
        assert type(plain.event_log_storage) is SqliteEventLogStorage
        assert [len(plain.all_logs(run)) for run in runs] == mine
        assert all(plain.get_run_by_id(run).is_success for run in runs)
        latest = plain.get_latest_materialization_event(dg.AssetKey("numbers"))
        assert latest.run_id == runs[-1]
        assert latest.asset_materialization.metadata["rows"].value == 42
        partitions = plain.get_materialized_partitions(dg.AssetKey("numbers"))
        assert partitions == {"a", "b"}


def test_a_configured_storage_is_left_as_it_is(home, tmp_path):
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text(
        f"storage:\n  sqlite:\n    base_dir: {tmp_path / 'elsewhere'}\n"
    )
    with instance() as inst:
        assert type(inst.event_log_storage) is SqliteEventLogStorage
        dg.materialize([numbers], instance=inst, partition_key="a")
    assert (tmp_path / "elsewhere" / "history" / "runs" / "index.db").exists()
    assert not (home / "history").exists()


def test_engines_are_bounded_and_closed_before_a_wipe(home, monkeypatch):
    monkeypatch.setattr(event_log, "KEPT_ENGINES", 2)
    with instance() as inst:
        storage = inst.event_log_storage
        for key in ("a", "b", "a", "b"):
            dg.materialize([numbers], instance=inst, partition_key=key)
            assert len(storage._engines) <= 2
        assert len(inst.get_runs()) == 4
        inst.wipe()
        assert set(storage._engines) <= {"index"}  # the runs' files are gone, their engines too
        assert inst.get_runs() == []
        assert inst.get_latest_materialization_event(dg.AssetKey("numbers")) is None
        dg.materialize([numbers], instance=inst, partition_key="a")  # usable after the wipe
        assert inst.get_latest_materialization_event(dg.AssetKey("numbers")) is not None


def test_event_files_are_in_wal_mode_and_flushed_at_checkpoints_only(home):
    """Dagster puts the files in WAL mode; tdm's connections to them commit without a flush to
    disk each time (synchronous=NORMAL), and the events are all there when read again."""
    with instance() as inst:
        run = dg.materialize([numbers], instance=inst, partition_key="a").run_id
        storage = inst.event_log_storage
        for shard in ("index", run):
            with storage._connect(shard) as conn:
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        stored = len(inst.all_logs(run))
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as plain:
        assert len(plain.all_logs(run)) == stored > 0
