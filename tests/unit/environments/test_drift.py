"""check_drift: the live schema of PostgreSQL environments compared with the version they hold,
recorded for the load gate; other environments are skipped, unreachable ones give a note."""

from __future__ import annotations

import socket

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tdm.core.errors import TdmError
from tdm.environments.config import Environment, EnvironmentSpec
from tdm.environments.deploy import deploy
from tdm.environments.drift import Drift, DriftState, check_drift

pytestmark = pytest.mark.xdist_group("postgres")  # as the other tests on the PostgreSQL server


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_environments_that_cannot_drift_are_skipped(store, version_of, local_env, tdm_home):
    _, version = version_of()
    deploy(local_env, store, "shop", version)
    files = Environment("files", EnvironmentSpec(url=f"file://{tdm_home}/files"), None)
    assert check_drift([(local_env, "shop"), (files, "shop")]) == ([], [])
    assert not (tdm_home / "drift").exists()


def test_an_unreachable_postgresql_gives_a_note_not_an_error(tdm_home):
    url = f"postgresql+psycopg://postgres:s3cret@127.0.0.1:{closed_port()}/nowhere"
    env = Environment("qa", EnvironmentSpec(url=url), None)
    found, notes = check_drift([(env, "shop")])
    assert found == []
    [note] = notes
    assert note.startswith("qa/shop: ") and "cannot connect" in note
    assert "s3cret" not in note and "\n" not in note
    assert not DriftState("qa", "shop").blocked()


def test_drift_in_a_live_postgresql_table_is_found_recorded_and_cleared(
    store, version_of, postgres_db
):
    url = postgres_db()
    env = Environment("qa", EnvironmentSpec(url=url), None)
    state = DriftState("qa", "shop")
    assert check_drift([(env, "shop")]) == ([], [])  # nothing loaded there yet

    _, version = version_of()
    deploy(env, store, "shop", version)
    assert check_drift([(env, "shop")]) == ([Drift("qa", "shop", version, [])], [])
    assert not state.blocked()

    u = make_url(url)
    live = f"host={u.host} port={u.port} user={u.username} dbname={u.database}"
    with psycopg.connect(live, autocommit=True) as conn:
        conn.execute("ALTER TABLE shop.customers ADD COLUMN nickname text")
    found, notes = check_drift([(env, "shop")])
    assert notes == []
    [drift] = found
    assert (drift.environment, drift.dataset, drift.version) == ("qa", "shop", version)
    [difference] = drift.differences
    assert (difference["table"], difference["kind"], difference["name"], difference["change"]) == (
        "customers",
        "column",
        "nickname",
        "added",
    )
    assert state.blocked() and "customers.nickname" in state.describe()
    with pytest.raises(TdmError, match="qa is blocked"):
        deploy(env, store, "shop", version)

    with psycopg.connect(live, autocommit=True) as conn:
        conn.execute("ALTER TABLE shop.customers DROP COLUMN nickname")
    assert check_drift([(env, "shop")]) == ([Drift("qa", "shop", version, [])], [])
    assert not state.blocked() and state.describe() == "no drift"
