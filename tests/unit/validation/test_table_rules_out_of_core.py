"""Rules across tables out of core (a batch of the rule's table at a time, its parent values and
child rows joined by DuckDB) give the figures of the in-memory path, passing or failing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tdm.store.versions import VersionStore
from tdm.validation.table_rules import validate_table_rules
from tests.builders import put, seal_version
from tests.unit.validation.test_table_rules import SPEC


def corrupt(table: str, batch: int, data):
    if table == "orders" and batch == 1:  # an express order's total is off, and one count
        row = data.column("express").to_pylist().index(True)
        data = put(data, "total", row, data.column("total")[row].as_py() + Decimal("0.01"))
        return put(data, "n", 7, 99)
    if table == "lines" and batch == 2:  # a line whose order is gone: its amount counts nowhere
        return put(data, "order_code", 4, "O-99999")
    if table == "payments" and batch == 2:
        return put(data, "due", 3, Decimal("-1"))
    return None


def _figures(store, plan, version, budget=None):
    kwargs = {} if budget is None else {"budget": budget}
    return [r.to_dict() for r in validate_table_rules(store, plan, "sums", version, **kwargs)]


def test_out_of_core_gives_the_in_memory_figures(write_spec, tmp_path):
    store = VersionStore(tmp_path / "store")
    plan, version = seal_version(store, write_spec(SPEC), corrupt)
    in_memory = _figures(store, plan, version)
    assert _figures(store, plan, version, budget=-1) == in_memory
    failed = {r["column"]: r for r in in_memory if not r["success"]}
    assert set(failed) == {"total", "n", "due"}
    assert failed["n"]["unexpected_count"] >= 2  # the altered count and the line's lost order
    assert failed["due"]["examples"][-1] == 83


def test_out_of_core_passes_a_version_as_generated(write_spec, tmp_path):
    store = VersionStore(tmp_path / "store")
    plan, version = seal_version(store, write_spec(SPEC))
    in_memory = _figures(store, plan, version)
    assert all(r["success"] for r in in_memory) and len(in_memory) == 3
    assert _figures(store, plan, version, budget=-1) == in_memory


def test_keys_and_rules_side_by_side_open_one_spill_at_a_time(write_spec, tmp_path, monkeypatch):
    """validate_version runs the key checks and the rules across tables in two threads; out of
    core, each family's spill waits for the other's to close (one DuckDB's memory at a time),
    and the report holds the figures of the in-memory path in the same order."""
    from functools import partial

    from tdm.validation import keys, runner, spill, table_rules

    store = VersionStore(tmp_path / "store")
    plan, version = seal_version(store, write_spec(SPEC), corrupt)

    def report() -> list[dict]:
        checks = runner.validate_version(store, plan, "sums", version)["checks"]
        for c in checks:  # the one difference: which engine ran it
            (c.get("details") or {}).pop("engine", None)
        return checks

    in_memory = report()
    opened, open_now, most = [], [0], [0]
    real_init, real_close = spill.Spill.__init__, spill.Spill.close

    def init(self, *args) -> None:
        real_init(self, *args)
        opened.append(self)
        open_now[0] += 1
        most[0] = max(most[0], open_now[0])

    def close(self) -> None:
        if not self.closed:
            open_now[0] -= 1
        real_close(self)

    monkeypatch.setattr(spill.Spill, "__init__", init)
    monkeypatch.setattr(spill.Spill, "close", close)
    monkeypatch.setattr(runner, "validate_cross", partial(keys.validate_cross, budget=-1))
    rules = partial(table_rules.validate_table_rules, budget=-1)
    monkeypatch.setattr(runner, "validate_table_rules", rules)
    assert report() == in_memory
    assert len(opened) == 2 and most[0] == 1 and open_now[0] == 0
    assert not all(c["success"] for c in in_memory)
    done = spill.Spill(store, "sums", version)  # the slot is free again
    done.close()
    done.close()  # closing twice frees it once


def test_a_spill_that_fails_to_open_frees_its_slot(write_spec, tmp_path, monkeypatch):
    import duckdb

    from tdm.validation import spill

    store = VersionStore(tmp_path / "store")
    _, version = seal_version(store, write_spec(SPEC))

    def refuse(*args, **kwargs):
        raise duckdb.IOException("no room")

    with monkeypatch.context() as m:
        m.setattr(duckdb, "connect", refuse)
        with pytest.raises(duckdb.IOException):
            spill.Spill(store, "sums", version)
    with spill.Spill(store, "sums", version) as opened:  # would wait forever if it were held
        assert opened.value("SELECT 1") == 1
