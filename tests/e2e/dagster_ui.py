"""A running Dagster deployment for the UI tests, started as `make ui` starts it: `dagster-daemon
run` (backfills, the run queue) and `dagster-webserver` on workspace.yaml, here on a free port,
with its own DAGSTER_HOME under tmp_path and the test's TDM_HOME, masking with the public demo
key (TDM_ALLOW_DEV_KEY=1)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import ROOT

STARTUP_SECONDS = 240  # loading the code location on two busy cores
STOP_SECONDS = 60
LOCATION = "{ repositoriesOrError { __typename ... on RepositoryConnection { nodes { name } } } }"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class DagsterUI:
    host: str
    port: int
    env: dict[str, str]  # the environment the deployment (and the runs it launches) sees
    logs: tuple[Path, ...]  # what the daemon and the webserver printed

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def graphql(self, query: str, **variables: object) -> dict:
        return graphql(self.url, query, **variables)

    def log_tail(self, lines: int = 30) -> str:
        tails = []
        for log in self.logs:
            text = log.read_text(errors="replace") if log.exists() else ""
            tails.append(f"--- {log.name}\n" + "\n".join(text.splitlines()[-lines:]))
        return "\n".join(tails)


def _wait_until_loaded(ui: DagsterUI, servers: list[subprocess.Popen]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        assert all(s.poll() is None for s in servers), f"a server exited:\n{ui.log_tail()}"
        try:
            answer = ui.graphql(LOCATION)["repositoriesOrError"]
            if answer["__typename"] == "RepositoryConnection" and answer["nodes"]:
                return
        except OSError:
            pass
        time.sleep(1)
    raise AssertionError(f"the code location did not load in {STARTUP_SECONDS}s:\n{ui.log_tail()}")


@contextmanager
def _server(args: list[str], log: Path, env: dict[str, str]) -> Iterator[subprocess.Popen]:
    """A process in its own process group; on exit asked to stop (SIGTERM), then whatever is
    left of its group (code servers, runs still going) is killed."""
    with log.open("wb") as out:
        server = subprocess.Popen(
            [str(Path(sys.executable).with_name(args[0])), *args[1:]],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield server
    finally:
        server.terminate()
        with suppress(subprocess.TimeoutExpired):
            server.wait(timeout=STOP_SECONDS)
        with suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)


@contextmanager
def dagster_ui(tmp_path: Path, schemas: Path | None = None) -> Iterator[DagsterUI]:
    """The deployment, stopped on exit. `schemas`: a directory of specs (TDM_SCHEMAS) instead
    of the project's schemas/."""
    home = tmp_path / "dagster_home"
    env = {**os.environ, "DAGSTER_HOME": str(home), "TDM_ALLOW_DEV_KEY": "1"}
    # As `make ui` does: the instance's storage exists before two processes race to create it
    # (on a fresh home, the daemon and the webserver both migrating SQLite fails one of them).
    subprocess.run(
        [sys.executable, "-c", "from pipelines.runner import instance; instance()"],
        env=env,
        cwd=ROOT,
        check=True,
        timeout=120,
    )
    env.pop("TDM_MASKING_KEY", None)
    if schemas is not None:
        env["TDM_SCHEMAS"] = str(schemas)
    assert "TDM_HOME" in env, "the tdm_home fixture sets TDM_HOME"
    daemon_log, webserver_log = tmp_path / "dagster-daemon.log", tmp_path / "dagster-webserver.log"
    ui = DagsterUI("127.0.0.1", free_port(), env, (daemon_log, webserver_log))
    daemon = ["dagster-daemon", "run", "-w", "workspace.yaml"]
    webserver = ["dagster-webserver", "-w", "workspace.yaml", "-h", ui.host, "-p", str(ui.port)]
    with ExitStack() as stack:
        servers = [
            stack.enter_context(_server(daemon, daemon_log, env)),
            stack.enter_context(_server(webserver, webserver_log, env)),
        ]
        _wait_until_loaded(ui, servers)
        yield ui


def graphql(url: str, query: str, **variables: object) -> dict:
    """The data of a GraphQL query to the webserver at `url` (no errors allowed)."""
    request = urllib.request.Request(
        f"{url}/graphql",
        data=json.dumps({"query": query, "variables": variables}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        body = json.load(answer)
    assert "errors" not in body, body["errors"]
    return body["data"]
