"""Rows kept for computed columns that read other tables (tdm.plan.reuse) are held while the
batches are made, and let go before the version is sealed: validation reads the files."""

from __future__ import annotations

import assets.version
from pipelines.runner import run_dataset
from tests.dagster.test_early_load import spec


def test_kept_rows_are_let_go_before_sealing(tmp_path, monkeypatch, instance):
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    monkeypatch.setenv("TDM_SCHEMAS", str(schemas))
    monkeypatch.setenv("TDM_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TDM_MASKING_KEY", "11" * 32)
    seen = []
    seal = assets.version.seal_version

    def sealing(prod, *args, **kwargs):
        seen.append((prod.plan.reread, prod.plan.kept._bytes, dict(prod.plan.kept._blocks)))
        return seal(prod, *args, **kwargs)

    monkeypatch.setattr(assets.version, "seal_version", sealing)
    kept = []
    keep = type(spec(schemas).kept).keep
    monkeypatch.setattr(
        type(spec(schemas).kept),
        "keep",
        lambda self, t, *a, **k: (kept.append(t), keep(self, t, *a, **k)),
    )
    summary = run_dataset(spec(schemas), inst=instance)
    assert summary.rows["payments"] == summary.rows["orders"] > 0
    assert {"order_items", "orders"} <= set(kept)  # read by orders.total and payments.amount
    [(reread, held, blocks)] = seen
    assert reread == {"order_items", "orders"} and held == 0 and blocks == {}
