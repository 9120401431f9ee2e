"""A source schema with every hard shape a subset must close over, a spec extracting it, and
a load of the extracted rows into an empty copy of the schema with every constraint enforced."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import psycopg
import pyarrow.parquet as pq
from sqlalchemy.engine import make_url

from tdm.plan.loading import load_spec
from tdm.produce.parquet_files import generate_to_dir

# dept, emp and project form one strongly connected component with several cycles (dept <->
# emp, dept <-> project, emp -> project -> dept -> emp); emp references itself twice (boss,
# mentor); the NOT NULL references in the component are DEFERRABLE, as PostgreSQL needs them to
# load such a cycle at all. bin -> wh is composite; payment -> account(number) is a UNIQUE
# column, not the key; audit_log has no primary key; events.user_ref is a foreign key the
# database does not declare.
SCHEMA = """
CREATE TABLE dept (id int PRIMARY KEY, title text NOT NULL, manager_id int,
                   flagship_id int);
CREATE TABLE emp (id int PRIMARY KEY, dept_id int NOT NULL, boss_id int REFERENCES emp,
                  mentor_id int REFERENCES emp, project_id int, label text);
CREATE TABLE project (id int PRIMARY KEY, dept_id int NOT NULL, code text);
ALTER TABLE emp ADD FOREIGN KEY (dept_id) REFERENCES dept DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE emp ADD FOREIGN KEY (project_id) REFERENCES project;
ALTER TABLE dept ADD FOREIGN KEY (manager_id) REFERENCES emp;
ALTER TABLE dept ADD FOREIGN KEY (flagship_id) REFERENCES project;
ALTER TABLE project ADD FOREIGN KEY (dept_id) REFERENCES dept DEFERRABLE INITIALLY DEFERRED;
CREATE TABLE wh (site text, code int, label text, PRIMARY KEY (site, code));
CREATE TABLE bin (id int PRIMARY KEY, site text, code int, owner_id int REFERENCES emp,
                  FOREIGN KEY (site, code) REFERENCES wh);
CREATE TABLE account (id int PRIMARY KEY, number text NOT NULL UNIQUE, holder_id int
                      REFERENCES emp);
CREATE TABLE payment (id int PRIMARY KEY, account_number text REFERENCES account(number),
                      amount numeric(10,2));
CREATE TABLE audit_log (emp_id int REFERENCES emp, what text);
CREATE TABLE events (id int PRIMARY KEY, user_ref int, kind text);
CREATE INDEX ON emp (mentor_id);  -- one self-reference looked up by index, the other not
"""
DATA = """
BEGIN;
INSERT INTO dept SELECT i, 'dept ' || i, NULL, NULL FROM generate_series(1, 40) i;
INSERT INTO project SELECT i, 1 + (i * 7) % 40, 'P' || i FROM generate_series(1, 120) i;
INSERT INTO emp SELECT i, 1 + (i * 13) % 40, CASE WHEN i % 20 <> 1 THEN i - 1 END,
       CASE WHEN i % 10 = 0 THEN 1 + (i * 37) % 2000 END,
       CASE WHEN i % 4 = 0 THEN 1 + (i * 11) % 120 END, 'e' || i
FROM generate_series(1, 2000) i;
UPDATE dept SET manager_id = CASE WHEN id % 4 = 0 THEN 1 + (id * 53) % 2000 END,
       flagship_id = CASE WHEN id % 2 = 0
       THEN 1 + (id * 3) % 120 END;
INSERT INTO wh SELECT s, c, s || c FROM unnest(ARRAY['north', 'south', 'east']) s,
       generate_series(1, 30) c;
INSERT INTO bin SELECT i, (ARRAY['north', 'south', 'east'])[1 + i % 3], 1 + i % 30,
       CASE WHEN i % 5 = 0 THEN 1 + (i * 17) % 2000 END FROM generate_series(1, 900) i;
INSERT INTO account SELECT i, 'AC-' || lpad(i::text, 6, '0'), 1 + (i * 29) % 2000
FROM generate_series(1, 500) i;
INSERT INTO payment SELECT i, CASE WHEN i % 9 <> 0 THEN 'AC-' || lpad((1 + i % 500)::text,
       6, '0') END, (i % 900) + 0.5 FROM generate_series(1, 3000) i;
INSERT INTO audit_log SELECT 1 + (i * 7) % 2000, 'did ' || i FROM generate_series(1, 6000) i;
INSERT INTO events SELECT i, 1 + (i * 31) % 2000, 'k' || (i % 4) FROM generate_series(1, 4000) i;
COMMIT;
"""
PARENTS_ONLY = """
subset:
  roots:
    - {table: payment, where: "id <= 5 OR id % 900 = 9"}
    - {table: bin, percent: 10}
    - {table: events, where: "id % 500 = 0"}
  relationships:
    - {columns: events.user_ref, references: emp.id}
"""
TYPES = {"integer": "int", "text": "string", "numeric": "decimal(10,2)"}
ORDER = ["dept", "emp", "project", "wh", "bin", "account", "payment", "audit_log", "events"]


def spec_text(url_var: str, subset: str, batch_size: int = 200) -> str:
    """A spec extracting every table of SCHEMA, unmasked (allowed), with `subset`."""
    lines = [f"dataset: hard\nsource: {{url: \"${{{url_var}}}\"}}\nbatch_size: {batch_size}",
             "tables:"]  # fmt: skip
    for table, (key, columns) in _shape().items():
        lines.append(f"  {table}:\n    source: true")
        if key:
            lines.append(f"    primary_key: [{', '.join(key)}]")
        lines.append("    columns:")
        for name, typ in columns:
            lines.append(f'      {name}: {{type: "{TYPES[typ]}", allow: test data}}')
    return "\n".join(lines) + "\n" + subset


def _shape() -> dict[str, tuple[list[str], list[tuple[str, str]]]]:
    keys = {"dept": ["id"], "emp": ["id"], "project": ["id"], "wh": ["site", "code"],
            "bin": ["id"], "account": ["id"], "payment": ["id"], "audit_log": [],
            "events": ["id"]}  # fmt: skip
    cols = {
        "dept": ["id:integer", "title:text", "manager_id:integer", "flagship_id:integer"],
        "emp": ["id:integer", "dept_id:integer", "boss_id:integer", "mentor_id:integer",
                "project_id:integer", "label:text"],
        "project": ["id:integer", "dept_id:integer", "code:text"],
        "wh": ["site:text", "code:integer", "label:text"],
        "bin": ["id:integer", "site:text", "code:integer", "owner_id:integer"],
        "account": ["id:integer", "number:text", "holder_id:integer"],
        "payment": ["id:integer", "account_number:text", "amount:numeric"],
        "audit_log": ["emp_id:integer", "what:text"],
        "events": ["id:integer", "user_ref:integer", "kind:text"],
    }  # fmt: skip
    return {t: (keys[t], [tuple(c.split(":")) for c in cols[t]]) for t in ORDER}


def libpq(url: str) -> str:
    u = make_url(url)
    return f"host={u.host} port={u.port} user={u.username} dbname={u.database}"


def copy_schema(source_url: str, target_url: str) -> None:
    """The source's schema (every constraint), without rows, into the target database."""
    dump = subprocess.run(
        ["pg_dump", "--schema-only", "--no-owner", "-d", libpq(source_url)],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    subprocess.run(["psql", "-v", "ON_ERROR_STOP=1", "-q", "-d", libpq(target_url)],
                   input=dump, check=True, capture_output=True, text=True)  # fmt: skip


def load(target_url: str, files: dict[str, Path]) -> None:
    """Insert every table's rows in ONE statement (data-modifying CTEs): non-deferrable foreign
    keys are checked at its end, deferrable ones at commit; any orphan fails the load."""
    parts, params = [], []
    for i, (table, path) in enumerate(files.items()):
        rows = pq.read_table(path).to_pylist()
        parts.append(
            f"i{i} AS (INSERT INTO {table} SELECT * FROM "
            f"json_populate_recordset(NULL::{table}, %s::json))"
        )
        params.append(json.dumps(rows, default=str))
    with psycopg.connect(libpq(target_url)) as conn:
        conn.execute("WITH " + ", ".join(parts) + " SELECT 1", params)


def counts(url: str) -> dict[str, int]:
    with psycopg.connect(libpq(url)) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ORDER}


def extract(write_spec, tmp_path: Path, subset: str, name: str = "hard.yaml"):
    """Plan the spec of SCHEMA with `subset` and extract it: (plan, rows per table, files)."""
    plan = load_spec(write_spec(spec_text("SUBSET_SOURCE", subset), name))
    out = tmp_path / name.replace(".yaml", "")
    rows = generate_to_dir(plan, out)
    return plan, rows, {t: out / f"{t}.parquet" for t in ORDER}
