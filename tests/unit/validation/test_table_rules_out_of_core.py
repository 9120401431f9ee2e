"""Rules across tables out of core (a batch of the rule's table at a time, its parent values and
child rows joined by DuckDB) give the figures of the in-memory path, passing or failing."""

from __future__ import annotations

from decimal import Decimal

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


def test_keys_and_rules_run_side_by_side_only_when_all_fit_in_memory(
    write_spec, tmp_path, monkeypatch
):
    """validate_version runs the rules across tables in a thread beside the key checks when
    every check fits in memory; when any runs out of core, one after the other (never a spill's
    DuckDB and another check's columns at once). The figures are those of the in-memory path,
    in the same order."""
    import threading

    from tdm.validation import across_tables, runner, spill

    store = VersionStore(tmp_path / "store")
    plan, version = seal_version(store, write_spec(SPEC), corrupt)
    threads, open_now, most = [], [0], [0]
    real_rules, real_init, real_close = (
        across_tables.validate_table_rules,
        spill.Spill.__init__,
        spill.Spill.close,
    )

    def rules(*args, **kwargs):
        threads.append(threading.current_thread().name)
        return real_rules(*args, **kwargs)

    def init(self, *args) -> None:
        real_init(self, *args)
        open_now[0] += 1
        most[0] = max(most[0], open_now[0])

    def close(self) -> None:
        open_now[0] -= 1
        real_close(self)

    monkeypatch.setattr(across_tables, "validate_table_rules", rules)
    monkeypatch.setattr(spill.Spill, "__init__", init)
    monkeypatch.setattr(spill.Spill, "close", close)

    def report() -> list[dict]:
        checks = runner.validate_version(store, plan, "sums", version)["checks"]
        for c in checks:  # the one difference: which engine ran it
            (c.get("details") or {}).pop("engine", None)
        return checks

    in_memory = report()
    assert threads[-1].startswith("tdm-rules") and most[0] == 0
    monkeypatch.setattr(spill, "KEY_BUDGET", -1)  # every check out of core
    assert report() == in_memory
    assert threads[-1] == threading.main_thread().name
    assert most[0] == 1 and open_now[0] == 0  # the keys' spill, then the rules' one
    assert not all(c["success"] for c in in_memory)
