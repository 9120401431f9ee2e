"""The source every subset test reads: SCHEMA and DATA of helpers.py in a fresh database."""

from __future__ import annotations

import pytest

from tests.integration.subset.helpers import DATA, SCHEMA


@pytest.fixture
def source(postgres_db, monkeypatch):
    url = postgres_db(SCHEMA + DATA)
    monkeypatch.setenv("SUBSET_SOURCE", url)
    return url
