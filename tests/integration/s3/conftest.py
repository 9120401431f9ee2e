"""An S3-compatible endpoint for the version store tests, and a bucket on it.

`[moto-stand-in]`: moto's S3 emulator (`python -m moto.server`), started here as a subprocess
on a free local port -- a STAND-IN for MinIO / S3, not a real server: it speaks the S3 protocol
pyarrow uses, but its consistency, multipart and durability behaviour are moto's, not MinIO's.

`[real-s3]`: the server in TDM_S3_TEST_ENDPOINT (e.g. http://127.0.0.1:9000 for the compose
stack's MinIO) with the existing bucket TDM_S3_TEST_BUCKET and the credentials of the usual AWS_*
variables; each session writes under a fresh prefix and deletes it afterwards. Skipped when unset.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

STAND_IN, REAL = "moto-stand-in", "real-s3"
STARTUP_SECONDS = 30


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "s3: the version store on S3-compatible object storage (moto's emulator, a stand-in for "
        "MinIO/S3, started by the test; a real server with TDM_S3_TEST_ENDPOINT)",
    )


@dataclass
class Bucket:
    """Where a test's store lives, and the variables that reach it."""

    kind: str
    endpoint: str
    name: str
    prefix: str
    env: dict[str, str] = field(default_factory=dict)

    def url(self, *more: str) -> str:
        return "s3://" + "/".join([self.name, self.prefix, *more])

    def client(self):
        import boto3  # moto's own dependency: an S3 client independent of pyarrow

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=self.env.get("AWS_REGION", "us-east-1"),
            aws_access_key_id=self.env.get("AWS_ACCESS_KEY_ID"),
            aws_secret_access_key=self.env.get("AWS_SECRET_ACCESS_KEY"),
        )

    def objects(self, *under: str) -> dict[str, tuple[str, object]]:
        """Every object under the prefix (or a folder of it): key -> (ETag, LastModified)."""
        out, pages = {}, self.client().get_paginator("list_objects_v2")
        for page in pages.paginate(Bucket=self.name, Prefix="/".join([self.prefix, *under]) + "/"):
            for o in page.get("Contents", []):
                out[o["Key"]] = (o["ETag"], o["LastModified"])
        return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_moto(log: Path) -> tuple[subprocess.Popen, str]:
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


@pytest.fixture(scope="session", params=[STAND_IN, REAL])
def s3_server(request, tmp_path_factory) -> Iterator[Bucket]:
    """The endpoint and a bucket: moto's emulator (a stand-in) or the real server named."""
    prefix = f"tdm-test-{uuid.uuid4().hex[:10]}"
    if request.param == REAL:
        endpoint, name = (os.environ.get(v) for v in ("TDM_S3_TEST_ENDPOINT", "TDM_S3_TEST_BUCKET"))
        if not endpoint or not name:
            pytest.skip("TDM_S3_TEST_ENDPOINT / TDM_S3_TEST_BUCKET not set: no real S3 here")
        keep = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION")
        env = {k: os.environ[k] for k in keep if os.environ.get(k)}
        bucket = Bucket(REAL, endpoint, name, prefix, {**env, "TDM_S3_ENDPOINT": endpoint})
        yield bucket
        client = bucket.client()
        for key in bucket.objects():
            client.delete_object(Bucket=name, Key=key)
        return
    if importlib.util.find_spec("moto") is None:
        pytest.fail("moto is not installed: the dev extra pins moto[server] (make install)")
    proc, endpoint = _start_moto(tmp_path_factory.mktemp("moto") / "moto.log")
    env = {
        "AWS_ACCESS_KEY_ID": "testing",  # fake: moto accepts any
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "TDM_S3_ENDPOINT": endpoint,
    }
    bucket = Bucket(STAND_IN, endpoint, "tdm-store", prefix, env)
    try:
        bucket.client().create_bucket(Bucket=bucket.name)
        yield bucket
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def s3_env(s3_server: Bucket, monkeypatch) -> Bucket:
    """This process sees the endpoint and credentials too (for in-process store calls)."""
    for key in ("TDM_S3_ENDPOINT", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    for key, value in s3_server.env.items():
        monkeypatch.setenv(key, value)
    return s3_server
