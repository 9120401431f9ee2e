"""tdm's local instance: Dagster's SQLite storage, its event log keeping connections
(pipelines.event_log), readable by a plain Dagster instance on the same directory."""

from pathlib import Path

import dagster as dg
import pytest
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.event_log.sqlite import sqlite_event_log
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


def _schema(path) -> tuple[list, list]:
    import sqlite3

    with sqlite3.connect(path) as conn:
        tables = conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
        stamp = conn.execute("SELECT version_num FROM alembic_version").fetchall()
        mode = conn.execute("PRAGMA journal_mode").fetchall()
    return tables, stamp + mode


def test_a_new_runs_file_is_a_copy_of_dagsters_own_tables(home, monkeypatch):
    """Run files are copied from a template made once: the same tables, indexes, alembic
    revision and WAL mode as a file Dagster makes itself (plain instance, same directory)."""
    made_by_dagster = []
    initdb = PooledSqliteEventLogStorage._initdb

    def counted(self, engine, for_index_shard=False):
        made_by_dagster.append(engine.url.database.rsplit("/", 1)[-1])
        return initdb(self, engine, for_index_shard)

    monkeypatch.setattr(PooledSqliteEventLogStorage, "_initdb", counted)
    runs = home / "history" / "runs"
    with instance() as inst:
        # made with the storage, as the index is: the first run does not wait for it
        assert (runs / f"run-{dg.__version__}.template").is_file()
        assert not list(runs.glob(".*"))  # no partial file left
        first, second = (
            dg.materialize([numbers], instance=inst, partition_key=k).run_id for k in ("a", "b")
        )
        copied = len(inst.all_logs(second))
    # the index, then the template (a .partial file until it is linked in): no run's file
    assert [name.rsplit(".", 1)[-1] for name in made_by_dagster] == ["db", "db", "partial"]
    assert made_by_dagster[:2] == ["index.db", "index.db"]
    assert [p.name for p in runs.glob("run-*.template")] == [f"run-{dg.__version__}.template"]
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as plain:
        made = dg.materialize([numbers], instance=plain, partition_key="a").run_id
        assert type(plain.event_log_storage) is SqliteEventLogStorage  # Dagster's own file
        assert len(plain.all_logs(second)) == copied > 0
        assert plain.get_materialized_partitions(dg.AssetKey("numbers")) == {"a", "b"}
    assert (
        _schema(runs / f"{second}.db")
        == _schema(runs / f"{made}.db")
        == _schema(runs / f"{first}.db")
    )
    assert sorted(SqliteEventLogStorage(str(runs)).get_all_run_ids()) == sorted(
        [first, second, made]
    )  # the template is not taken for a run


def test_a_runs_file_made_meanwhile_is_never_replaced(home):
    with instance() as inst:
        storage = inst.event_log_storage
        dg.materialize([numbers], instance=inst, partition_key="a")  # the template exists
        path = storage.path_for_shard("other-run")
        Path(path).touch()  # another process made it first
        assert storage._from_template("other-run") is False
        assert Path(path).read_bytes() == b""
        assert storage._from_template("index") is False


def test_table_questions_are_answered_by_the_kept_engine(home, monkeypatch):
    """Dagster asks whether index tables exist at each asset event; the answers match its
    own, without an engine per question."""
    names = ["asset_event_tags", "asset_check_executions", "no_such_table"]
    with instance() as inst:
        storage = inst.event_log_storage
        dg.materialize([numbers], instance=inst, partition_key="a")  # the index file exists
        theirs = [SqliteEventLogStorage.has_table(storage, name) for name in names]
        made = []
        create = sqlite_event_log.create_engine
        monkeypatch.setattr(
            sqlite_event_log, "create_engine", lambda *a, **k: made.append(a) or create(*a, **k)
        )
        assert [storage.has_table(name) for name in names * 2] == theirs * 2
        assert theirs == [True, True, False] and made == []
        assert storage._tables == {"asset_event_tags", "asset_check_executions"}
        storage.wipe()  # made again: what is remembered is asked again, and holds
        assert all(SqliteEventLogStorage.has_table(storage, t) for t in storage._tables)
