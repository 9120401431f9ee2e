"""An S3-compatible endpoint for the version store tests, and a bucket on it.

`[moto-stand-in]`: moto's S3 emulator (tests/integration/s3/emulator.py), started here -- a
STAND-IN for MinIO / S3, not a real server.

`[real-s3]`: the server in TDM_S3_TEST_ENDPOINT (e.g. http://127.0.0.1:9000 for the compose
stack's MinIO) with the existing bucket TDM_S3_TEST_BUCKET and the credentials of the usual AWS_*
variables; each session writes under a fresh prefix and deletes it afterwards. Skipped when unset.
"""

from __future__ import annotations

import importlib.util
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from tests.integration.s3 import emulator

STAND_IN, REAL = "moto-stand-in", "real-s3"


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
    proc, endpoint = emulator.start(tmp_path_factory.mktemp("moto") / "moto.log")
    env = {
        **emulator.CREDENTIALS,
        "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "TDM_S3_ENDPOINT": endpoint,
    }
    bucket = Bucket(STAND_IN, endpoint, "tdm-store", prefix, env)
    try:
        bucket.client().create_bucket(Bucket=bucket.name)
        yield bucket
    finally:
        emulator.stop(proc)


@pytest.fixture
def s3_env(s3_server: Bucket, monkeypatch) -> Bucket:
    """This process sees the endpoint and credentials too (for in-process store calls)."""
    for key in ("TDM_S3_ENDPOINT", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    for key, value in s3_server.env.items():
        monkeypatch.setenv(key, value)
    return s3_server
