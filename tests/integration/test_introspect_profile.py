"""`tdm introspect --profile` on the real PostgreSQL: the written spec follows the source's rows
(row counts, null rates, weighted values, ranges, children per parent), copies no value fewer
than k rows hold and none from a personal column, and `tdm run` of it gives data shaped alike."""

from __future__ import annotations

import numpy as np
import psycopg
import pytest
import yaml

from tdm.cli.main import main

SCHEMA = """
CREATE TABLE public.customers (
    id int PRIMARY KEY,
    last_name text NOT NULL,
    contact text,
    status text NOT NULL,
    score int CHECK (score >= 0),
    joined date NOT NULL
);
CREATE TABLE public.orders (
    id int PRIMARY KEY,
    customer_id int NOT NULL REFERENCES public.customers,
    total numeric(10,2) NOT NULL
);
"""
DATA = """
INSERT INTO public.customers SELECT i,
    CASE WHEN i % 5 < 3 THEN 'Vandermolen' ELSE 'Okonkwo-Reyes' END,
    CASE WHEN i % 2 = 0 THEN 'desk.zq@opsmail.example' ELSE 'night.qz@opsmail.example' END,
    CASE WHEN i <= 700 THEN 'active' WHEN i <= 900 THEN 'paused'
         WHEN i <= 995 THEN 'closed' ELSE 'banned' END,
    CASE WHEN i % 10 < 3 THEN NULL ELSE 5 + (i * 37) % 2000 END,
    DATE '2020-01-01' + i % 1000
FROM generate_series(1, 1000) i;
INSERT INTO public.orders
SELECT row_number() OVER (ORDER BY c.id, n), c.id, 5 + (c.id * 7 + n) % 200 + 0.5
FROM public.customers c, generate_series(1, c.id % 9) n;
"""
PII = ["Vandermolen", "Okonkwo-Reyes", "desk.zq", "night.qz", "opsmail"]
# 1000 customers with 0..8 orders each (id % 9): 3997 orders, 4.0 per customer
STATUS = {"active": 700, "paused": 200, "closed": 95}  # and 5 'banned'

pytestmark = pytest.mark.slow


def tdm(capsys, *args: object) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def rows(url: str, query: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchall()


@pytest.fixture
def source(postgres_db) -> str:
    return postgres_db(SCHEMA + DATA).replace("+psycopg", "")


def nth(url: str, k: int, order: str) -> int:
    query = (
        "SELECT score FROM customers WHERE score IS NOT NULL "
        f"ORDER BY score {order} OFFSET {k - 1} LIMIT 1"
    )
    return rows(url, query)[0][0]


def test_the_spec_follows_the_profile_and_copies_no_rare_or_personal_value(
    source, capsys, tmp_path
):
    out = tmp_path / "spec.yaml"
    code, _, err = tdm(capsys, "introspect", source, "--rows", "50", "--profile", "-o", out)
    assert code == 0, err
    text = out.read_text()
    spec = yaml.safe_load(text)
    customers, orders = spec["tables"]["customers"], spec["tables"]["orders"]
    cols = customers["columns"]

    assert customers["rows"] == 1000  # the source's count, not --rows
    # id % 9 orders: 0..8 per customer, each count held by 111 or 112 customers
    assert orders["rows"] == {
        "per": "customers",
        "distribution": "histogram",
        "edges": list(range(10)),
        "weights": [111, 112] + [111] * 7,
    }
    assert cols["status"]["generator"] == "choice"
    assert dict(zip(cols["status"]["values"], cols["status"]["weights"], strict=True)) == STATUS
    assert "banned" not in text  # 5 rows < k = 10
    assert cols["score"]["null_ratio"] == 0.3
    assert "null_ratio" not in cols["contact"]  # nullable, but no NULL in the source
    score = cols["score"]
    assert score["distribution"] == "histogram" and "min" not in score
    edges, weights = score["edges"], score["weights"]
    assert sum(weights) == 700 and min(weights) >= 10 and len(weights) >= 20
    # outer edges: the 10th smallest rounded down, the 10th largest rounded up (and past it:
    # the last edge of whole numbers is never drawn); the 9 extremes on each side stay hidden
    assert edges[0] <= nth(source, 10, "ASC") < 100 < 1000 < nth(source, 10, "DESC") < edges[-1]
    assert rows(source, "SELECT min(score), max(score) FROM customers")[0] == (6, 2003)
    # each score is held by one row at most, so edges are on a grid coarse enough that the
    # scores rounding to each (its cell) are at least 10 rows: the k rule for rounded values
    assert all(isinstance(e, int) and e % 100 == 0 for e in edges)
    for e in edges[1:-1]:
        [(near,)] = rows(
            source, f"SELECT count(*) FROM customers WHERE score >= {e - 50} AND score < {e + 50}"
        )
        assert near >= 10, e
    [(held,)] = rows(
        source, f"SELECT count(*) FROM customers WHERE score >= {edges[3]} AND score < {edges[4]}"
    )
    assert weights[3] == held
    joined = cols["joined"]  # 1000 days, one customer each
    assert joined["distribution"] == "histogram" and "start" not in joined
    # 2020-01-10 and 2022-09-17 are the 10th smallest and largest; a day its own cell is rare
    assert "2019-12-01" < joined["edges"][0] <= "2020-01-10"
    assert "2022-09-17" < joined["edges"][-1] < "2022-11-01"
    assert sum(joined["weights"]) == 1000 and min(joined["weights"]) >= 10
    total = orders["columns"]["total"]
    assert 5.5 <= total["edges"][0] < total["edges"][-1] <= 204.5
    assert sum(total["weights"]) == 3997 and min(total["weights"]) >= 10
    for value in PII:  # neither by name (last_name) nor by values (contact: emails)
        assert value not in text, value
    assert cols["last_name"]["generator"] == "last_name"
    assert cols["contact"]["generator"] != "choice"
    assert "# profiled: 30.0% null, histogram of" in text
    assert "bins, each held by at least 10 rows" in text
    assert "histogram of 9 bins, each held by at least 10 customers rows" in text

    # a smaller k lets the rare value in, and its bounds move out
    code, out3, err = tdm(capsys, "introspect", source, "--profile", "--min-count", "3", "-o", "-")
    assert code == 0, err
    cols3 = yaml.safe_load(out3)["tables"]["customers"]["columns"]
    assert dict(zip(cols3["status"]["values"], cols3["status"]["weights"], strict=True)) == {
        **STATUS,
        "banned": 5,
    }
    assert nth(source, 3, "ASC") >= cols3["score"]["edges"][0]
    assert min(cols3["score"]["weights"]) >= 3
    assert len(cols3["score"]["weights"]) >= len(cols["score"]["weights"])
    assert all(v not in out3 for v in PII)

    # without --profile nothing is read from the rows
    code, plain, _ = tdm(capsys, "introspect", source, "--rows", "50", "-o", "-")
    assert code == 0
    assert yaml.safe_load(plain)["tables"]["customers"]["rows"] == 50 and "profiled" not in plain


def test_min_count_without_profile_is_a_clear_error(source, capsys, tmp_path):
    out = tmp_path / "spec.yaml"
    code, _, err = tdm(capsys, "introspect", source, "--min-count", "3", "-o", out)
    assert code == 2 and "--min-count applies to --profile" in err
    assert not out.exists()
    code, _, err = tdm(capsys, "introspect", source, "--profile", "--min-count", "0", "-o", out)
    assert code == 2 and "--min-count: 0 is out of range" in err
    assert not out.exists()


def test_generated_data_follows_the_profile(source, postgres_db, capsys, tmp_path, monkeypatch):
    target = postgres_db(SCHEMA).replace("+psycopg", "")
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    envs = {"environments": {"copy": {"url": target, "schema": "public", "tables": "existing"}}}
    (schemas / "environments.yaml").write_text(yaml.safe_dump(envs))
    monkeypatch.setenv("TDM_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TDM_SCHEMAS", str(schemas))
    monkeypatch.setenv("TDM_ALLOW_DEV_KEY", "1")
    spec_file = schemas / "shop.yaml"
    code, _, err = tdm(capsys, "introspect", source, "--profile", "--name", "shop", "-o", spec_file)
    assert code == 0, err
    cols = yaml.safe_load(spec_file.read_text())["tables"]["customers"]["columns"]
    code, _, err = tdm(capsys, "run", spec_file, "--env", "copy", "--dev-key")
    assert code == 0, err

    [(customers, nulls, low, high)] = rows(
        target, "SELECT count(*), count(*) - count(score), min(score), max(score) FROM customers"
    )
    [(orders,)] = rows(target, "SELECT count(*) FROM orders")
    assert customers == 1000
    assert abs(orders / customers - 4.0) < 0.3  # the source's 4.0 orders per customer
    assert abs(nulls / customers - 0.3) < 0.06  # the source's 30% NULL
    assert cols["score"]["edges"][0] <= low and high < cols["score"]["edges"][-1]
    assert low >= 6 and high <= 2003  # inside the source's own range
    # the generated scores follow the histogram: each bin's share within sampling noise
    got = rows(target, "SELECT score FROM customers WHERE score IS NOT NULL")
    shares = np.histogram([v for (v,) in got], bins=cols["score"]["edges"])[0] / len(got)
    expected = np.array(cols["score"]["weights"]) / sum(cols["score"]["weights"])
    assert np.max(np.abs(np.cumsum(shares) - np.cumsum(expected))) < 0.1
    shares = dict(rows(target, "SELECT status, count(*) / 1000.0 FROM customers GROUP BY 1"))
    assert set(shares) == set(STATUS)  # no 'banned': it was never copied
    for status, n in STATUS.items():
        assert abs(float(shares[status]) - n / sum(STATUS.values())) < 0.05, (status, shares)
    [(first, last)] = rows(target, "SELECT min(joined), max(joined) FROM customers")
    assert str(first) >= cols["joined"]["edges"][0] and str(last) < cols["joined"]["edges"][-1]
    names = {n for (n,) in rows(target, "SELECT DISTINCT last_name FROM customers")}
    assert len(names) > 2 and not names & {"Vandermolen", "Okonkwo-Reyes"}


def test_children_per_parent_follow_the_source_counts(postgres_db, capsys, tmp_path):
    """1000 customers, two thirds without orders and a long tail of many: a histogram of the
    counts keeps the share without orders exactly, and no count fewer than k customers have."""
    data = DATA.replace(
        "FROM public.customers c, generate_series(1, c.id % 9) n;",
        "FROM public.customers c, generate_series(1, CASE WHEN c.id % 3 = 0 "
        "THEN (c.id * 13) % 23 ELSE 0 END) n;",
    )
    url = postgres_db(SCHEMA + data).replace("+psycopg", "")
    counts = dict(
        rows(
            url,
            "SELECT n, count(*) FROM (SELECT count(o.id) n FROM customers c LEFT JOIN orders o "
            "ON o.customer_id = c.id GROUP BY c.id) s GROUP BY n",
        )
    )
    out = tmp_path / "spread.yaml"
    code, _, err = tdm(capsys, "introspect", url, "--profile", "-o", out)
    assert code == 0, err
    per = yaml.safe_load(out.read_text())["tables"]["orders"]["rows"]
    assert per["per"] == "customers" and per["distribution"] == "histogram"
    edges, weights = per["edges"], per["weights"]
    assert edges[:2] == [0, 1] and weights[0] == counts[0]  # 667 without orders
    assert sum(weights) == 1000 and min(weights) >= 10
    largest = sorted((n for n, p in counts.items() for _ in range(p)), reverse=True)[9]
    assert largest < edges[-1] <= largest + 10  # past the 10th largest count, not the largest
    for e in edges:  # an edge is a count no customer has or at least 10 have
        assert counts.get(e, 0) == 0 or counts[e] >= 10, e

    # too few customers for two bins of 10: the fitted spread instead (geometric: overdispersed)
    few = postgres_db(SCHEMA + data.replace("generate_series(1, 1000)", "generate_series(1, 15)"))
    code, spec_text, err = tdm(
        capsys, "introspect", few.replace("+psycopg", ""), "--profile", "-o", "-"
    )
    assert code == 0, err
    assert yaml.safe_load(spec_text)["tables"]["orders"]["rows"]["distribution"] == "geometric"
