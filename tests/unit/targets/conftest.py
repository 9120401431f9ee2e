"""Two sealed versions (seeds 1 and 2) of each target test's spec, in a store under tmp_path."""

from __future__ import annotations

import pytest

from tdm.store.versions import VersionStore
from tests.builders import seal_version


@pytest.fixture
def sealed(target_spec, tmp_path):
    """(store, {seed: (plan, version)}) of `target_spec`, which each test module provides."""
    store = VersionStore(tmp_path / "store")
    return store, {seed: seal_version(store, target_spec, seed=seed) for seed in (1, 2)}
