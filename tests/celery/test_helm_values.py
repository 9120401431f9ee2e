"""deploy/helm/values.yaml (Dagster's Helm chart): the same code location as docker-compose.yml,
steps in pods of their own, the masking key only from a Secret. `helm template` cannot run here
(no helm, and the chart is not fetchable): these check what the values say, not the rendering."""

from __future__ import annotations

import pytest
import yaml

from pipelines.build import build_definitions

from .conftest import ROOT

VALUES = ROOT / "deploy" / "helm" / "values.yaml"


@pytest.fixture(scope="module")
def code() -> dict:
    values = yaml.safe_load(VALUES.read_text())
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert values["dagster-user-deployments"]["enabled"] is True
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    return deployment


def test_the_code_server_serves_what_compose_serves(code):
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    command = compose["services"]["code"]["command"]
    args = code["codeServerArgs"]
    for flag in ("-m", "--working-directory"):
        assert args[args.index(flag) + 1] == command[command.index(flag) + 1]
    assert code["includeConfigInLaunchedRuns"]["enabled"] is True  # runs, steps get the env


def test_its_executor_choice_builds_k8s_jobs(code, monkeypatch, small_spec):
    env = {e["name"]: e for e in code["env"]}
    monkeypatch.setenv("TDM_EXECUTOR", env["TDM_EXECUTOR"]["value"])
    job = build_definitions(paths=[small_spec]).resolve_job_def("shop_generate")
    assert job.executor_def.name == "k8s"
    assert env["TDM_STORE"]["value"].startswith("s3://")


def test_the_masking_key_comes_only_from_a_secret(code):
    (key,) = [e for e in code["env"] if e["name"] == "TDM_MASKING_KEY"]
    assert "value" not in key
    assert set(key["valueFrom"]["secretKeyRef"]) == {"name", "key"}
