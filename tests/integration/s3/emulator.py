"""moto's S3 emulator (`python -m moto.server`) as a subprocess on a free local port: a STAND-IN
for MinIO / S3, not a real server. It speaks the S3 protocol pyarrow uses; its consistency,
multipart and durability behaviour are moto's, not MinIO's. Used by the store tests and by the
compose stack tests in place of the stack's `minio` service."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.e2e.dagster_ui import free_port

STARTUP_SECONDS = 30
# moto accepts any credentials; these are fake on purpose.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def start(log: Path) -> tuple[subprocess.Popen, str]:
    """The emulator's process and its endpoint, once it answers."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"moto's S3 emulator exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2):
                return proc, endpoint
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"moto's S3 emulator did not answer in {STARTUP_SECONDS}s")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def running(log: Path) -> Iterator[str]:
    """The endpoint of an emulator that stops on exit."""
    proc, endpoint = start(log)
    try:
        yield endpoint
    finally:
        stop(proc)
