"""The Dagster UI in a real browser: headless Debian chromium driven by Playwright.

A Dagster deployment started as `make ui` starts it (tests/e2e/dagster_ui.py) serves the example
dataset (schemas/retail.yaml) and a dataset whose expectation fails. The test checks the lineage
graph against the code, materialises both datasets from the UI, reads a sealed version's id and
row count off its page, and its checks. Screenshots go to <tmp_path>/screenshots on every run;
with TDM_UI_SCREENSHOTS=<dir> the three the README shows are also written there
(`TDM_UI_SCREENSHOTS=docs/images pytest -m browser` refreshes them).
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from assets import names
from pipelines.build import build_definitions
from tdm.core import settings
from tdm.plan.loading import load_spec
from tdm.store.versions import VersionStore
from tests.conftest import RETAIL, ROOT
from tests.e2e.dagster_ui import DagsterUI, dagster_ui
from tests.e2e.lineage_dom import graph_on_screen, wait_for_graph, zoom_to_fit

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("ui")]

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium dials out, which a closed network refuses.
CHROMIUM_ARGS = [
    *("--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"),
    *("--disable-background-networking", "--disable-component-update", "--disable-sync"),
]
VIEWPORT = {"width": 1400, "height": 900}
LOCATION = "pipelines.definitions"  # the code location of workspace.yaml
RUN_SECONDS = 600
README_SHOTS = ("lineage", "version_metadata", "failed_check")
SHOTS_ENV = "TDM_UI_SCREENSHOTS"

# Ages run 18-90, the expectation says 18-30: the batch suite (a blocking check) fails.
FAILING_DATASET = "shop"  # as FAILING names it
FAILING = """
dataset: shop
description: Customers whose ages break their own expectation, so no version is sealed.
seed: 5
batch_size: 300
reference_date: 2026-01-01
tables:
  customers:
    rows: 900
    primary_key: id
    columns:
      id: {type: int, generator: sequence}
      age:
        type: int
        generator: integer
        min: 18
        max: 90
        expect: [{type: expect_column_values_to_be_between, min_value: 18, max_value: 30}]
  orders:
    rows: {per: customers, distribution: poisson, lam: 2}
    primary_key: id
    columns:
      id: {type: int, generator: sequence}
      customer_id: {type: int, references: customers}
"""


@pytest.fixture
def schemas(tmp_path, monkeypatch) -> Path:
    """The example dataset and its environments as in schemas/, beside the failing one."""
    folder = tmp_path / "schemas"
    folder.mkdir()
    shutil.copy(RETAIL, folder / RETAIL.name)
    shutil.copy(ROOT / "schemas" / "environments.yaml", folder / "environments.yaml")
    (folder / f"{FAILING_DATASET}.yaml").write_text(FAILING.lstrip())
    monkeypatch.setenv("TDM_SCHEMAS", str(folder))
    return folder


@contextmanager
def browser_page() -> Iterator[Page]:
    """A tab of headless Debian chromium; the test fails (never skips) without it."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser test drives Debian's chromium "
            "(`apt-get install -y chromium`; .ci/run installs it)",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            tab = browser.new_page(viewport=VIEWPORT)
            tab.set_default_timeout(60_000)
            yield tab
        finally:
            browser.close()


def shoot(page: Page, tmp_path: Path, name: str) -> None:
    page.wait_for_timeout(1500)  # let the live data settle
    page.screenshot(path=tmp_path / "screenshots" / f"{name}.png")
    if (target := os.environ.get(SHOTS_ENV)) and name in README_SHOTS:
        (ROOT / target).mkdir(parents=True, exist_ok=True)
        shutil.copy(tmp_path / "screenshots" / f"{name}.png", ROOT / target / f"{name}.png")


def expected_graph(spec: Path) -> tuple[str, set[str], set[tuple[str, str]]]:
    """The dataset's assets and edges, from the code; the UI labels an asset by its key's last
    part."""
    dataset = load_spec(spec).name
    graph = build_definitions(paths=[spec]).resolve_asset_graph()
    keys = [k for k in graph.get_all_asset_keys() if k.path[0] == dataset]
    labels = {k.path[-1] for k in keys}
    assert len(labels) == len(keys), f"two assets of {dataset} share a label: {keys}"
    edges = {(p.path[-1], k.path[-1]) for k in keys for p in graph.get(k).parent_keys}
    return dataset, labels, edges


def dismiss_first_run_dialogs(page: Page) -> None:
    """A fresh instance greets its first visitor (after a second) with Dagster's community
    dialog: skipped."""
    try:
        page.get_by_role("button", name="Skip", exact=True).click(timeout=15_000)
    except PlaywrightTimeout:
        return  # not shown (this Dagster no longer asks)
    page.get_by_text("Join the Dagster community").wait_for(state="hidden")


def launch_all_partitions(page: Page, ui: DagsterUI, job: str) -> None:
    """The job's "Materialize all", every batch: one backfill, run by the daemon."""
    page.goto(f"{ui.url}/locations/{LOCATION}/jobs/{job}")
    page.get_by_role("button", name=re.compile(r"Materialize all")).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="All", exact=True).click()
    dialog.get_by_role("button", name="Launch backfill").click()
    page.get_by_text(re.compile(r"Created backfill")).wait_for()


def wait_for_run(page: Page, ui: DagsterUI, job: str) -> str:
    """The status of the job's run once it has finished, as its Runs tab shows it."""
    deadline = time.monotonic() + RUN_SECONDS
    while time.monotonic() < deadline:
        page.goto(f"{ui.url}/locations/{LOCATION}/jobs/{job}/runs")
        page.get_by_text(f"job:{job}").wait_for()
        for status in ("Success", "Failure", "Canceled"):
            if page.get_by_text(status, exact=True).count():
                return status
        page.wait_for_timeout(5000)
    raise AssertionError(f"{job} did not finish in {RUN_SECONDS}s:\n{ui.log_tail()}")


def metadata_table(page: Page) -> dict[str, str]:
    """The key/value rows of the materialisation shown (first occurrence of each key)."""
    rows = page.locator("table tr").evaluate_all(
        "trs => trs.map(tr => [...tr.cells].map(c => c.innerText.trim()))"
    )
    table: dict[str, str] = {}
    for cells in rows:
        if len(cells) >= 2:
            table.setdefault(cells[0], cells[1])
    return table


def test_the_ui_shows_materialises_and_blocks(schemas, tmp_path):
    spec = schemas / RETAIL.name
    dataset, labels, edges = expected_graph(spec)
    with browser_page() as page, dagster_ui(tmp_path, schemas) as ui:
        try:
            page.goto(f"{ui.url}/locations/{LOCATION}/asset-groups/{dataset}")
            dismiss_first_run_dialogs(page)
            wait_for_graph(page, len(labels))
            on_screen, drawn = graph_on_screen(page)
            assert on_screen == labels
            assert drawn == sorted(edges)  # each edge once

            launch_all_partitions(page, ui, names.generate_job(dataset))
            launch_all_partitions(page, ui, names.generate_job(FAILING_DATASET))
            assert wait_for_run(page, ui, names.generate_job(dataset)) == "Success", ui.log_tail()
            page.goto(f"{ui.url}/locations/{LOCATION}/asset-groups/{dataset}")
            wait_for_graph(page, len(labels))
            zoom_to_fit(page)
            shoot(page, tmp_path, "lineage")

            check_version(page, ui, spec, tmp_path)
            check_failed_check(page, ui, tmp_path)
        except Exception:
            page.screenshot(path=tmp_path / "screenshots" / "failure.png")
            raise


def check_version(page: Page, ui: DagsterUI, spec: Path, tmp_path: Path) -> None:
    """A sealed table: its version id and row count on the page are the store's."""
    plan = load_spec(spec)
    table = plan.order[0]
    key = names.key(plan.name, names.VERSION, table)
    [manifest] = VersionStore(settings.store_root()).versions(plan.name)
    page.goto(f"{ui.url}/assets/{'/'.join(key.path)}")
    page.get_by_role("tab", name="Events").click()
    page.get_by_text(names.VERSION_META, exact=True).first.wait_for()
    shown = metadata_table(page)
    assert shown[names.VERSION_META] == manifest["version"]
    assert int(shown["dagster/row_count"]) == manifest["tables"][table]["rows"]
    assert int(shown["dagster/row_count"]) == plan.rows[table]
    shoot(page, tmp_path, "version_metadata")
    page.get_by_role("tab", name="Checks").click()
    page.get_by_text("integrity", exact=True).first.wait_for()
    page.get_by_text("Passed", exact=True).first.wait_for()
    shoot(page, tmp_path, "version_checks")


def check_failed_check(page: Page, ui: DagsterUI, tmp_path: Path) -> None:
    """The failed expectation stopped its batch asset: no version was sealed, nothing loaded."""
    ds = FAILING_DATASET
    assert wait_for_run(page, ui, names.generate_job(ds)) == "Failure", ui.log_tail()
    batches = names.batches(load_spec(settings.schemas_dir() / f"{ds}.yaml"), "customers")
    page.goto(f"{ui.url}/assets/{'/'.join(batches.path)}")
    page.get_by_role("tab", name="Checks").click()
    page.get_by_text("Failed", exact=True).first.wait_for()
    page.get_by_text("expect_column_values_to_be_between").first.wait_for()
    shoot(page, tmp_path, "failed_check_detail")
    assert not VersionStore(settings.store_root()).versions(ds)
    load = ui.graphql(
        "query($path: [String!]!) { assetNodeOrError(assetKey: {path: $path}) "
        "{ ... on AssetNode { assetMaterializations(limit: 1) { runId } } } }",
        path=names.key(ds, names.LOAD).path,
    )
    assert load["assetNodeOrError"]["assetMaterializations"] == []
    page.goto(f"{ui.url}/locations/{LOCATION}/asset-groups/{ds}")
    wait_for_graph(page)
    zoom_to_fit(page)
    shoot(page, tmp_path, "failed_check")
