"""The privacy report of a masked extract from a real PostgreSQL: unchanged shares, frequency
leakage, the k-anonymity of detected quasi-identifiers, and no source value anywhere in it."""

from __future__ import annotations

import json
import os
from collections import Counter

import dagster as dg
import psycopg
import pytest

from pipelines.runner import run_dataset
from tdm.core import settings
from tdm.plan.loading import load_spec
from tdm.store.versions import VersionStore

pytestmark = pytest.mark.xdist_group("postgres")

KEY = "integration-test-key-0123456789abcdef"
SQL = """
CREATE TABLE members (id bigint PRIMARY KEY, email text UNIQUE, tier_code text, city text,
                      birth_date date, postcode text, sex text);
INSERT INTO members
SELECT i, 'member.' || i || '@mail' || (i % 7) || '.com',
       CASE WHEN i % 10 < 4 THEN 'TIER-GOLD-0001' WHEN i % 10 < 7 THEN 'TIER-SILV-0002'
            WHEN i % 10 < 9 THEN 'TIER-BRNZ-0003' ELSE 'TIER-NONE-0004' END,
       (ARRAY['Springfield', 'Shelbyville', 'Ogdenville'])[1 + i % 3],
       date '1950-01-01' + (i * 37 % 20000), 'PC' || lpad((i % 40)::text, 3, '0'),
       CASE WHEN i % 2 = 0 THEN 'F' ELSE 'M' END
FROM generate_series(1, 2000) i;
"""
SPEC = """
dataset: members
source: {url: "${MEMBERS_URL}"}
batch_size: 500
tables:
  members:
    source: true
    primary_key: id
    columns:
      id: {type: int}
      email: {type: string, mask: email}
      tier_code: {type: string, mask: pseudonymize}
      city: {type: string, mask: {strategy: substitute, pool: city}}
      birth_date: {type: date, mask: {strategy: date_shift, days: 30}}
      postcode: {type: string, mask: {strategy: partial, keep_first: 2}}
      sex: {type: string}
"""
TEXT_COLUMNS = ("email", "tier_code", "city", "postcode")


def test_a_masked_extract_reports_what_its_masks_leave_and_no_value(
    postgres_db, write_spec, monkeypatch
):
    url = postgres_db(SQL)
    monkeypatch.setenv("MEMBERS_URL", url)
    monkeypatch.setenv("TDM_MASKING_KEY", KEY)
    plan = load_spec(write_spec(SPEC, "members.yaml"))
    with dg.instance_for_test() as instance:
        summary = run_dataset(plan, inst=instance)
        logs = "\n".join(str(e) for e in instance.all_logs(summary.run_id))
    store = VersionStore(settings.store_root())
    where = store.dir("members", summary.version)
    privacy = json.loads((where / "privacy.json").read_text())
    masked = privacy["tables"]["members"]["masked_columns"]

    for column in ("email", "tier_code"):  # pseudonymised: no value may survive
        m = masked[column]
        assert m["bijective"] and (m["compared"], m["unchanged"]) == (2000, 0), m
        assert m["unchanged_share"] == 0.0
    assert masked["email"]["frequency_leakage"]["source_top_counts"] == []  # unique: no signal
    # per batch of 500: 200, 150, 100 and 50 of the four codes; a consistent mask keeps them
    assert masked["tier_code"]["frequency_leakage"] == {
        "batches": 4,
        "source_top_counts": [800, 600, 400, 200],
        "masked_top_counts": [800, 600, 400, 200],
        "overlap": 4,
        "overlap_share": 1.0,
    }
    # every city is frequent, so every fake one (collisions or not) is the image of a top city
    assert masked["city"]["frequency_leakage"]["overlap_share"] == 1.0
    assert not masked["city"]["bijective"] and masked["city"]["unchanged_share"] <= 0.02

    [qs] = privacy["tables"]["members"]["quasi_identifiers"]
    assert qs["columns"] == ["city", "birth_date", "postcode", "sex"]
    assert qs["origin"] == "detected"
    data = store.read_table("members", summary.version, "members")
    rows = zip(*(data.column(c).to_pylist() for c in qs["columns"]), strict=True)
    sizes = Counter(rows).values()
    assert (qs["rows"], qs["classes"], qs["k"]) == (2000, len(sizes), min(sizes))
    assert qs["unique_rows"] == sum(1 for s in sizes if s == 1)

    with psycopg.connect(os.environ["MEMBERS_URL"].replace("+psycopg", "")) as conn:
        raw = conn.execute(
            f"SELECT {', '.join(TEXT_COLUMNS)}, birth_date::text FROM members"
        ).fetchall()
    values = {v for row in raw for v in row}
    assert len(values) > 4000
    report = (where / "validation.json").read_text()
    for name, text in (("privacy.json", json.dumps(privacy)), ("validation.json", report)):
        leaked = [v for v in values if v in text]
        assert not leaked, f"{name} holds source values: {leaked[:5]}"
    assert "members" in logs and not [v for v in values if v in logs][:5]
