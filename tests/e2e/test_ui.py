"""`make ui`: the Dagster webserver on workspace.yaml serves the whole lineage of every spec."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.e2e.dagster_ui import free_port

pytestmark = pytest.mark.xdist_group("cli")
QUERY = "{ assetNodes { assetKey { path } dependencyKeys { path } } }"


def test_webserver_serves_the_lineage(tmp_path):
    port = free_port()
    exe = Path(sys.executable).with_name("dagster-webserver")
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    server = subprocess.Popen(
        [str(exe), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        nodes = None
        for _ in range(120):
            try:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/graphql",
                    data=json.dumps({"query": QUERY}).encode(),
                    headers={"Content-Type": "application/json"},
                )
                answer = json.load(urllib.request.urlopen(request, timeout=5))
                nodes = answer["data"]["assetNodes"]
                break
            except OSError:
                time.sleep(1)
        assert nodes, "the webserver did not answer"
        deps = {
            "/".join(n["assetKey"]["path"]): {"/".join(d["path"]) for d in n["dependencyKeys"]}
            for n in nodes
        }
        assert deps["retail/generate/orders_batches"] == {"retail/schema"}
        assert deps["retail/version/orders"] == {"retail/generate/orders_batches"}
        assert "retail/version/payments" in deps["retail/load"]
    finally:
        server.terminate()
        server.wait(timeout=30)
