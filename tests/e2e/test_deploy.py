"""docker-compose.yml and the Dockerfile, checked as far as a machine without Docker can."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import yaml

from tests.conftest import ROOT

SERVICES = {
    "dagster-postgres",
    "code",
    "webserver",
    "daemon",
    "proxy",
    "target-postgres",
    "pushgateway",
    "prometheus",
    "grafana",
    "mongodb",
    "minio",
    "minio-bucket",
}


def compose_command() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if (
        shutil.which("docker")
        and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0
    ):
        return ["docker", "compose"]
    return None


def test_compose_file_has_the_services_and_no_secrets():
    text = (ROOT / "docker-compose.yml").read_text()
    compose = yaml.safe_load(text)
    assert set(compose["services"]) == SERVICES
    assert "TDM_MASKING_KEY: ${TDM_MASKING_KEY:?" in text  # required from the user's shell
    for name in ("code", "webserver", "daemon"):
        assert compose["services"][name]["build"] == "."
    assert "pipelines.definitions" in compose["services"]["code"]["command"]


def test_dockerfile_copies_what_exists():
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), source


def test_docker_compose_config_parses(tmp_path):
    command = compose_command()
    if command is None:
        pytest.skip(
            "no docker compose client installed (.ci/run installs Debian's "
            "docker-compose); there is no Docker engine here either way"
        )
    # an empty env file: a developer's own .env (docs/deploy.md) must not decide the outcome
    empty = tmp_path / "empty.env"
    empty.write_text("")
    env = {**os.environ, "TDM_MASKING_KEY": "x" * 32}
    env |= {"TDM_UI_USER": "qa", "TDM_UI_PASSWORD": "not-a-real-password"}
    env |= {"MINIO_ROOT_PASSWORD": "not-a-real-password"}
    base = [*command, "--env-file", str(empty), "-f", "docker-compose.yml", "config", "-q"]
    result = subprocess.run(
        base,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    missing = subprocess.run(
        base,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={k: v for k, v in env.items() if k != "TDM_MASKING_KEY"},
    )
    assert missing.returncode != 0 and "TDM_MASKING_KEY" in missing.stderr
    no_store_login = subprocess.run(
        base,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={k: v for k, v in env.items() if k != "MINIO_ROOT_PASSWORD"},
    )
    assert no_store_login.returncode != 0 and "MINIO_ROOT_PASSWORD" in no_store_login.stderr
