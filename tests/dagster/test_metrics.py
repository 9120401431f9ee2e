"""Run metrics: numeric materialisation metadata, and the same figures pushed to a real
Pushgateway (Debian's prometheus-pushgateway, started here) when TDM_PROMETHEUS_PUSHGATEWAY is
set; a gateway that does not answer is a warning, never a failed run."""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from assets import names
from pipelines.runner import run_dataset
from tdm.core.metrics import ENV_VAR
from tdm.plan.loading import load_spec
from tests.conftest import CUSTOMERS_ORDERS
from tests.e2e.dagster_ui import free_port

pytestmark = pytest.mark.xdist_group("pushgateway")

BINARY = "/usr/bin/prometheus-pushgateway"
STAGES = ("generate_seconds", "mask_seconds", "write_seconds", "validation_seconds")


@pytest.fixture
def pushgateway(tmp_path: Path) -> Iterator[str]:
    """A Pushgateway of its own on a free port; its URL."""
    if not Path(BINARY).exists() and shutil.which("prometheus-pushgateway") is None:
        pytest.skip(f"{BINARY} is not installed (apt-get install prometheus-pushgateway)")
    port = free_port()
    proc = subprocess.Popen(
        [
            shutil.which("prometheus-pushgateway") or BINARY,
            f"--web.listen-address=127.0.0.1:{port}",
            f"--persistence.file={tmp_path / 'pushgateway.db'}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as ready:
                    if ready.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the Pushgateway did not get ready in 20 s"
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def scraped(url: str) -> dict[tuple[str, frozenset], float]:
    """The gateway's tdm_* samples: (name, labels without job/instance) -> value."""
    parser = pytest.importorskip("prometheus_client.parser")
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:
        text = response.read().decode()
    out = {}
    for family in parser.text_string_to_metric_families(text):
        for s in family.samples:
            if s.name.startswith("tdm_"):
                labels = {k: v for k, v in s.labels.items() if k not in ("job", "instance")}
                out[(s.name, frozenset(labels.items()))] = s.value
    return out


def latest(instance, key: dg.AssetKey) -> dict:
    [record] = instance.fetch_materializations(key, limit=1).records
    return {k: v.value for k, v in record.asset_materialization.metadata.items()}


def batches_metadata(instance, key: dg.AssetKey) -> list[dict]:
    """The metadata of each partition's materialisation, as MetadataValues."""
    records = instance.fetch_materializations(key, limit=100).records
    return [dict(r.asset_materialization.metadata) for r in records]


def test_batch_and_version_metadata_are_numeric(write_spec, instance, monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    plan = load_spec(write_spec(CUSTOMERS_ORDERS))
    summary = run_dataset(plan, env="local", inst=instance)
    for table in plan.order:
        for meta in batches_metadata(instance, names.batches(plan, table)):
            assert isinstance(meta["rows"], dg.IntMetadataValue)
            assert isinstance(meta["bytes"], dg.IntMetadataValue) and meta["bytes"].value > 0
            assert isinstance(meta["rows_per_second"], dg.IntMetadataValue)
            for key in STAGES:
                assert isinstance(meta[key], dg.FloatMetadataValue), key
                assert meta[key].value >= 0, key
        version = (
            instance.fetch_materializations(names.key(plan.name, names.VERSION, table), limit=1)
            .records[0]
            .asset_materialization.metadata
        )
        assert version["dagster/row_count"].value == plan.rows[table] == summary.rows[table]
        assert isinstance(version["bytes"], dg.IntMetadataValue) and version["bytes"].value > 0
        assert version["checks_passed"].value > 0 and version["checks_failed"].value == 0
        assert isinstance(version["validation_seconds"], dg.FloatMetadataValue)
    load = latest(instance, names.key(plan.name, names.LOAD))
    assert load["dagster/row_count"] == sum(plan.rows.values())
    assert load["load_seconds"] > 0 and load["rows_per_second"] > 0


def test_the_pushgateway_holds_the_runs_figures(write_spec, instance, monkeypatch, pushgateway):
    monkeypatch.setenv(ENV_VAR, pushgateway)
    plan = load_spec(write_spec(CUSTOMERS_ORDERS))
    run_dataset(plan, env="local", inst=instance)
    got = scraped(pushgateway)
    ds = plan.name
    for table in plan.order:
        made = latest(instance, names.batches(plan, table))
        group = {"dataset": ds, "stage": "generate", "table": table}
        assert got[("tdm_rows_total", frozenset(group.items()))] == plan.rows[table] == made["rows"]
        assert got[("tdm_bytes", frozenset(group.items()))] == made["bytes"]
        assert got[("tdm_rows_per_second", frozenset(group.items()))] == made["rows_per_second"]
        for phase in ("generate", "mask", "write", "validate"):
            labels = frozenset({**group, "phase": phase}.items())
            assert got[("tdm_stage_seconds", labels)] >= 0
        sealed = latest(instance, names.key(ds, names.VERSION, table))
        group = frozenset({"dataset": ds, "stage": "version", "table": table}.items())
        assert got[("tdm_rows_total", group)] == plan.rows[table] == sealed["dagster/row_count"]
        assert got[("tdm_bytes", group)] == sealed["bytes"]
        assert got[("tdm_checks_failed", group)] == sealed["checks_failed"] == 0
        assert got[("tdm_checks_passed", group)] == sealed["checks_passed"] > 0
        load = {"dataset": ds, "stage": "load", "environment": "local", "table": table}
        assert got[("tdm_rows_total", frozenset(load.items()))] == plan.rows[table]
    loaded = latest(instance, names.key(ds, names.LOAD))
    group = frozenset({"dataset": ds, "stage": "load", "environment": "local"}.items())
    assert got[("tdm_load_seconds", group)] == pytest.approx(loaded["load_seconds"], abs=1e-3)
    assert got[("tdm_rows_per_second", group)] == loaded["rows_per_second"]
    version_group = frozenset({"dataset": ds, "stage": "version"}.items())
    assert got[("tdm_materialized_timestamp_seconds", version_group)] > time.time() - 600


def test_a_dead_gateway_is_a_warning_and_the_run_succeeds(write_spec, instance, monkeypatch):
    secret = "pushgw-s3cret-pw"
    monkeypatch.setenv(ENV_VAR, f"http://tdm:{secret}@127.0.0.1:{free_port()}")
    plan = load_spec(write_spec(CUSTOMERS_ORDERS))
    summary = run_dataset(plan, inst=instance)
    assert summary.rows == plan.rows
    records = list(instance.all_logs(summary.run_id))
    warnings = [
        r.user_message for r in records if r.level == 30 and "not pushed" in (r.user_message or "")
    ]
    assert len(warnings) == len(plan.order) + 1, warnings  # each batch asset, and the version
    assert all("http://tdm:***@127.0.0.1" in w for w in warnings), warnings
    assert not any(secret in (r.user_message or "") for r in records)
    run = instance.get_run_by_id(summary.run_id)
    assert run is not None and run.is_success
