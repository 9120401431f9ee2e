"""PostgreSQL-native generators (native.py, clock.py, network.py, arrays.py, ranges.py):
determinism under any batching, formats, problems, and that PostgreSQL itself reads every value
as its type."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import psycopg
import pyarrow as pa
import pytest

from tdm.core.errors import SpecError
from tdm.core.types import parse_type
from tdm.generators.base import REGISTRY, ColumnInfo, Generator
from tests.unit.helpers import run

PG = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
SAMPLE = 2000


def make(name: str, rows: int | None = None, unique: bool = False, **params) -> Generator:
    cls = REGISTRY[name]
    info = ColumnInfo("t", "c", parse_type("string"), 7, unique, dt.date(2026, 1, 1), rows=rows)
    return cls(cls.Params.model_validate(params), info)


# (id, generator, params, PostgreSQL type, regex every value matches)
IPV4 = r"(\d{1,3}\.){3}\d{1,3}"
IPV6 = r"([0-9a-f]{4}:){7}[0-9a-f]{4}"
TS = r'"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\+00)?"'
CASES = [
    ("interval", "interval", {}, "interval", r"(\d+ days? )?\d\d:\d\d:\d\d|\d+ days?"),
    (
        "interval-years",
        "interval",
        {"min": "-2 years", "max": "3 years 2 mons"},
        "interval",
        r"-?\d+ years?.*|.*",
    ),
    ("interval-short", "interval", {"min": "00:00:05", "max": "00:30:00"}, "interval", r"\d\d:.*"),
    ("inet", "ip_address", {}, "inet", IPV4),
    ("inet-prefix", "ip_address", {"prefix": 24}, "inet", IPV4 + "/24"),
    ("cidr", "ip_address", {"cidr": True}, "cidr", IPV4 + r"/\d+"),
    ("cidr-16", "ip_address", {"cidr": True, "prefix": 16}, "cidr", r"(\d+\.){2}0\.0/16"),
    ("inet6", "ip_address", {"version": 6}, "inet", IPV6),
    ("cidr6", "ip_address", {"version": 6, "cidr": True}, "cidr", IPV6 + r"/\d+"),
    ("cidr6-100", "ip_address", {"version": 6, "cidr": True, "prefix": 100}, "cidr", IPV6 + "/100"),
    ("macaddr", "mac_address", {}, "macaddr", r"([0-9a-f]{2}:){5}[0-9a-f]{2}"),
    ("macaddr8", "mac_address", {"bytes": 8}, "macaddr8", r"([0-9a-f]{2}:){7}[0-9a-f]{2}"),
    ("bit", "bit_string", {"length": 12}, "bit(12)", r"[01]{12}"),
    ("varbit", "bit_string", {"length": 70, "varying": True}, "varbit(70)", r"[01]{1,70}"),
    ("bytea", "bytes", {}, "bytea", r"\\x([0-9a-f]{2}){8,32}"),
    ("bytea-empty", "bytes", {"min_length": 0, "max_length": 3}, "bytea", r"\\x([0-9a-f]{2}){0,3}"),
    ("tsvector", "tsvector", {}, "tsvector", r"'[a-z]+'( '[a-z]+'){0,7}"),
    ("tsvector-none", "tsvector", {"min_words": 0, "max_words": 2}, "tsvector", r"('[a-z]+' ?)*"),
    ("int4range", "range", {}, "int4range", r"\[\d+,\d+\)"),
    ("int4range-wide", "range", {"min": -(2**31), "max": 2**31 - 1}, "int4range", r"\[.*\)"),
    ("int8range", "range", {"of": "bigint", "min": -(10**15)}, "int8range", r"\[-?\d+,-?\d+\)"),
    (
        "numrange",
        "range",
        {"of": "numeric", "min": -5, "max": 5.5, "scale": 3},
        "numrange",
        r"\[-?\d+\.\d{3},-?\d+\.\d{3}\)",
    ),
    ("numrange-0", "range", {"of": "numeric", "scale": 0}, "numrange", r"\[\d+,\d+\)"),
    ("daterange", "range", {"of": "date"}, "daterange", r"\[\d{4}-\d\d-\d\d,\d{4}-\d\d-\d\d\)"),
    (
        "tsrange",
        "range",
        {"of": "timestamp", "min": "2024-01-01T08:00:00", "max_span": "4 hours"},
        "tsrange",
        rf"\[{TS},{TS}\)",
    ),
    ("tstzrange", "range", {"of": "timestamptz", "max_span": 2}, "tstzrange", rf"\[{TS},{TS}\)"),
    ("time", "time", {}, "time", r"\d\d:\d\d:\d\d"),
    (
        "time-night",
        "time",
        {"start": "22:00", "end": "02:30:00"},
        "time",
        r"(2[23]|0[0-2]):\d\d:\d\d",
    ),
    ("timetz", "time", {"with_tz": True}, "timetz", r"\d\d:\d\d:\d\d[+-]\d\d(:\d\d)?"),
    (
        "text[]",
        "array",
        {"of": {"generator": "choice", "values": ["a", 'q"uote', "back\\slash", "x, y", "{}"]}},
        "text[]",
        r'\{("([^"\\]|\\.)*"(,"([^"\\]|\\.)*")*)?\}',
    ),
    (
        "text[]-sentences",
        "array",
        {"of": {"generator": "sentence", "max_words": 5, "null_ratio": 0.2}, "max_length": 4},
        "text[]",
        r"\{.*\}",
    ),
    (
        "integer[]",
        "array",
        {"of": {"generator": "integer", "min": -9, "max": 9}, "element_type": "int"},
        "integer[]",
        r"\{(-?\d(,-?\d)*)?\}",
    ),
    (
        "numeric[]",
        "array",
        {
            "of": {"generator": "decimal", "min": -999, "max": 9999.99},
            "element_type": "decimal(6,2)",
            "min_length": 1,
        },
        "numeric(6,2)[]",
        r"\{-?\d+\.\d\d(,-?\d+\.\d\d)*\}",
    ),
    (
        "date[]",
        "array",
        {"of": {"generator": "date", "start": "-5y"}, "element_type": "date"},
        "date[]",
        r"\{(\"\d{4}-\d\d-\d\d\",?)*\}",
    ),
    (
        "boolean[]",
        "array",
        {"of": {"generator": "boolean"}, "element_type": "bool", "max_length": 5},
        "boolean[]",
        r"\{([tf](,[tf])*)?\}",
    ),
    (
        "timestamptz[]",
        "array",
        {"of": {"generator": "timestamp"}, "element_type": "timestamp"},
        "timestamptz[]",
        r"\{.*\}",
    ),
    (
        "float8[]",
        "array",
        {
            "of": {"generator": "float", "distribution": "normal", "mean": 0, "std": 1e9},
            "element_type": "float",
        },
        "float8[]",
        r"\{.*\}",
    ),
    ("uuid[]", "array", {"of": {"generator": "uuid"}, "element_type": "uuid"}, "uuid[]", r"\{.*\}"),
]
IDS = [c[0] for c in CASES]


def values(name: str, params: dict, start: int = 0, stop: int = 10_000, **kw) -> list:
    return run(make(name, **kw, **params), start, stop).to_pylist()


@pytest.mark.parametrize(("case", "name", "params", "pg_type", "shape"), CASES, ids=IDS)
def test_same_values_under_any_batching_and_no_nulls(case, name, params, pg_type, shape):
    gen = make(name, **params)
    assert gen.problems() == []
    whole = run(gen, 0, 10_000)
    blocks = pa.concat_arrays([run(gen, s, min(s + 3000, 10_000)) for s in range(0, 10_000, 3000)])
    assert whole.type == pa.string() and whole.null_count == 0
    assert whole.equals(blocks)
    assert run(gen, 4321, 4400).equals(whole[4321:4400])


@pytest.mark.parametrize(("case", "name", "params", "pg_type", "shape"), CASES, ids=IDS)
def test_values_have_the_format(case, name, params, pg_type, shape):
    wrong = [v for v in values(name, params, stop=SAMPLE) if not re.fullmatch(shape, v)]
    assert wrong == []


@pytest.fixture(scope="module")
def pg():
    """A connection to the PostgreSQL this machine runs (skips the test without one)."""
    try:
        conn = psycopg.connect(PG, connect_timeout=3, autocommit=True)
    except psycopg.Error:
        pytest.skip("PostgreSQL on 127.0.0.1:5432 is not reachable (make test needs it)")
    yield conn
    conn.close()


def pg_count(pg, sql: str, *args) -> int:
    return pg.execute(sql, args).fetchone()[0]


@pytest.mark.xdist_group("postgres")
@pytest.mark.parametrize(("case", "name", "params", "pg_type", "shape"), CASES, ids=IDS)
def test_postgres_reads_every_value(pg, case, name, params, pg_type, shape):
    sample = values(name, params, 500, 500 + SAMPLE)
    # every value casts (an unreadable one raises), and prints back as a value of the type
    query = f"SELECT count(*) FROM unnest(%s::text[]) v WHERE v::{pg_type} IS NOT NULL"
    assert pg_count(pg, query, sample) == SAMPLE
    if pg_type.endswith("range"):
        empty = f"SELECT count(*) FROM unnest(%s::text[]) v WHERE isempty(v::{pg_type})"
        assert pg_count(pg, empty, sample) == 0


def test_values_stay_in_their_bounds():
    ranges = values("range", {"of": "numeric", "min": -5, "max": 5.5, "max_span": 0.5})
    for r in ranges[:2000]:
        lo, hi = (float(x) for x in r[1:-1].split(","))
        assert -5 <= lo < hi <= 5.5 and hi - lo <= 0.5 + 1e-9
    times = values("time", {"start": "09:00", "end": "17:30"})
    assert min(times) >= "09:00:00" and max(times) <= "17:30:00"
    bits = values("bit_string", {"length": 9, "varying": True})
    assert {len(b) for b in bits} == set(range(1, 10))
    arrays = values("array", {"of": {"generator": "uuid"}, "min_length": 2, "max_length": 4})
    assert {a.count(",") + 1 for a in arrays} == {2, 3, 4}


@pytest.mark.xdist_group("postgres")
def test_interval_stays_between_min_and_max(pg):
    sample = values("interval", {"min": "1 day 02:00:00", "max": "2 years"}, stop=SAMPLE)
    query = (
        "SELECT count(*) FROM unnest(%s::text[]) v "
        "WHERE v::interval BETWEEN '1 day 02:00:00' AND '2 years'"
    )
    assert pg_count(pg, query, sample) == SAMPLE


UNIQUE = [
    ("ip_address", {}, "inet"),
    ("ip_address", {"prefix": 20}, "inet"),
    ("ip_address", {"cidr": True}, "cidr"),
    ("ip_address", {"cidr": True, "prefix": 20}, "cidr"),
    ("ip_address", {"version": 6}, "inet"),
    ("ip_address", {"version": 6, "cidr": True}, "cidr"),
    ("ip_address", {"version": 6, "cidr": True, "prefix": 100}, "cidr"),
    ("mac_address", {}, "macaddr"),
    ("mac_address", {"bytes": 8}, "macaddr8"),
]


@pytest.mark.parametrize(("name", "params", "pg_type"), UNIQUE)
def test_unique_values_are_distinct_and_index_based(name, params, pg_type):
    gen = make(name, unique=True, **params)
    assert gen.index_based and gen.problems() == []
    out = run(gen, 0, 200_000).to_pylist()
    assert len(set(out)) == len(out)
    assert run(gen, 1000, 1010).to_pylist() == out[1000:1010]


@pytest.mark.xdist_group("postgres")
@pytest.mark.parametrize(("name", "params", "pg_type"), UNIQUE)
def test_postgres_sees_unique_values_as_distinct(pg, name, params, pg_type):
    sample = run(make(name, unique=True, **params), 0, 20_000).to_pylist()
    query = f"SELECT count(DISTINCT v::{pg_type}) FROM unnest(%s::text[]) v"
    assert pg_count(pg, query, sample) == len(sample)


def test_unique_ipv4_networks_are_limited_by_the_prefix():
    assert make("ip_address", unique=True, cidr=True, prefix=12).capacity() == 2**12
    assert make("ip_address", unique=True).capacity() == 2**32


DISJOINT = [
    ({"of": "int", "min": 0, "max": 5_000}, 5_000, "int4range"),
    ({"of": "bigint", "min": -(10**12), "max": 10**12, "max_span": 10}, 10_000, "int8range"),
    ({"of": "numeric", "min": 0, "max": 30, "scale": 2}, 3_000, "numrange"),
    ({"of": "date", "min": "2020-01-01", "max": "2030-01-01"}, 3_000, "daterange"),
    ({"of": "timestamp", "min": "2025-01-01", "max": "2025-01-02"}, 10_000, "tsrange"),
    ({"of": "timestamptz", "max_span": "3 hours"}, 2_000, "tstzrange"),
]


@pytest.mark.parametrize(("params", "rows", "pg_type"), DISJOINT)
def test_disjoint_ranges_never_overlap(params, rows, pg_type):
    gen = make("range", rows=rows, disjoint=True, **params)
    assert gen.index_based and gen.problems() == []
    out = run(gen, 0, rows).to_pylist()
    blocks = [v for s in range(0, rows, 777) for v in run(gen, s, min(rows, s + 777)).to_pylist()]
    assert blocks == out
    if pg_type in ("int4range", "int8range"):  # sort by lower bound: each ends before the next
        bounds = np.array([[int(x) for x in r[1:-1].split(",")] for r in out])
        bounds = bounds[np.argsort(bounds[:, 0])]
        assert (bounds[:, 0] < bounds[:, 1]).all() and (bounds[1:, 0] >= bounds[:-1, 1]).all()


@pytest.mark.xdist_group("postgres")
@pytest.mark.parametrize(("params", "rows", "pg_type"), DISJOINT)
def test_postgres_finds_no_overlap_between_disjoint_ranges(pg, params, rows, pg_type):
    out = run(make("range", rows=rows, disjoint=True, **params), 0, rows).to_pylist()
    sample = out[:250] + out[-250:]
    overlaps = (
        f"SELECT count(*) FROM unnest(%s::text[]) WITH ORDINALITY a(v, i) "
        f"JOIN unnest(%s::text[]) WITH ORDINALITY b(v, i) "
        f"ON a.i < b.i AND a.v::{pg_type} && b.v::{pg_type}"
    )
    assert pg_count(pg, overlaps, sample, sample) == 0
    empty = f"SELECT count(*) FROM unnest(%s::text[]) v WHERE isempty(v::{pg_type})"
    assert pg_count(pg, empty, out) == 0
    # the exclusion constraint itself accepts every row
    with pg.transaction():
        pg.execute(
            f"CREATE TEMP TABLE booking (during {pg_type}, EXCLUDE USING gist (during WITH &&))"
        )
        pg.execute(
            "INSERT INTO booking SELECT v::" + pg_type + " FROM unnest(%s::text[]) v", (out,)
        )
        assert pg_count(pg, "SELECT count(*) FROM booking") == rows
        pg.execute("DROP TABLE booking")


@pytest.mark.xdist_group("postgres")
@pytest.mark.parametrize(
    ("of", "pg_type", "min_length", "max_length"),
    [
        ({"generator": "choice", "values": list("abcdef")}, "text[]", 1, 6),
        ({"generator": "choice", "values": ["x", "y", "z"], "weights": [5, 1, 1]}, "text[]", 2, 3),
        ({"generator": "integer", "min": 1, "max": 10}, "integer[]", 0, 8),
        ({"generator": "integer", "min": 1, "max": 5000}, "integer[]", 3, 8),
        ({"generator": "integer", "distribution": "poisson", "lam": 5}, "integer[]", 0, 4),
        ({"generator": "first_name"}, "text[]", 2, 5),
        ({"generator": "uuid"}, "uuid[]", 1, 3),
    ],
)
def test_distinct_arrays_repeat_no_element(pg, of, pg_type, min_length, max_length):
    kind = "string" if pg_type != "integer[]" else "int"
    params = {"of": of, "element_type": kind, "distinct": True}
    gen = make("array", min_length=min_length, max_length=max_length, **params)
    assert gen.problems() == []
    sample = run(gen, 0, SAMPLE).to_pylist()
    query = (
        f"SELECT count(*) FROM unnest(%s::text[]) v, LATERAL (SELECT v::{pg_type} AS a) x "
        "WHERE cardinality(a) = (SELECT count(DISTINCT e) FROM unnest(a) e) "
        "AND cardinality(a) BETWEEN %s AND %s"
    )
    assert pg_count(pg, query, sample, min_length, max_length) == SAMPLE


def test_distinct_choice_arrays_are_weighted_samples():
    of = {"generator": "choice", "values": ["a", "b", "c"], "weights": [8, 1, 1]}
    out = values("array", {"of": of, "distinct": True, "min_length": 1, "max_length": 1})
    share = out.count('{"a"}') / len(out)
    assert 0.77 < share < 0.83
    pairs = values("array", {"of": of, "distinct": True, "min_length": 2, "max_length": 2})
    assert {p for p in pairs} == {
        '{"a","b"}',
        '{"b","a"}',
        '{"a","c"}',
        '{"c","a"}',
        '{"b","c"}',
        '{"c","b"}',
    }


def test_array_elements_follow_the_row_index():
    """Element k of row i is virtual row i * max_length + k of the nested generator, which runs
    as column '<column>.element' with the element type."""
    of = {"generator": "integer", "min": 1, "max": 1000}
    gen = make("array", of=of, element_type="int", min_length=3, max_length=3)
    cls = REGISTRY["integer"]
    info = ColumnInfo("t", "c.element", parse_type("int"), 7, False, dt.date(2026, 1, 1))
    flat = run(cls(cls.Params.model_validate({"min": 1, "max": 1000}), info), 300, 3000)
    expected = [
        "{" + ",".join(map(str, flat[3 * i : 3 * i + 3].to_pylist())) + "}" for i in range(900)
    ]
    assert run(gen, 100, 1000).to_pylist() == expected


def problems_of(name: str, rows: int | None = None, **params) -> list[tuple]:
    return make(name, rows=rows, **params).problems()


def test_problems_name_the_parameter():
    assert problems_of("interval", min="2 days", max="1 day")[0][0] == "min"
    assert problems_of("ip_address", prefix=40)[0][0] == "prefix"
    assert problems_of("bytes", min_length=9, max_length=2)[0][0] == "min_length"
    assert problems_of("tsvector", min_words=3, max_words=2)[0][0] == "min_words"
    assert problems_of("range", min=5, max=5)[0][0] == "min"
    assert problems_of("range", of="numeric", min="abc")[0][0] == "min"
    assert problems_of("range", of="int", max=2**40)[0][0] == "max"
    assert problems_of("range", of="int", max_span="2 days")[0][0] == "max_span"
    assert problems_of("range", of="date", max_span="3 hours")[0][0] == "max_span"
    too_many = problems_of("range", rows=101, min=0, max=100, disjoint=True)
    assert too_many[0][0] == "max" and "101 disjoint" in too_many[0][1]
    assert problems_of("range", rows=100, min=0, max=100, disjoint=True) == []
    assert make("range", unique=True).problems()[0][0] == "unique"


def test_bad_params_are_refused():
    for name, params in [
        ("interval", {"min": "3 fortnights"}),
        ("interval", {"max": 5}),
        ("ip_address", {"version": 5}),
        ("mac_address", {"bytes": 7}),
        ("bit_string", {}),
        ("time", {"start": 45000}),  # YAML reads 12:30:00 unquoted as a number
        ("time", {"end": "25:00"}),
        ("time", {"with_tz": True, "offsets": ["+99"]}),
        ("range", {"of": "money"}),
        ("array", {}),
    ]:
        with pytest.raises(ValueError):
            REGISTRY[name].Params.model_validate(params)


@pytest.mark.parametrize(
    ("of", "element_type", "where", "says"),
    [
        ({"generator": "integer", "min": 1, "max": "x"}, "int", "of.max", "must be a number"),
        ({"generator": "integer", "min": 1, "mx": 9}, "int", "of.mx", "unknown field"),
        ({"generator": "choice", "values": [1], "weights": [1, 2]}, "int", "of.weights", "2 w"),
        ({"generator": "nope"}, "string", "of.generator", "needs a generator"),
        ({"values": ["a"]}, "string", "of.generator", "needs a generator"),
        ({"generator": "integer", "min": 1, "max": 9}, "string", "of.generator", "of string"),
        ({"generator": "integer", "min": 1, "max": 9}, "json", "element_type", "not supported"),
        ({"generator": "integer", "min": 1, "max": 9}, "intt", "element_type", "unknown type"),
        ({"generator": "choice", "values": ["a", "b"]}, "string", "max_length", "only 2"),
    ],
)
def test_array_reports_nested_problems(of, element_type, where, says):
    found = problems_of("array", of=of, element_type=element_type, distinct=True)
    assert found and found[0][0] == where and says in found[0][1]


SPEC = """
dataset: native
seed: 5
reference_date: 2026-01-01
tables:
  rooms:
    rows: 400
    primary_key: id
    columns:
      id: {type: int, generator: sequence}
      during: {type: string, generator: range, of: date, min: 2024-01-01, max: 2030-01-01,
               disjoint: true, max_span: 5}
      tags: {type: string, generator: array, distinct: true, max_length: 2,
             of: {generator: choice, values: [wifi, tv, balcony]}}
      host: {type: string, generator: ip_address, unique: true}
      opens: {type: string, generator: time, start: "08:00", end: "11:00"}
"""


def test_a_spec_builds_and_generates_them(write_spec):
    from tdm.plan.loading import load_spec

    plan = load_spec(write_spec(SPEC))
    rooms = plan.generate("rooms", 0, 400).to_pydict()
    assert all(r.startswith("[20") and r.endswith(")") for r in rooms["during"])
    assert len(set(rooms["host"])) == 400
    assert all(t == "{}" or t.startswith('{"') for t in rooms["tags"])
    assert all("08:00:00" <= t <= "11:00:00" for t in rooms["opens"])


def test_a_spec_reports_nested_array_params(write_spec):
    from tdm.plan.loading import load_spec

    bad = SPEC.replace("values: [wifi, tv, balcony]", "valuez: [wifi]").replace(
        "max: 2030-01-01", "max: 2024-01-10"
    )
    with pytest.raises(SpecError) as info:
        load_spec(write_spec(bad))
    text = str(info.value)
    assert "tables.rooms.columns.tags.of.valuez" in text
    assert "tables.rooms.columns.during.max" in text and "400 disjoint" in text


NULLABLE_TEXT = """
dataset: notes
seed: 5
reference_date: 2026-01-01
tables:
  notes:
    rows: 9000
    primary_key: id
    columns:
      id: {type: int, generator: sequence}
      body: {type: string, generator: text, max_sentences: 3%s}
      line: {type: string, generator: sentence, min_words: 2, max_words: 9%s}
"""


def test_text_left_out_of_rows_to_be_null_is_the_same_text_elsewhere(tmp_path):
    """Rows a null_ratio makes null are not built (ctx.skip); every other row's text is what
    the column gives without nulls, batch by batch."""
    from tdm.plan.loading import load_spec

    paths = []
    for name, extra in (("nulls", ", null_ratio: 0.7"), ("full", "")):
        paths.append(tmp_path / f"{name}.yaml")
        paths[-1].write_text(NULLABLE_TEXT % (extra, extra))
    nulls, full = (load_spec(p) for p in paths)
    for start, stop in ((0, 9000), (100, 4200), (4200, 9000)):
        a, b = nulls.generate("notes", start, stop), full.generate("notes", start, stop)
        for column in ("body", "line"):
            got, want = a.column(column).to_pylist(), b.column(column).to_pylist()
            kept = [i for i, v in enumerate(got) if v is not None]
            assert 0.2 < len(kept) / len(got) < 0.4
            assert [got[i] for i in kept] == [want[i] for i in kept]
            assert all(v and v[0].isupper() and v.endswith(".") for v in want)
