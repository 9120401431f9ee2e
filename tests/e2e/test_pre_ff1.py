"""Versions sealed before masking moved to FF1 stay loadable: tests/fixtures/pre_ff1/store holds
one, made by the engine of commit cd283d6 (its own Feistel construction). Loading needs no key
and reads the stored bytes as they are; the same spec and key now make another version, because
the engine changed (tdm.store.ids.MASKING)."""

from __future__ import annotations

import json
import shutil
import sqlite3

import pyarrow.compute as pc
import pytest

from tdm.masking.keys import MaskingKey
from tdm.store.versions import VersionStore
from tests.conftest import ROOT
from tests.e2e.test_key_rotation import run, tdm

pytestmark = pytest.mark.xdist_group("cli")

FIXTURE = ROOT / "tests" / "fixtures" / "pre_ff1"
OLD = "v09903f080d306a7"
KEY = "pre-ff1-fixture-key-0123456789abcdef"  # public: a fixture's key, masking made-up data


def test_a_version_made_before_ff1_loads_and_the_engine_change_makes_a_new_one(tdm_home):
    shutil.copytree(FIXTURE / "store", tdm_home / "store")
    store = VersionStore(tdm_home / "store")
    old = store.manifest("members", OLD)
    assert "masking-" not in old["engine"]  # the construction before FF1
    assert old["key_fingerprint"] == MaskingKey(KEY.encode()).fingerprint

    tdm("load", "members", "--env", "local", "--version", OLD, key=None)  # no key needed
    with sqlite3.connect(tdm_home / "local" / "members.sqlite") as conn:
        held = conn.execute("SELECT version FROM _tdm_meta").fetchone()[0]
        ids = sorted(r[0] for r in conn.execute("SELECT id FROM members"))
        visits = conn.execute("SELECT count(*) FROM visits").fetchone()[0]
    stored = store.read_table("members", OLD, "members")
    assert held == OLD and ids == sorted(stored.column("id").to_pylist())
    assert visits == old["tables"]["visits"]["rows"]

    new = run(FIXTURE / "members.yaml", KEY)
    assert new != OLD  # same spec, seed and key: the engine changed, so the id did
    fresh = store.read_table("members", new, "members")
    assert "masking-ff1" in store.manifest("members", new)["engine"]
    assert pc.all(pc.equal(fresh.column("tier"), stored.column("tier"))).as_py()
    assert pc.sum(pc.equal(fresh.column("code"), stored.column("code"))).as_py() == 0
    listed = json.loads(tdm("versions", "members", "--json", key=None).stdout)
    fingerprints = {v["version"]: v["key_fingerprint"] for v in listed}
    assert fingerprints[OLD] == fingerprints[new] == old["key_fingerprint"]
