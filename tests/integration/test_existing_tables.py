"""Bring your own database, on the real PostgreSQL: the hard fixture schema
(tests/fixtures/postgres/app_schema.sql: cycles, composite and non-PK foreign keys, partial and
expression unique indexes, domains, enums, arrays, ranges, generated and identity columns, three
kinds of partitioning, an exclusion constraint, a table without a primary key, quoted mixed-case
names, triggers) is created in two empty databases; `tdm introspect` reads the first, and
`tdm run` fills the second's own tables with the spec unedited (`tables: existing`)."""

from __future__ import annotations

import re
import subprocess
import uuid
from pathlib import Path

import psycopg
import pytest
import yaml

from tdm.cli.main import main
from tests.integration.conftest import ADMIN, _reachable

FIXTURES = Path(__file__).parents[1] / "fixtures" / "postgres"
# fixture, schema, tables it must fill, relations it must not (views, partitions)
SCHEMAS = {
    "app": (
        "app_schema.sql",
        "app",
        {"payments", "addresses", "sessions", "OrderNotes", "audit_log", "tenants", "users"},
        {"active_products", "monthly_revenue", "payments_2026_01"},
    ),
    "rental": (
        "rental_schema.sql",
        "public",
        {"store", "staff", "payment", "film", "film_actor", "rental"},
        {"actor_info", "payment_p2022_01"},
    ),
}

pytestmark = [pytest.mark.xdist_group("existing"), pytest.mark.slow]


def _dump(url: str, schema: str) -> str:
    """The application's schema as pg_dump writes it (its random \\restrict key left out)."""
    out = subprocess.run(
        ["pg_dump", "--schema-only", f"--schema={schema}", url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return re.sub(r"^\\(un)?restrict .*$", "", out, flags=re.M)


def _tdm(capsys, *args: object) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


@pytest.fixture(scope="module", params=list(SCHEMAS))
def databases(request):
    fixture = SCHEMAS[request.param][0]
    if not _reachable():
        pytest.skip("PostgreSQL on 127.0.0.1:5432 is not reachable")
    names = [f"tdm_app_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        for name in names:
            conn.execute(f'CREATE DATABASE "{name}"')
    urls = [f"postgresql://postgres@127.0.0.1:5432/{n}" for n in names]
    for url in urls:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute((FIXTURES / fixture).read_text())
    yield request.param, urls
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def project(databases, tmp_path_factory):
    name, (_, target) = databases
    root = tmp_path_factory.mktemp("byo")
    (root / "schemas").mkdir()
    (root / "schemas" / "environments.yaml").write_text(
        yaml.safe_dump(
            {
                "environments": {
                    "app": {"url": target, "schema": SCHEMAS[name][1], "tables": "existing"}
                }
            }
        )
    )
    return root


@pytest.fixture
def env(project, monkeypatch):
    monkeypatch.setenv("TDM_HOME", str(project / "home"))
    monkeypatch.setenv("TDM_SCHEMAS", str(project / "schemas"))
    monkeypatch.setenv("TDM_ALLOW_DEV_KEY", "1")
    return project


def _rows(url: str, sql: str, args: list | None = None) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, args).fetchall()


def test_introspect_then_run_fills_every_table_of_the_application(databases, env, capsys):
    name, (source, target) = databases
    _, schema, must, must_not = SCHEMAS[name]
    spec = env / "schemas" / "app.yaml"
    code, out, err = _tdm(capsys, "introspect", source, "--schema", schema, "-o", spec)
    assert code == 0, err
    text = spec.read_text()
    again = env / "again.yaml"
    assert _tdm(capsys, "introspect", source, "--schema", schema, "-o", again)[0] == 0
    assert again.read_text() == text  # same database, same file
    parsed = yaml.safe_load(text)
    assert parsed["dataset"] == source.rsplit("/", 1)[1]
    tables = set(parsed["tables"])
    assert must <= tables and not tables & must_not
    if name == "app":
        assert "line_total" not in parsed["tables"]["order_items"]["columns"]  # generated

    before = _dump(target, schema)
    code, out, err = _tdm(capsys, "run", spec, "--env", "app", "--dev-key")
    assert code == 0, err
    assert _dump(target, schema) == before  # nothing created, altered or dropped there

    counts = dict(
        _rows(
            target,
            "SELECT c.relname, (xpath('/row/n/text()', query_to_xml(format("
            "'SELECT count(*) AS n FROM %%I.%%I', n.nspname, c.relname), false, true, '')))[1]"
            "::text::int FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND NOT c.relispartition",
            [schema],
        )
    )
    assert set(counts) == tables
    assert all(n > 0 for n in counts.values()), counts
    # every constraint still VALID, every trigger enabled
    assert (
        _rows(
            target,
            "SELECT conname FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace"
            " WHERE n.nspname = 'app' AND NOT c.convalidated",
        )
        == []
    )
    assert (
        _rows(
            target,
            "SELECT tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'app' AND t.tgenabled = 'D'",
        )
        == []
    )
    # sequences ahead of their columns
    behind = _rows(
        target,
        "SELECT s.seq, s.tab, s.col FROM (SELECT pg_get_serial_sequence("
        "format('%%I.%%I', n.nspname, c.relname), a.attname) AS seq, c.relname AS tab,"
        " a.attname AS col"
        " FROM pg_attribute a"
        " JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
        " AND a.attnum > 0) s WHERE s.seq IS NOT NULL",
        [schema],
    )
    assert behind, "the fixture has identity and serial columns"
    for seq, table, column in behind:
        (largest,) = _rows(target, f'SELECT max("{column}") FROM {schema}."{table}"')[0]
        (last,) = _rows(target, f"SELECT last_value FROM {seq}")[0]
        assert last >= largest, (seq, last, largest)
    # the foreign keys declared only on partitions were lifted to the parent in the spec
    payments = parsed["tables"]["payments" if name == "app" else "payment"]
    lifted = {fk["references"].split("(")[0] for fk in payments["foreign_keys"]}
    assert ("orders" in lifted) if name == "app" else ({"customer", "rental", "staff"} <= lifted)
    (held,) = _rows(target, "SELECT version FROM tdm.loads WHERE schema_name = %s", [schema])[0]
    code, out, _ = _tdm(capsys, "envs", "--json")
    assert held in out


def test_a_refused_load_changes_nothing(databases, env, capsys):
    name, (source, target) = databases
    if name != "app":
        pytest.skip("shown on the app schema")
    spec = env / "schemas" / "app.yaml"
    if not spec.exists():
        assert _tdm(capsys, "introspect", source, "--schema", "app", "-o", spec)[0] == 0
        assert _tdm(capsys, "run", spec, "--env", "app", "--dev-key")[0] == 0
    snapshot = _rows(target, "SELECT count(*), max(id) FROM app.users")
    book = _rows(target, "SELECT version, loaded_at FROM tdm.loads")
    with psycopg.connect(target, autocommit=True) as conn:
        conn.execute("ALTER TABLE app.rooms ADD COLUMN wing text NOT NULL DEFAULT 'x'")
        conn.execute("ALTER TABLE app.rooms ALTER COLUMN wing DROP DEFAULT")
    try:
        code, _, err = _tdm(capsys, "run", spec, "--env", "app", "--dev-key", "--seed", "7")
        assert code == 2
        assert "rooms.wing is NOT NULL without a default" in err
        assert "nothing" in err
        assert _rows(target, "SELECT count(*), max(id) FROM app.users") == snapshot
        assert _rows(target, "SELECT version, loaded_at FROM tdm.loads") == book
    finally:
        with psycopg.connect(target, autocommit=True) as conn:
            conn.execute("ALTER TABLE app.rooms DROP COLUMN wing")


def test_a_table_outside_the_dataset_that_references_it_is_refused(databases, env, capsys):
    name, (source, target) = databases
    if name != "app":
        pytest.skip("shown on the app schema")
    spec = env / "schemas" / "app.yaml"
    if not spec.exists():
        assert _tdm(capsys, "introspect", source, "--schema", "app", "-o", spec)[0] == 0
    with psycopg.connect(target, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.favourites (user_id bigint REFERENCES app.users (id))")
    try:
        code, _, err = _tdm(capsys, "run", spec, "--env", "app", "--dev-key")
        assert code == 2
        assert "public.favourites references users" in err
    finally:
        with psycopg.connect(target, autocommit=True) as conn:
            conn.execute("DROP TABLE public.favourites")


ODD = """
CREATE SCHEMA odd;
CREATE TYPE odd.pair AS (a int, b text);
CREATE TABLE odd."Order Items" (id int PRIMARY KEY);
CREATE TABLE odd.things (
    id bigserial PRIMARY KEY,
    "due date" date,
    spot point NOT NULL DEFAULT point(0, 0),
    shape odd.pair,
    amount numeric,
    huge numeric(50, 10) NOT NULL,
    tiny smallint NOT NULL CHECK (tiny BETWEEN -3 AND 3),
    code text NOT NULL CHECK (code ~ '^[A-Z]{2}-[0-9]{3}$') UNIQUE,
    parent_id bigint NOT NULL REFERENCES odd.things
);
"""


def _environment(monkeypatch, tmp_path: Path, name: str, url: str, schema: str) -> None:
    """A schemas/ of its own holding one `tables: existing` environment."""
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    environments = {name: {"url": url, "schema": schema, "tables": "existing"}}
    (schemas / "environments.yaml").write_text(yaml.safe_dump({"environments": environments}))
    monkeypatch.setenv("TDM_SCHEMAS", str(schemas))


def test_what_cannot_be_modelled_gets_a_warning_and_a_safe_fallback(
    postgres_db, env, capsys, monkeypatch, tmp_path
):
    """A table whose name tdm cannot use, a column with a space, types without a generator
    (point, a composite), unconstrained and oversized numerics, a NOT NULL self-reference."""
    source, target = postgres_db(ODD), postgres_db(ODD)
    source, target = (u.replace("+psycopg", "") for u in (source, target))
    spec = env / "odd.yaml"
    code, _, err = _tdm(capsys, "introspect", source, "--schema", "odd", "-o", spec)
    assert code == 0, err
    assert "'Order Items' is not a name tdm can use" in err
    assert "things.due date: left to the database" in err
    columns = yaml.safe_load(spec.read_text())["tables"]["things"]["columns"]
    assert "spot" not in columns and "shape" not in columns  # left to default / NULL
    _environment(monkeypatch, tmp_path, "odd", target, "odd")
    code, _, err = _tdm(capsys, "run", spec, "--env", "odd", "--dev-key")
    assert code == 0, err
    rows = _rows(
        target, "SELECT count(*), count(DISTINCT code), min(tiny), max(tiny) FROM odd.things"
    )
    (count, codes, low, high) = rows[0]
    assert count == 1000 and codes == 1000 and -3 <= low <= high <= 3


def test_a_masked_extract_of_the_filled_tables_loads_into_the_application_schema(
    databases, env, capsys, monkeypatch, tmp_path
):
    """Every type above also travels through `source:` (read as PostgreSQL gives it, masked in
    memory, loaded back by COPY): the filled database is extracted, masked with the suggested
    mask of each detected PII category, and loaded into the first (empty) database."""
    name, (source, target) = databases
    if name != "rental":
        pytest.skip("shown on the rental schema")
    from tdm.masking.pii.names import CATEGORIES

    spec = env / "schemas" / "app.yaml"
    if not spec.exists():
        assert _tdm(capsys, "introspect", source, "-o", spec)[0] == 0
        assert _tdm(capsys, "run", spec, "--env", "app", "--dev-key")[0] == 0
    extract = yaml.safe_load(spec.read_text())
    extract["dataset"] = "copied"
    extract["source"] = {"url": target}
    extract["masking"] = {"defaults": dict(CATEGORIES)}
    for tname, table in extract["tables"].items():
        table.pop("rows")
        table.pop("check", None)
        table["source"] = {"table": f"public.{tname}"}
        for fk in table.get("foreign_keys", []):
            fk.pop("distinct_per_parent", None)
        table["columns"] = {
            c: {k: v for k, v in col.items() if k in ("type", "sql_type", "unique")}
            for c, col in table["columns"].items()
        }
    path = env / "copied.yaml"
    path.write_text(yaml.safe_dump(extract, sort_keys=False))
    _environment(monkeypatch, tmp_path, "back", source, "public")
    code, _, err = _tdm(capsys, "run", path, "--env", "back", "--dev-key")
    assert code == 0, err
    for table in ("film", "customer", "payment", "store", "staff"):
        count = f"SELECT count(*) FROM public.{table}"
        assert _rows(source, count) == _rows(target, count)
    # masked: no customer email survives; the enum, arrays and tsvector came through
    emails = {r[0] for r in _rows(target, "SELECT email FROM public.customer")} - {None}
    masked = {r[0] for r in _rows(source, "SELECT email FROM public.customer")} - {None}
    assert emails and not emails & masked
    assert (
        _rows(source, "SELECT count(DISTINCT rating), bool_or(fulltext IS NOT NULL) FROM film")[0][
            0
        ]
        > 1
    )
