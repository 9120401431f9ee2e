"""Every Dagster test runs inside a live test instance.

Dagster resolves some definitions lazily against the current instance; without one alive, a
test could reach an instance an earlier test already closed (its SQLite files gone).
"""

import dagster as dg
import pytest


@pytest.fixture(autouse=True)
def _live_instance():
    with dg.instance_for_test() as instance:
        yield instance


@pytest.fixture
def instance(_live_instance):
    """The test's live instance, for tests that read back what their runs recorded."""
    return _live_instance
