"""A throwaway PostgreSQL database per test, on the server this machine runs."""

from __future__ import annotations

import uuid

import psycopg
import pytest

ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=test"


def _reachable() -> bool:
    try:
        psycopg.connect(ADMIN, connect_timeout=3).close()
        return True
    except psycopg.Error:
        return False


@pytest.fixture
def postgres_db():
    """A factory: postgres_db(sql) creates a fresh database, runs `sql`, returns its URL."""
    if not _reachable():
        pytest.skip(
            "PostgreSQL on 127.0.0.1:5432 is not reachable (make test needs it; .ci/run starts it)"
        )
    made = []

    def make(sql: str = "") -> str:
        name = f"tdm_it_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        if sql:
            with psycopg.connect(f"host=127.0.0.1 port=5432 user=postgres dbname={name}") as c:
                c.execute(sql)
        return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"

    yield make
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        for name in made:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
