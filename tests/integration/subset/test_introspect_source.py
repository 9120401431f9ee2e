"""`tdm introspect URL --source -o FILE`: a spec that extracts every table, masked where the PII
scan says so, with a commented `subset:` that runs once uncommented."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest
import yaml

from tdm.cli.main import main
from tdm.plan.loading import load_spec
from tdm.produce.parquet_files import generate_to_dir
from tests.integration.subset.helpers import DATA, SCHEMA

pytestmark = pytest.mark.xdist_group("postgres")

PEOPLE = """
CREATE TABLE people (id int PRIMARY KEY, email text NOT NULL UNIQUE, full_name text, born date);
INSERT INTO people SELECT i, 'user' || i || '@mail.com', 'Ann Smith ' || i,
       date '1980-01-01' + i FROM generate_series(1, 300) i;
CREATE TABLE visits (id int PRIMARY KEY, person_email text REFERENCES people(email), at date);
INSERT INTO visits SELECT i, 'user' || (1 + i % 300) || '@mail.com', date '2024-01-01' + i
FROM generate_series(1, 900) i;
"""


def test_introspect_source_writes_a_masked_extracting_spec_ready_for_a_subset(
    postgres_db, tmp_path, capsys, monkeypatch
):
    url = postgres_db(SCHEMA + DATA + PEOPLE)
    monkeypatch.setenv("SRC_URL", url)
    out = tmp_path / "src.yaml"
    assert main(["introspect", "${SRC_URL}", "--source", "-o", str(out)]) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    text = out.read_text()
    spec = yaml.safe_load(text)
    assert spec["source"] == {"url": "${SRC_URL}"}  # as written: no secret lands in the file
    tables = spec["tables"]
    assert all(t["source"] for t in tables.values()) and "rows" not in str(tables)
    assert "audit_log" not in tables and "audit_log: left out" in text  # no key to batch by
    assert tables["wh"]["primary_key"] == ["site", "code"]
    assert "unique" not in tables["wh"]["columns"]["site"]  # only what the source declares
    people = tables["people"]["columns"]
    assert people["email"]["mask"] == "email" and "mask" in people["full_name"]
    assert "mask" not in tables["visits"]["columns"]["person_email"]  # follows people.email
    assert "generator" not in text
    assert "# subset:" in text and "#   roots:" in text
    # uncommented and given a root, it runs: masked, closed over the foreign keys
    edited = text.replace("# subset:", "subset:").replace(
        "#   roots:                                   # where the subset starts",
        '  roots: [{table: visits, where: "id <= 30"}]',
    )
    edited = "\n".join(line for line in edited.splitlines() if not line.startswith("#"))
    (tmp_path / "edited.yaml").write_text(edited + "\n")
    monkeypatch.setenv("TDM_MASKING_KEY", "integration-test-key-0123456789abcdef")
    plan = load_spec(tmp_path / "edited.yaml")
    assert plan.rows["visits"] == 30 and plan.rows["people"] == 30 and plan.rows["dept"] == 0
    from tdm.masking.keys import key_from_env

    counts = generate_to_dir(plan, tmp_path / "out", key=key_from_env())
    visits = pq.read_table(tmp_path / "out" / "visits.parquet").column("person_email")
    emails = pq.read_table(tmp_path / "out" / "people.parquet").column("email")
    assert counts["visits"] == 30 and set(visits.to_pylist()) <= set(emails.to_pylist())
    assert not any(e.endswith("@mail.com") for e in emails.to_pylist())  # masked on the way
