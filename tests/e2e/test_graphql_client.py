"""docs/automation.md: a CI refreshes an environment through Dagster's GraphQL API. Its Python
block runs here as written, against a deployment started as `make ui` starts it (a webserver
and a daemon, tests/e2e/dagster_ui.py) on a free port, on a small dataset."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tdm.core import settings
from tdm.environments.config import get_environment
from tdm.store.versions import VersionStore
from tests.conftest import CUSTOMERS_ORDERS, ROOT
from tests.e2e.dagster_ui import dagster_ui

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("ui")]

DOC = ROOT / "docs" / "automation.md"


def doc_script() -> str:
    found = re.search(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert found, f"{DOC} has no Python block"
    return found.group(1)


def test_a_ci_refreshes_an_environment_as_the_doc_shows(tmp_path, monkeypatch):
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    shutil.copy(ROOT / "schemas" / "environments.yaml", schemas / "environments.yaml")
    (schemas / "shop.yaml").write_text(textwrap.dedent(CUSTOMERS_ORDERS).lstrip())
    monkeypatch.setenv("TDM_SCHEMAS", str(schemas))
    with dagster_ui(tmp_path, schemas) as ui:
        ci = {
            "PATH": str(Path(sys.executable).parent),
            "DAGSTER_HOST": ui.host,
            "DAGSTER_PORT": str(ui.port),
            "TDM_DATASET": "shop",
            "TDM_ENV": "local",
        }
        done = subprocess.run(
            [sys.executable, "-c", doc_script()],
            env=ci,  # what a CI has: the address, not the deployment's settings
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert done.returncode == 0, f"{done.stdout}{done.stderr}\n{ui.log_tail()}"
    [manifest] = VersionStore(settings.store_root()).versions("shop")
    version = manifest["version"]
    assert done.stdout.splitlines()[-1] == f"local holds shop {version}"
    assert f"loading shop {version} into local: {ui.url}/runs/" in done.stdout
    held = get_environment("local").target("shop").current("shop")
    assert held is not None and held["version"] == version
