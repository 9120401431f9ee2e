"""Sealed, validated versions of a small two-table dataset, and environments to load them into."""

from __future__ import annotations

import pytest

from tdm.environments.config import Environment, EnvironmentSpec
from tdm.validation.runner import validate_version
from tests.builders import Corrupt, seal_version
from tests.conftest import CUSTOMERS_ORDERS

# the throwaway PostgreSQL databases of the integration tests (for the drift checks)
from tests.integration.conftest import postgres_db  # noqa: F401


@pytest.fixture
def version_of(store, write_spec):
    """A factory: version_of(seed, corrupt=None, validate=True) seals CUSTOMERS_ORDERS under
    `seed` in `store` (`corrupt` may change a batch first), validates it, and returns (plan,
    version)."""
    spec = write_spec(CUSTOMERS_ORDERS, "shop.yaml")

    def make(seed: int = 3, corrupt: Corrupt | None = None, validate: bool = True):
        plan, version = seal_version(store, spec, corrupt, seed=seed)
        if validate:
            validate_version(store, plan, "shop", version)
        return plan, version

    return make


@pytest.fixture
def local_env(tmp_path) -> Environment:
    """A SQLite environment with one database file per dataset, under tmp_path."""
    return Environment(
        "local", EnvironmentSpec(url=f"sqlite:///{tmp_path}/envs/{{dataset}}.sqlite"), None
    )
