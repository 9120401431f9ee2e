"""Rotating the masking key (docs/security.md#rotating-the-key): a new key gives a new version,
versions made under the old key stay loadable without any key and keep naming the fingerprint
they were made under, and `tdm versions` shows every version's fingerprint as stored."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pyarrow.compute as pc
import pytest

from tdm.masking.keys import MaskingKey
from tdm.plan.loading import load_spec
from tdm.produce.production import Production
from tdm.store.versions import VersionStore
from tests.conftest import ROOT

pytestmark = pytest.mark.xdist_group("cli")

KEY_A = "rotation-test-key-A-3b9d0c51e2f84a7c"
KEY_B = "rotation-test-key-B-91f0a2d6c4e7b835"
SPEC = """
dataset: members
seed: 5
reference_date: 2026-01-01
tables:
  members:
    rows: 300
    primary_key: id
    columns:
      id: {type: int, generator: sequence, mask: pseudonymize}
      code: {type: string, generator: pattern, pattern: "M-########", unique: true,
             mask: {strategy: pseudonymize, alphabet: digits}}
      email: {type: string, generator: email, mask: hash}
      tier: {type: string, generator: choice, values: [gold, silver]}
  visits:
    rows: {per: members, distribution: uniform, min: 0, max: 3}
    primary_key: [member_id, n]
    columns:
      member_id: {type: int, references: members}
      n: {type: int, generator: sequence, per_parent: true}
"""


def tdm(*args: str, key: str | None) -> subprocess.CompletedProcess:
    """`tdm ...` as a user runs it, with TDM_MASKING_KEY set to `key` (None: unset)."""
    env = {k: v for k, v in os.environ.items() if k != "TDM_MASKING_KEY"}
    if key is not None:
        env["TDM_MASKING_KEY"] = key
    result = subprocess.run(
        [sys.executable, "-m", "tdm.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, f"tdm {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    assert key is None or key not in result.stdout + result.stderr
    return result


def run(spec, key: str, *extra: str) -> str:
    out = tdm("run", str(spec), "--quiet", *extra, key=key).stdout
    return out.split("version ")[1].split()[0]


def held(db) -> tuple[str, list[int]]:
    """The version an SQLite environment holds, and its member ids."""
    with sqlite3.connect(db) as conn:
        version = conn.execute("SELECT version FROM _tdm_meta").fetchone()[0]
        ids = [r[0] for r in conn.execute("SELECT id FROM members ORDER BY id")]
    return version, ids


def test_a_new_key_makes_a_new_version_and_old_versions_stay_loadable(write_spec, tdm_home):
    spec = write_spec(SPEC, "members.yaml")
    store = VersionStore(tdm_home / "store")
    db = tdm_home / "local" / "members.sqlite"
    fp_a, fp_b = (MaskingKey(k.encode()).fingerprint for k in (KEY_A, KEY_B))
    assert fp_a != fp_b

    v_a = run(spec, KEY_A, "--env", "local")
    v_b = run(spec, KEY_B, "--env", "local")  # the key rotated: another version
    assert v_a != v_b and held(db)[0] == v_b
    members = {v: store.read_table("members", v, "members") for v in (v_a, v_b)}
    # every keyed value moved with the key (ids are permuted within [0, 10**6): two keys agree
    # on one of 300 with probability ~3e-4; 8-digit codes and 64-bit hashes practically never)
    for column, agree in (("id", 0), ("code", 0), ("email", 0)):
        same = pc.equal(members[v_a].column(column), members[v_b].column(column))
        assert pc.sum(same).as_py() <= agree, column
    assert members[v_a].column("tier") == members[v_b].column("tier")  # unmasked: as it was

    # the old version loads under the new key, and with no key at all: loading never unmasks
    tdm("load", "members", "--env", "local", "--version", v_a, key=KEY_B)
    assert held(db) == (v_a, sorted(members[v_a].column("id").to_pylist()))
    tdm("load", "members", "--env", "local", "--version", v_b, key=None)
    assert held(db) == (v_b, sorted(members[v_b].column("id").to_pylist()))

    manifests = {v: store.manifest("members", v) for v in (v_a, v_b)}
    assert manifests[v_a]["key_fingerprint"] == fp_a and manifests[v_b]["key_fingerprint"] == fp_b
    listed = json.loads(tdm("versions", "members", "--json", key=None).stdout)
    assert {e["version"]: e["key_fingerprint"] for e in listed} == {v_a: fp_a, v_b: fp_b}
    lines = tdm("versions", "members", key=None).stdout.splitlines()
    assert len(lines) == 2
    for line in lines:
        version = line[2:].split()[0]
        assert line.endswith(f"rows  key {manifests[version]['key_fingerprint']}"), line

    # back to the old key: the very same version, reused, and `latest` again
    assert run(spec, KEY_A) == v_a
    assert store.manifest("members", v_a) == manifests[v_a]
    again = json.loads(tdm("versions", "members", "--json", key=None).stdout)
    assert [(e["version"], e["latest"]) for e in again] == [(v_a, True), (v_b, False)]


ONE_TABLE = """
dataset: many
seed: 2
tables:
  people:
    rows: 40
    primary_key: id
    columns:
      id: {type: int, generator: sequence MASK}
      age: {type: int, generator: integer, min: 18, max: 90}
"""


def seal_under(spec, store: VersionStore, key: MaskingKey | None) -> str:
    """The spec produced and masked under `key` (the engine's production step) and sealed."""
    plan = load_spec(spec)
    prod = Production.start(plan, key)
    for table in plan.order:
        for i, batch in enumerate(plan.batch_keys()):
            start, stop = plan.block(table, i)
            if start < stop:
                _, masked = prod.batch(table, start, stop)
                store.write_batch(plan.name, prod.version, table, batch, masked)
    store.seal(plan, prod.version, **prod.facts())
    return prod.version


def test_the_listing_shows_each_keys_fingerprint_as_stored(write_spec, cli, monkeypatch, tmp_path):
    store = VersionStore(tmp_path / "store")
    monkeypatch.setenv("TDM_STORE", str(store.root))
    masked = write_spec(ONE_TABLE.replace("MASK", ", mask: pseudonymize"), "many.yaml")
    keys = [MaskingKey(f"listing-key-{i:02d}-{'x' * 16}".encode()) for i in range(12)]
    keys.append(MaskingKey(b"any-bytes-at-all", dev=True))
    made = {seal_under(masked, store, k): k.fingerprint for k in keys}
    plain = seal_under(write_spec(ONE_TABLE.replace("MASK", ""), "plain.yaml"), store, None)
    assert len(made) == len(keys) and plain not in made

    listed = cli("versions", "many", "--json")
    assert listed.code == 0, listed.err
    shown = {e["version"]: e["key_fingerprint"] for e in json.loads(listed.out)}
    assert shown == {**made, plain: None}
    assert len(set(made.values())) == len(keys)  # no two keys share a fingerprint
    for version in shown:
        assert shown[version] == store.manifest("many", version)["key_fingerprint"]
    text = {line[2:].split()[0]: line for line in cli("versions", "many").out.splitlines()}
    assert text[plain].endswith("rows  unmasked")
    for version, fingerprint in made.items():
        assert text[version].endswith(f"rows  key {fingerprint}")
    assert sum("key dev-" in line for line in text.values()) == 1

    # a manifest whose fingerprint was edited into something else is damaged, not listed as is
    victim = next(iter(made))
    path = store.dir("many", victim) / "manifest.json"
    edited = json.loads(path.read_text()) | {"key_fingerprint": "\x1b[2J" + made[victim][:8]}
    path.write_text(json.dumps(edited))
    damaged = cli("versions", "many")
    assert damaged.code == 1 and "\x1b" not in damaged.out
    assert f"! {victim}  BROKEN: manifest.json names key fingerprint" in damaged.out
