"""The masking key: read from the environment, derived per purpose, identified by a fingerprint
that tells keys apart (docs/security.md argues the 64 bits; these tests measure them)."""

from __future__ import annotations

import hashlib
import hmac
import os
import re

import pytest

from tdm.core.errors import TdmError
from tdm.masking.keys import DEV_KEY, ENV_VAR, MaskingKey, key_from_env
from tdm.plan.loading import load_spec
from tdm.store.ids import version_id

FINGERPRINT = re.compile(r"[0-9a-f]{16}")
MASKED = """
dataset: keys
seed: 1
tables:
  t:
    rows: 10
    primary_key: id
    columns:
      id: {type: int, generator: sequence, mask: pseudonymize}
"""


@pytest.fixture(scope="module")
def random_keys() -> list[MaskingKey]:
    return [MaskingKey(os.urandom(32).hex().encode()) for _ in range(10_000)]


def test_ten_thousand_keys_give_ten_thousand_fingerprints_and_version_ids(random_keys, write_spec):
    prints = [k.fingerprint for k in random_keys]
    assert all(FINGERPRINT.fullmatch(p) for p in prints)
    assert len(set(prints)) == len(prints)
    spec = load_spec(write_spec(MASKED)).spec
    ids = {version_id(spec, p) for p in prints}
    assert len(ids) == len(prints) and version_id(spec, None) not in ids


def test_keys_one_character_apart_are_told_apart():
    base = "0123456789abcdef0123456789abcdef"
    variants = [base[:i] + "x" + base[i + 1 :] for i in range(len(base))] + [base, base + "0"]
    prints = {MaskingKey(v.encode()).fingerprint for v in variants}
    assert len(prints) == len(variants)


def test_the_fingerprint_is_a_keyed_derivation_as_documented():
    """docs/security.md: purpose keys are HMAC-SHA256(master key, "tdm/" + purpose), and the
    fingerprint is the first 16 hex digits of the "fingerprint" purpose."""
    secret = b"a-master-key-of-thirty-two-bytes"
    key = MaskingKey(secret)
    for purpose in ("fingerprint", "fpe/email{}/local", "hash/hash{}"):
        expected = hmac.new(secret, f"tdm/{purpose}".encode(), hashlib.sha256).digest()
        assert key.derive(purpose) == expected
    assert key.fingerprint == key.derive("fingerprint").hex()[:16]
    assert len({key.derive(p) for p in ("fingerprint", "fpe/x", "hash/x", "fpe/y")}) == 4
    assert secret.decode() not in repr(key) + str(key) and key.fingerprint in repr(key)


def test_dev_and_real_keys_are_told_apart(random_keys, monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    dev = key_from_env(allow_dev=True)
    assert dev.dev and dev.fingerprint.startswith("dev-")
    assert FINGERPRINT.fullmatch(dev.fingerprint.removeprefix("dev-"))
    assert not any(k.fingerprint.startswith("dev-") for k in random_keys)

    monkeypatch.setenv(ENV_VAR, "9f" * 16)
    real = key_from_env(allow_dev=True)  # a set key wins over the dev key
    assert not real.dev and real.fingerprint == MaskingKey(b"9f" * 16).fingerprint
    assert real.fingerprint != dev.fingerprint

    # the public demo key given as a "real" key would carry an unlabelled fingerprint
    monkeypatch.setenv(ENV_VAR, DEV_KEY.decode())
    with pytest.raises(TdmError, match=r"holds the public demo key.*--dev-key"):
        key_from_env(allow_dev=True)


def test_a_missing_or_short_key_is_refused(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    with pytest.raises(TdmError, match="needs a key: set TDM_MASKING_KEY"):
        key_from_env()
    monkeypatch.setenv(ENV_VAR, "short")
    with pytest.raises(TdmError, match=r"too short \(5 characters\)"):
        key_from_env(allow_dev=True)
    monkeypatch.setenv(ENV_VAR, "x" * 16)
    assert key_from_env().fingerprint == MaskingKey(b"x" * 16).fingerprint
