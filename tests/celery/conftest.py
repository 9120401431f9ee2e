"""RabbitMQ and Redis (started when down, as .ci/run does), a PostgreSQL-backed Dagster instance
and real `dagster-celery worker start` processes on a queue of their own."""

from __future__ import annotations

import os
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
BROKER = f"pyamqp://guest:guest@{HOST}:5672//"
BACKEND = f"redis://{HOST}:6379/0"
ADMIN = f"host={HOST} port=5432 user=postgres dbname=test"
# How to start each service when its port does not answer (as this machine starts it before a
# session, and .ci/run when it is down), and how long it may take.
SERVICES = {
    "RabbitMQ": (5672, "rabbitmq-server -detached", 90.0),
    "Redis": (
        6379,
        "redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save '' "
        "--appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log",
        20.0,
    ),
}


def answers(port: int) -> bool:
    with suppress(OSError), socket.create_connection((HOST, port), timeout=1):
        return True
    return False


def wait_for(what: str, done: Callable[[], bool], seconds: float, step: float = 0.5) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {seconds:.0f}s")
        time.sleep(step)


@pytest.fixture(scope="session")
def services() -> None:
    """RabbitMQ on 5672 and Redis on 6379, started if down; skipped only if they cannot be."""
    for name, (port, line, seconds) in SERVICES.items():
        if answers(port):
            continue
        command = shlex.split(line)
        if shutil.which(command[0]) is None:
            pytest.skip(f"{name} is down on {HOST}:{port} and {command[0]} is not installed")
        subprocess.run(command, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for(f"{name} on port {port}", lambda p=port: answers(p), seconds)
        except TimeoutError as e:
            pytest.skip(f"{name} was down and `{line}` did not start it: {e}")


@contextmanager
def dagster_home(root: Path) -> Iterator[Path]:
    """A DAGSTER_HOME whose run and event storage is a new PostgreSQL database, dropped after:
    what a run's process and every worker must share (here all on this machine)."""
    name = f"tdm_celery_{secrets.token_hex(5)}"
    try:
        with psycopg.connect(ADMIN, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as e:
        pytest.fail(f"PostgreSQL on {HOST}:5432 is needed (.ci/run starts it): {e}")
    home = root / "dagster"
    home.mkdir()
    config = {
        "storage": {"postgres": {"postgres_url": f"postgresql://postgres@{HOST}:5432/{name}"}},
        "telemetry": {"enabled": False},
    }
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    try:
        yield home
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Workers:
    """Celery workers listening on one queue; `names` are their node names (name@host)."""

    queue: str
    env: dict[str, str]
    logs: list[Path] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    processes: list[subprocess.Popen] = field(default_factory=list)

    def start(self, root: Path, name: str) -> None:
        config = root / "celery.yaml"  # the executor's config block, as the workers read it
        config.write_text(
            yaml.safe_dump(
                {
                    "execution": {
                        "config": {
                            "broker": {"env": "TDM_CELERY_BROKER"},  # as docs/deploy-scale.md
                            "backend": {"env": "TDM_CELERY_BACKEND"},
                            "config_source": {"task_default_queue": self.queue},
                        }
                    }
                }
            )
        )
        log = root / f"{name}.log"
        command = [
            str(BIN / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app",
            "-y", str(config), "-q", self.queue, "-n", name, "--loglevel", "INFO",
            "--", "--concurrency=1", "--without-gossip", "--without-mingle",
        ]  # fmt: skip
        with log.open("wb") as out:  # the worker's own process group: killed as a whole
            process = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        self.processes.append(process)
        self.logs.append(log)
        self.names.append(f"{name}@{socket.gethostname()}")

    def wait_ready(self, seconds: float = 120.0) -> None:
        def ready() -> bool:
            for process in self.processes:
                if process.poll() is not None:
                    raise RuntimeError(f"worker exited with {process.returncode}:\n{self.said()}")
            return all(" ready." in log.read_text(errors="replace") for log in self.logs)

        try:
            wait_for("Celery workers ready", ready, seconds)
        except TimeoutError as e:
            raise TimeoutError(f"{e}\n{self.said()}") from None

    def said(self) -> str:
        return "\n".join(
            f"--- {log.name}\n{log.read_text(errors='replace')[-6000:]}" for log in self.logs
        )

    def stop(self) -> None:
        for process in self.processes:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)

    def delete_queue(self) -> None:
        """Purge and delete this run's queue on the broker (nothing is left for others)."""
        from kombu import Connection

        with Connection(self.env["TDM_CELERY_BROKER"], connect_timeout=5) as conn:
            channel = conn.channel()
            with suppress(Exception):
                channel.queue_purge(self.queue)
            with suppress(Exception):
                channel.queue_delete(self.queue)


@pytest.fixture
def workers(services, tmp_path: Path) -> Iterator[Callable[[dict[str, str], int], Workers]]:
    """Start n workers with the given environment on a queue unique to this test."""
    started: list[Workers] = []

    def start(env: dict[str, str], n: int) -> Workers:
        tag = secrets.token_hex(4)
        queue = f"tdm-test-{tag}"
        path = os.pathsep.join([str(BIN), os.environ.get("PATH", "")])  # `celery` is run by name
        full = {**os.environ, **env, "PATH": path, "TDM_CELERY_QUEUE": queue}
        group = Workers(queue, full)
        started.append(group)
        for i in range(1, n + 1):
            root = tmp_path / f"worker{i}"
            root.mkdir()
            group.start(root, f"tdm-w{i}-{tag}")
        group.wait_ready()
        return group

    yield start
    for group in started:
        group.stop()
        group.delete_queue()
