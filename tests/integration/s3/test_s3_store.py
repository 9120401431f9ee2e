"""The version store on object storage (TDM_STORE=s3://bucket/prefix), end to end through `tdm`.

`[moto-stand-in]` runs against moto's S3 emulator, a stand-in for MinIO/S3 started by the test
(tests/integration/s3/conftest.py) -- not a real-server test; `[real-s3]` runs the same against
TDM_S3_TEST_ENDPOINT when it is set. A version is sealed by one `tdm` process and loaded by
another that shares nothing with it but TDM_STORE and the S3 variables (no local store, no
TDM_HOME in common).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pytest

from tdm.core.errors import TdmError
from tdm.plan.loading import load_spec
from tdm.store.versions import BrokenVersion, VersionStore
from tests.conftest import ROOT
from tests.e2e.dagster_ui import free_port
from tests.integration.s3.conftest import Bucket

pytestmark = [pytest.mark.s3, pytest.mark.slow, pytest.mark.xdist_group("s3")]

SPEC = """\
dataset: shop
seed: 3
batch_size: 50
reference_date: 2026-01-01
tables:
  customers:
    rows: 120
    primary_key: id
    columns:
      id: {type: int, generator: sequence}
      code: {type: string, generator: pattern, pattern: "C-####-??", unique: true}
      age: {type: int, generator: integer, min: 18, max: 90}
  orders:
    rows: {per: customers, distribution: uniform, min: 0, max: 4}
    primary_key: id
    columns:
      id: {type: int, generator: sequence}
      customer_id: {type: int, references: customers}
"""
# this process's settings that must not reach the `tdm` processes (each gets only what it names)
PRIVATE = {
    *("TDM_STORE", "TDM_HOME", "DAGSTER_HOME", "TDM_PROJECT", "TDM_SCHEMAS"),
    *("TDM_MASKING_KEY", "TDM_ALLOW_DEV_KEY"),
    *("TDM_S3_ENDPOINT", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE"),
}


def tdm(*args: str, home: Path, env: dict[str, str], check: bool = True):
    full = {k: v for k, v in os.environ.items() if k not in PRIVATE}
    full.update(env, TDM_HOME=str(home))
    result = subprocess.run(
        [sys.executable, "-m", "tdm.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=full,
        timeout=600,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"tdm {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


@dataclass
class Sealed:
    bucket: Bucket
    spec: Path
    version: str
    seconds: float

    @property
    def env(self) -> dict[str, str]:
        return {**self.bucket.env, "TDM_STORE": self.bucket.url()}


@pytest.fixture(scope="module")
def sealed(s3_server: Bucket, tmp_path_factory) -> Sealed:
    """`tdm run` of the spec with the store in the bucket: generated, validated, sealed."""
    work = tmp_path_factory.mktemp("s3run")
    spec = work / "shop.yaml"
    spec.write_text(SPEC)
    env = {**s3_server.env, "TDM_STORE": s3_server.url()}
    started = time.perf_counter()
    out = tdm("run", str(spec), home=work / "home", env=env).stdout
    version = out.split("version ")[1].split()[0]
    assert f"version {version} of shop sealed" in out
    assert not (work / "home" / "store").exists()  # nothing sealed on this machine
    return Sealed(s3_server, spec, version, time.perf_counter() - started)


def _object(bucket: Bucket, *key: str) -> bytes:
    got = bucket.client().get_object(Bucket=bucket.name, Key="/".join([bucket.prefix, *key]))
    return got["Body"].read()


def test_run_seals_the_version_in_the_bucket_with_checksums(sealed, tmp_path):
    bucket, v = sealed.bucket, sealed.version
    manifest = json.loads(_object(bucket, "shop", v, "manifest.json"))
    assert manifest["version"] == v and set(manifest["tables"]) == {"customers", "orders"}
    for info in manifest["tables"].values():
        for f in info["files"]:  # read with another client than the store's (boto3)
            data = _object(bucket, "shop", v, f["path"])
            assert hashlib.sha256(data).hexdigest() == f["sha256"] and len(data) == f["bytes"]
    assert json.loads(_object(bucket, "shop", v, "validation.json"))["success"]
    listed = tdm("versions", "shop", "--json", home=tmp_path / "other", env=sealed.env)
    [row] = json.loads(listed.stdout)
    assert row["version"] == v and row["latest"]
    assert row["path"] == bucket.url("shop", v)


def _generated(spec: Path) -> dict[str, list[tuple]]:
    """The rows the spec generates, batch by batch as the store holds them, computed here."""
    plan, out = load_spec(spec), {}
    for table in plan.order:
        parts = []
        for i in range(len(plan.batch_keys())):
            start, stop = plan.block(table, i)
            if start < stop:
                parts.append(plan.generate(table, start, stop))
        data = pa.concat_tables(parts)
        out[table] = sorted(
            zip(*(data.column(c).to_pylist() for c in data.column_names), strict=True)
        )
    return out


def test_another_process_loads_the_sealed_version(sealed, tmp_path):
    """Only TDM_STORE and the S3 variables in common: another TDM_HOME, no local store."""
    home = tmp_path / "elsewhere"
    tdm("load", "shop", "--env", "local", "--version", sealed.version, home=home, env=sealed.env)
    assert not (home / "store").exists()
    with sqlite3.connect(home / "local" / "shop.sqlite") as conn:
        loaded = {
            t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall())
            for t in ("customers", "orders")
        }
    assert loaded == _generated(sealed.spec)


def _sealed_objects(bucket: Bucket, version: str) -> dict:
    return {
        k: tag
        for k, tag in bucket.objects("shop", version).items()
        if k.endswith((".parquet", "/manifest.json"))
    }


def test_sealing_again_rewrites_no_object(sealed, tmp_path, s3_env):
    before = _sealed_objects(sealed.bucket, sealed.version)
    assert len(before) > 2
    again = tdm("run", str(sealed.spec), home=tmp_path / "again", env=sealed.env)
    assert f"version {sealed.version} of shop reused (already sealed)" in again.stdout
    store, plan = VersionStore(sealed.bucket.url()), load_spec(sealed.spec)
    first = plan.generate("customers", 0, 10)
    store.write_batch("shop", sealed.version, "customers", plan.batch_keys()[0], first)
    assert store.seal(plan, sealed.version) == store.manifest("shop", sealed.version)
    assert _sealed_objects(sealed.bucket, sealed.version) == before  # same ETags and times


def test_a_tampered_object_stops_the_load(sealed, tmp_path, s3_env):
    """A copy of the version under another prefix, one Parquet object replaced by another
    valid one: the load names the changed object and loads nothing."""
    bucket, v = sealed.bucket, sealed.version
    client, copy = bucket.client(), f"{bucket.prefix}/tampered"
    for key in bucket.objects("shop"):
        target = copy + key[len(bucket.prefix) :]
        client.copy_object(Bucket=bucket.name, Key=target, CopySource=f"{bucket.name}/{key}")
    other = _object(bucket, "shop", v, "customers", "b0001.parquet")
    client.put_object(
        Bucket=bucket.name, Key=f"{copy}/shop/{v}/customers/b0000.parquet", Body=other
    )
    env = {**bucket.env, "TDM_STORE": f"s3://{bucket.name}/{copy}"}
    home = tmp_path / "victim"
    failed = tdm("load", "shop", "--env", "local", "--version", v, home=home, env=env, check=False)
    assert failed.returncode != 0 and "Traceback" not in failed.stderr
    assert f"version {v} of shop is damaged" in failed.stderr
    assert "customers/b0000.parquet changed (sha256 differs from the manifest)" in failed.stderr
    db = home / "local" / "shop.sqlite"
    if db.exists():
        with sqlite3.connect(db) as conn:
            assert not conn.execute("SELECT name FROM sqlite_master WHERE name='orders'").fetchall()
    store = VersionStore(env["TDM_STORE"])  # each read checks the object against the manifest
    entry = store.manifest("shop", v)["tables"]["customers"]["files"][0]
    with pytest.raises(BrokenVersion, match="sha256 differs"):
        store.read_file("shop", v, entry)


@pytest.mark.parametrize(
    ("store", "message"),
    [
        ("s3://", "names no valid bucket: write s3://bucket/prefix"),
        ("s3:///prefix", "names no valid bucket"),
        ("s3://tdm-store/a/../b", "is not a plain key path"),
        ("gs://tdm-store/p", "takes a directory or s3://bucket/prefix"),
    ],
    ids=["no-bucket", "empty-bucket", "dot-dot", "other-scheme"],
)
def test_a_bad_store_url_is_a_clear_error(s3_server, tmp_path, store, message):
    failed = tdm(
        "versions", "shop", home=tmp_path, env={**s3_server.env, "TDM_STORE": store}, check=False
    )
    assert failed.returncode == 2 and "Traceback" not in failed.stderr
    assert message in failed.stderr


def test_an_unreachable_endpoint_is_a_clear_error(s3_server, tmp_path):
    env = {
        **s3_server.env,
        "TDM_STORE": s3_server.url(),
        "TDM_S3_ENDPOINT": f"http://127.0.0.1:{free_port()}",
    }
    started = time.perf_counter()
    failed = tdm("versions", "shop", home=tmp_path, env=env, check=False)
    assert failed.returncode == 2 and "Traceback" not in failed.stderr
    assert f"cannot list {s3_server.url()}" in failed.stderr and "TDM_S3_ENDPOINT" in failed.stderr
    assert time.perf_counter() - started < 60


def test_names_cannot_climb_out_of_the_prefix(s3_env):
    bucket = s3_env
    store = VersionStore(bucket.url("hostile"))
    for parts in (("shop", "v1", "../../x"), ("shop", "v1", "a//b"), ("shop", "v1", "./x")):
        with pytest.raises(TdmError, match="not a plain key path"):
            store.path(*parts)
    with pytest.raises(TdmError, match="not a valid dataset name"):
        store.path("../shop", "v1")
    with pytest.raises(TdmError, match="not a valid version name"):
        store.write_text("shop", "../v1", "x.json", text="{}")
    client, base = bucket.client(), f"{bucket.prefix}/hostile/shop"
    manifest = {"dataset": "shop", "version": "vbad", "created_at": "2026-01-01", "seed": 1}
    manifest |= {"spec": {}, "tables": {"t": {"rows": 1, "files": [{"path": "../../../x"}]}}}
    client.put_object(
        Bucket=bucket.name, Key=f"{base}/vbad/manifest.json", Body=json.dumps(manifest)
    )
    client.put_object(Bucket=bucket.name, Key=f"{base}/not.a.version/manifest.json", Body=b"{}")
    found, broken = store.listing("shop")
    assert found == [] and set(broken) == {"vbad", "'not.a.version'"}  # shortened, quoted
    assert "is not <table>/<batch>.parquet" in broken["vbad"]
    assert broken["'not.a.version'"] == "not a version directory name"


def test_a_missing_bucket_is_a_clear_error(s3_env):
    store = VersionStore(f"s3://no-such-bucket-{os.getpid()}/p")
    with pytest.raises(TdmError, match="that the bucket exists"):
        store.write_text("shop", "v1", "x.json", text="{}")


def test_store_urls_name_a_bucket_and_a_prefix_only():
    """No server needed: what TDM_STORE may say, and how its objects are named."""
    from tdm.store.objects import parse_url

    assert str(parse_url("s3://tdm-store")) == "s3://tdm-store"
    deep = parse_url("s3://tdm-store/team/a/versions/")
    assert deep.key == "tdm-store/team/a/versions" and str(deep / "shop") == f"{deep}/shop"
    assert str(VersionStore("s3://tdm-store/p").dir("shop", "v1")) == "s3://tdm-store/p/shop/v1"
    for bad in ("s3://key:secret@tdm-store/p", "s3://tdm-store/p?endpoint_override=x", "s3://B"):
        with pytest.raises(TdmError, match="TDM_STORE"):
            parse_url(bad)
