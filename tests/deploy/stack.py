"""The compose stack's Dagster services run outside Docker, from docker-compose.yml itself.

Each service's `command`, `environment` and healthcheck are read from the compose file (and the
image's ENV from the Dockerfile), never copied here. What differs from a container is only where
things are: container paths map to this machine (/opt/tdm to the repository, /opt/dagster/home to
a temporary DAGSTER_HOME holding deploy/dagster.yaml and deploy/workspace.yaml, /data to a
temporary TDM_HOME), container ports to free local ports, and the variables that name other
containers (STAND_INS) to the local PostgreSQL, the code server and, for the `minio` service,
moto's S3 emulator (a stand-in: no MinIO can be installed here).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import ROOT
from tests.integration.s3 import emulator

COMPOSE = ROOT / "docker-compose.yml"
BIN = Path(sys.executable).parent
ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=test"
# The variables of the compose environment that name another container, or its credentials.
STAND_INS = (
    "DAGSTER_PG_HOST",
    "DAGSTER_PG_PORT",
    "DAGSTER_PG_USER",
    "DAGSTER_PG_DB",
    "DAGSTER_CODE_HOST",
    "DAGSTER_CODE_PORT",
    "TDM_QA_URL",
    "TDM_S3_ENDPOINT",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
)
_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:-|:\?)((?:[^{}]|\{[^{}]*\})*))?\}")


def compose_file() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def service(name: str) -> dict[str, Any]:
    return compose_file()["services"][name]


def interpolate(value: str, dotenv: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error}, from the .env values given."""

    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name, op, arg = m.groups()
        if dotenv.get(name):
            return dotenv[name]
        if op == ":?":
            raise AssertionError(f"compose refuses to start: {name} unset ({arg})")
        return arg if op == ":-" else ""

    return _VAR.sub(sub, value)


def image_environment() -> dict[str, str]:
    """The ENV lines of the Dockerfile (KEY=VALUE pairs)."""
    env: dict[str, str] = {}
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("ENV "):
            env.update(item.split("=", 1) for item in shlex.split(line[4:]))
    return env


def container_port(args: list[str]) -> str:
    return args[args.index("-p") + 1]


@dataclass
class Local:
    """This machine standing in for the containers of one stack."""

    root: Path  # a fresh temporary directory
    db: str  # the PostgreSQL database of Dagster's storage
    dotenv: dict[str, str]  # what .env would hold
    ports: dict[str, int]  # compose service -> local port
    s3_endpoint: str  # what stands in for the minio service
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster_home"

    @property
    def data(self) -> Path:
        return self.root / "data"

    def prepare(self) -> None:
        """DAGSTER_HOME as the Dockerfile builds it: deploy/dagster.yaml and workspace.yaml."""
        self.dagster_home.mkdir(parents=True)
        self.data.mkdir()
        for name in ("dagster.yaml", "workspace.yaml"):
            shutil.copy(ROOT / "deploy" / name, self.dagster_home / name)

    def path(self, value: str) -> str:
        mounts = (
            ("/opt/dagster/home", self.dagster_home),
            ("/opt/tdm", ROOT),
            ("/data", self.data),
        )
        for inside, outside in mounts:
            if value == inside or value.startswith(inside + "/"):
                return str(outside) + value[len(inside) :]
        return value

    def stand_ins(self) -> dict[str, str]:
        return {
            "DAGSTER_PG_HOST": "127.0.0.1",
            "DAGSTER_PG_PORT": "5432",
            "DAGSTER_PG_USER": "postgres",
            "DAGSTER_PG_DB": self.db,
            "DAGSTER_CODE_HOST": "127.0.0.1",
            "DAGSTER_CODE_PORT": str(self.ports["code"]),
            "TDM_QA_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{self.db}",
            "TDM_S3_ENDPOINT": self.s3_endpoint,
            **emulator.CREDENTIALS,
        }

    def environment(self, name: str) -> dict[str, str]:
        """The container's environment: the image's ENV, then the service's `environment`."""
        env = {"PATH": f"{BIN}:/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}
        env["HOME"] = str(self.root)
        env.update(image_environment())
        for key, value in service(name).get("environment", {}).items():
            env[key] = interpolate(str(value), self.dotenv)
        env = {key: self.path(value) for key, value in env.items()}
        missing = set(STAND_INS) - set(env)
        assert not missing, f"docker-compose.yml no longer sets {missing} for {name}"
        return {**env, **self.stand_ins(), **self.extra_env}

    def command(self, name: str, args: list[str]) -> list[str]:
        """A compose command (or healthcheck) with its paths, hosts and ports made local."""
        port = str(self.ports[name]) if name in self.ports else None
        inside = container_port(service(name)["command"]) if port else None
        out: list[str] = []
        for i, arg in enumerate(args):
            arg = self.path(arg)
            if port and arg == inside and i and args[i - 1] == "-p":
                arg = port
            elif port and f":{inside}/" in arg:
                arg = arg.replace(f":{inside}/", f":{port}/")
            elif arg == "0.0.0.0" and i and args[i - 1] == "-h":
                arg = "127.0.0.1"  # not every interface of this machine
            out.append(arg)
        return out

    def healthcheck(self, name: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        test = service(name)["healthcheck"]["test"]
        assert test[0] == "CMD", test
        return subprocess.run(
            self.command(name, test[1:]),
            env=self.environment(name),
            cwd=self.data,
            capture_output=True,
            text=True,
            timeout=timeout,
        )


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"--- {self.name} ({self.log})\n" + "\n".join(text.splitlines()[-lines:])


@contextmanager
def running(args: list[str], env: dict[str, str], cwd: Path, log: Path) -> Iterator[Process]:
    """A process in its own process group; on exit asked to stop, then its group killed."""
    with log.open("wb") as out:
        popen = subprocess.Popen(
            args,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield Process(log.stem, popen, log)
    finally:
        with suppress(ProcessLookupError):
            os.killpg(popen.pid, signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            popen.wait(timeout=20)
        with suppress(ProcessLookupError):
            os.killpg(popen.pid, signal.SIGKILL)  # run workers and code servers left behind
        popen.wait(timeout=20)


def wait_for(what: str, check: Callable[[], Any], processes: list[Process], seconds: float) -> Any:
    """Polls `check` until it returns something truthy; fails with the processes' logs when
    the time is up or a process died."""
    deadline = time.monotonic() + seconds
    last: object = None
    while time.monotonic() < deadline:
        dead = [p for p in processes if p.popen.poll() is not None]
        assert not dead, f"{dead[0].name} exited while waiting for {what}:\n" + "\n".join(
            p.tail() for p in processes
        )
        try:
            if result := check():
                return result
        except Exception as e:  # not up yet: shown if it never is
            last = e
        time.sleep(1)
    logs = "\n".join(p.tail() for p in processes)
    raise AssertionError(f"no {what} within {seconds:.0f}s (last: {last!r}):\n{logs}")
