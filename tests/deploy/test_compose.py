"""What docker-compose.yml promises without running anything: secrets only from .env (with
.env.example committed and empty of anything real), healthchecks, named volumes, the UI reached
through the proxy alone; and the proxy's start script refusing to run without a login."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.deploy.proxy import ENTRYPOINT, TEMPLATE
from tests.deploy.stack import compose_file

pytestmark = [pytest.mark.deploy, pytest.mark.xdist_group("deploy")]

EXAMPLE = ROOT / ".env.example"
STATEFUL = {
    "dagster-postgres": "dagster-pg",
    "target-postgres": "target-pg",
    "mongodb": "mongo-data",
    "minio": "minio-data",
}
TDM_SERVICES = ("code", "webserver", "daemon")


def dotenv(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {k.strip(): v.strip() for k, v in pairs if not k.lstrip().startswith("#")}


def test_env_example_names_every_variable_and_holds_no_secret() -> None:
    used = set(re.findall(r"\$\{([A-Z_]+)", (ROOT / "docker-compose.yml").read_text()))
    example = dotenv(EXAMPLE)
    assert used == set(example), f"compose uses {sorted(used)}, .env.example has {sorted(example)}"
    assert example["TDM_MASKING_KEY"] == ""  # compose refuses to start until it is set
    assert example["TDM_UI_USER"] == example["TDM_UI_PASSWORD"] == ""  # the proxy refuses
    for name in ("DAGSTER_PG_PASSWORD", "TARGET_PG_PASSWORD", "MINIO_ROOT_PASSWORD"):
        assert example[name].startswith("change-me"), name
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT)
    assert ignored.returncode == 0, ".env is not ignored by git"


def waits_for(services: dict, name: str) -> set[str]:
    """Every service `name` starts after, directly or through another."""
    seen: set[str] = set()
    todo = list(services[name].get("depends_on") or {})
    while todo:
        dep = todo.pop()
        if dep not in seen:
            seen.add(dep)
            todo.extend(services[dep].get("depends_on") or {})
    return seen


def test_services_have_healthchecks_and_state_is_in_named_volumes() -> None:
    compose = compose_file()
    services = compose["services"]
    jobs = {  # one-shot services, which others wait for to have exited successfully
        dep
        for spec in services.values()
        for dep, how in (spec.get("depends_on") or {}).items()
        if how.get("condition") == "service_completed_successfully"
    }
    assert jobs == {"minio-bucket"}
    for name in jobs:
        assert services[name]["restart"] == "no", name
    for name, spec in services.items():
        if name not in jobs:
            assert spec.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
    for name, volume in STATEFUL.items():
        assert any(v.startswith(f"{volume}:") for v in services[name]["volumes"]), name
    for name in TDM_SERVICES:
        assert "tdm-data:/data" in services[name]["volumes"], name
        assert services[name]["environment"]["TDM_AUTOMATION"] == "on", name
        assert services[name]["environment"]["TDM_STORE"].startswith("s3://"), name
        assert "minio-bucket" in waits_for(services, name), name
    assert {*STATEFUL.values(), "tdm-data"} <= set(compose["volumes"])


def test_only_the_proxy_publishes_the_ui() -> None:
    services = compose_file()["services"]
    assert services["proxy"]["ports"] == ["${TDM_UI_PORT:-8080}:80"]
    assert services["webserver"]["ports"] == ["127.0.0.1:3000:3000"]  # this host only
    for name in ("code", "daemon", "dagster-postgres"):
        assert "ports" not in services[name], name


def run_entrypoint(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    files = {
        "TDM_PROXY_TEMPLATE": str(TEMPLATE),
        "TDM_PROXY_CONF": str(tmp_path / "tdm.conf"),
        "TDM_PROXY_HTPASSWD": str(tmp_path / "htpasswd"),
    }
    return subprocess.run(
        ["sh", str(ENTRYPOINT), "true"],
        env={"PATH": "/usr/bin:/bin", **files, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.parametrize(
    ("user", "password", "says"),
    [
        ("", "a-long-enough-password", "TDM_UI_USER is empty"),
        ("admin", "", "TDM_UI_PASSWORD is empty"),
        ("admin", "short", "TDM_UI_PASSWORD is too short"),
        ("ad:min", "a-long-enough-password", "must not contain ':'"),
    ],
)
def test_the_proxy_refuses_to_start_without_a_login(tmp_path, user, password, says) -> None:
    done = run_entrypoint(tmp_path, TDM_UI_USER=user, TDM_UI_PASSWORD=password)
    assert done.returncode != 0 and says in done.stderr, done.stderr
    assert not (tmp_path / "tdm.conf").exists()  # nginx never gets a config


def test_the_proxy_stores_only_a_salted_hash(tmp_path) -> None:
    if not shutil.which("openssl"):
        pytest.skip("openssl is missing (`apt-get install -y openssl`; .ci/run installs it)")
    password = "correct horse battery staple"
    done = run_entrypoint(tmp_path, TDM_UI_USER="admin", TDM_UI_PASSWORD=password)
    assert done.returncode == 0, done.stderr
    user, stored = (tmp_path / "htpasswd").read_text().strip().split(":", 1)
    assert user == "admin" and password not in stored and stored.startswith("$6$")
    salt = stored.split("$")[2]
    again = subprocess.run(
        ["openssl", "passwd", "-6", "-salt", salt, "-stdin"],
        input=password,
        capture_output=True,
        text=True,
        check=True,
    )
    assert again.stdout.strip() == stored
    conf = (tmp_path / "tdm.conf").read_text()
    assert not re.search(r"@[A-Z]+@", conf)  # every placeholder filled in
    assert "listen 80;" in conf
    assert f"auth_basic_user_file {tmp_path / 'htpasswd'};" in conf
    assert "proxy_pass http://webserver:3000;" in conf  # the defaults are the compose names
    assert oct((tmp_path / "htpasswd").stat().st_mode & 0o777) in ("0o640", "0o644")


def test_the_proxy_image_copies_what_exists() -> None:
    for line in (ROOT / "deploy" / "nginx" / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (ROOT / "deploy" / "nginx" / source).exists(), source
    assert os.access(ENTRYPOINT, os.X_OK), "the image runs entrypoint.sh as a program"


def compose_client() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True)
        return ["docker", "compose"] if probe.returncode == 0 else None
    return None


def test_compose_takes_its_secrets_from_the_env_file(tmp_path) -> None:
    client = compose_client()
    if client is None:
        pytest.skip("no docker compose client (.ci/run installs Debian's docker-compose)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TDM_", "DAGSTER_PG"))}

    def config(env_file: Path) -> subprocess.CompletedProcess[str]:
        args = [*client, "--env-file", str(env_file), "-f", "docker-compose.yml", "config"]
        return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True)

    refused = config(EXAMPLE)  # as committed: no masking key
    assert refused.returncode != 0 and "TDM_MASKING_KEY" in refused.stderr, refused.stderr
    filled = tmp_path / ".env"
    key, ui = "k" * 64, "ui-password-from-env"
    text = EXAMPLE.read_text().replace("TDM_MASKING_KEY=\n", f"TDM_MASKING_KEY={key}\n")
    filled.write_text(text.replace("TDM_UI_PASSWORD=\n", f"TDM_UI_PASSWORD={ui}\n"))
    done = config(filled)
    assert done.returncode == 0, done.stderr
    assert key in done.stdout and ui in done.stdout and "change-me-dagster-pg" in done.stdout
