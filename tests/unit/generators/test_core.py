"""Properties of the core generators: ranges, distributions, uniqueness, formats."""

from __future__ import annotations

import datetime as dt
import json
import re

import numpy as np
import pyarrow as pa
import pytest

from tdm.core.permute import permute, round_keys
from tdm.core.rand import RowRandom, key64
from tdm.generators.base import REGISTRY
from tests.unit.helpers import make, run

N = 50_000


def test_registry_has_the_promised_generators():
    promised = {
        "sequence",
        "uuid",
        "integer",
        "float",
        "decimal",
        "boolean",
        "choice",
        "date",
        "timestamp",
        "pattern",
        "first_name",
        "last_name",
        "full_name",
        "email",
        "username",
        "phone",
        "street_address",
        "city",
        "postcode",
        "country",
        "country_code",
        "company",
        "job_title",
        "credit_card",
        "iban",
        "text",
        "sentence",
        "json",
        "foreign_key",
    }
    assert promised <= set(REGISTRY)


@pytest.mark.parametrize("domain", [1, 2, 3, 10, 1000, 65_537, 1_000_000])
def test_permutation_is_a_bijection(domain):
    x = np.arange(domain, dtype=np.uint64)
    y = permute(x, domain, round_keys(key64("k", count=2)))
    assert y.max() < domain and len(np.unique(y)) == domain


def test_row_random_does_not_depend_on_the_split():
    whole = RowRandom(99, 0, 10_000).random()
    parts = np.concatenate(
        [RowRandom(99, s, min(10_000, s + 1234)).random() for s in range(0, 10_000, 1234)]
    )
    assert np.array_equal(whole, parts)


def test_sequence_int_and_string():
    assert run(make("sequence", "int", start=10, step=5), 0, 4).to_pylist() == [10, 15, 20, 25]
    assert run(make("sequence", "string", prefix="ORD-", width=6), 8, 10).to_pylist() == [
        "ORD-000009",
        "ORD-000010",
    ]


@pytest.mark.parametrize(
    ("params", "mean", "std"),
    [
        ({"distribution": "uniform", "min": 1, "max": 100}, 50.5, 28.9),
        ({"distribution": "normal", "mean": 40, "std": 5}, 40, 5),
        ({"distribution": "poisson", "lam": 4}, 4, 2),
    ],
)
def test_integer_distributions(params, mean, std):
    values = run(make("integer", "int", **params), 0, N).to_numpy()
    assert abs(values.mean() - mean) < 0.03 * max(mean, 10)
    assert abs(values.std() - std) < 0.05 * std
    if params["distribution"] == "uniform":
        assert values.min() == 1 and values.max() == 100


def test_zipf_is_skewed_and_clamped():
    values = run(make("integer", "int", distribution="zipf", a=2, max=50), 0, N).to_numpy()
    assert values.min() == 1 and values.max() <= 50
    assert (values == 1).mean() > 0.5  # P(1) = 1/zeta(2) ~ 0.61


def test_unique_integer_covers_a_range_without_repeats():
    values = run(make("integer", "int", unique=True, min=1, max=N), 0, N).to_numpy()
    assert sorted(values) == list(range(1, N + 1))


def test_lognormal_float_and_rounding():
    values = run(
        make("float", "float", distribution="lognormal", mean=3, sigma=0.5, round=2), 0, N
    ).to_numpy()
    assert values.min() > 0
    assert abs(np.median(values) - np.exp(3)) < 0.5
    assert np.allclose(values, np.round(values, 2))


def test_decimal_has_the_scale_and_range():
    arr = run(make("decimal", "decimal(8,2)", min=1, max=999.99), 0, N)
    assert arr.type == pa.decimal128(8, 2)
    values = [float(v) for v in arr.to_pylist()[:2000]]
    assert min(values) >= 1 and max(values) <= 999.99


def test_boolean_probability():
    values = run(make("boolean", "bool", p=0.3), 0, N).to_numpy(zero_copy_only=False)
    assert abs(values.mean() - 0.3) < 0.01


def test_choice_follows_weights():
    values = run(make("choice", "string", values=["a", "b", "c"], weights=[7, 2, 1]), 0, N)
    counts = {
        k: v / N
        for k, v in zip(
            *np.unique(values.to_numpy(zero_copy_only=False), return_counts=True), strict=True
        )
    }
    assert abs(counts["a"] - 0.7) < 0.01 and abs(counts["c"] - 0.1) < 0.01


def test_dates_stay_in_relative_range():
    values = run(make("date", "date", start="-2y", end="-1m"), 0, N).to_pylist()
    assert min(values) >= dt.date(2024, 1, 1) and max(values) <= dt.date(2025, 12, 1)
    assert max(values) > dt.date(2025, 11, 1)  # the range is covered


def test_timestamps_are_utc_and_in_range():
    arr = run(make("timestamp", "timestamp", start="2025-01-01", end="2025-01-31"), 0, N)
    assert str(arr.type.tz) == "UTC"
    values = arr.to_pylist()
    assert min(values).date() >= dt.date(2025, 1, 1)
    assert max(values).date() <= dt.date(2025, 1, 31)


def test_pattern_format_and_uniqueness():
    free = run(make("pattern", pattern="###-##-####"), 0, 1000).to_pylist()
    assert all(re.fullmatch(r"\d{3}-\d{2}-\d{4}", v) for v in free)
    unique = run(make("pattern", unique=True, pattern="SKU-??-%#"), 0, 26 * 26 * 90).to_pylist()
    assert len(set(unique)) == len(unique)
    assert all(re.fullmatch(r"SKU-[A-Z]{2}-[1-9]\d", v) for v in unique)


def test_unique_pattern_beyond_64_bits():
    values = run(make("pattern", unique=True, pattern="#" * 24), 0, N).to_pylist()
    assert len(set(values)) == N and all(len(v) == 24 for v in values)


def test_uuids_are_v4_unique_and_index_based():
    gen = make("uuid", "uuid")
    values = run(gen, 0, 200_000).to_pylist()
    assert len(set(values)) == len(values)
    assert all(
        re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", v)
        for v in values[:5000]
    )
    assert gen.at(np.array([5, 0]), None).to_pylist() == [values[5], values[0]]


def test_sentence_and_text():
    sentences = run(make("sentence", min_words=3, max_words=5), 0, 2000).to_pylist()
    assert all(s[0].isupper() and s.endswith(".") and 3 <= len(s.split()) <= 5 for s in sentences)
    texts = run(make("text", max_sentences=3, max_chars=80), 0, 2000).to_pylist()
    assert all(0 < len(t) <= 80 for t in texts)


def test_json_documents_parse_and_follow_field_specs():
    gen = make(
        "json",
        "json",
        fields={
            "plan": {"generator": "choice", "values": ["free", 'pro "x"']},
            "seats": {"type": "int", "generator": "integer", "min": 1, "max": 9},
            "trial": {"type": "bool", "generator": "boolean", "null_ratio": 0.5},
        },
    )
    docs = [json.loads(v) for v in run(gen, 0, 3000).to_pylist()]
    assert {d["plan"] for d in docs} == {"free", 'pro "x"'}
    assert all(1 <= d["seats"] <= 9 for d in docs)
    assert 0.4 < sum(d["trial"] is None for d in docs) / len(docs) < 0.6


def test_bad_params_are_reported_by_the_generator():
    assert make("choice", values=["a", "b"], weights=[1]).problems()
    assert make("decimal", "decimal(5,2)", min=0, max=5000).problems()
    assert make("date", "date", start="today", end="-1y").problems()
