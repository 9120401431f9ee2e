"""Uniqueness over all batches: the sort fast path agrees with counting every repeated key."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from tdm.validation.keys import ROW, _duplicates, _key_array
from tdm.validation.runner import _sample_positions
from tdm.validation.suite import SAMPLE_BLOCK, SAMPLE_ROWS


def keyed(**columns) -> pa.Table:
    n = len(next(iter(columns.values())))
    return pa.table({**columns, ROW: pa.array(np.arange(n, dtype=np.int64))})


def expected(data: pa.Table, columns: list[str]) -> tuple[int, list[int]]:
    plain = [
        pa.chunked_array([k.storage for k in c.chunks])
        if isinstance(c.type, pa.BaseExtensionType)
        else c
        for c in data.select(columns).columns
    ]
    frame = pa.table(plain, names=columns).to_pandas()  # pandas' own count, uuids as bytes
    repeated = np.flatnonzero(frame.duplicated(keep=False).to_numpy())
    return len(repeated), [int(i) for i in repeated[:5]]


rng = np.random.default_rng(7)
CASES = {
    "increasing ints": keyed(id=pa.array(np.arange(1, 10_001))),
    "shuffled ints, one repeat": keyed(id=pa.array(np.r_[rng.permutation(5000), [17]])),
    "negative ints, repeats": keyed(id=pa.array(rng.integers(-(2**40), -(2**40) + 3000, 2000))),
    "composite ints": keyed(
        order=pa.array(np.repeat(np.arange(500), 4)), line=pa.array(np.tile(np.arange(4), 500))
    ),
    "composite ints, one repeat": keyed(
        order=pa.array(np.r_[np.repeat(np.arange(500), 4), [3]]),
        line=pa.array(np.r_[np.tile(np.arange(4), 500), [2]]),
    ),
    "composite beyond 62 bits": keyed(
        a=pa.array(np.r_[rng.integers(0, 2**40, 999), [5]]),
        b=pa.array(np.r_[rng.integers(0, 2**40, 999), [6]]),
    ),
    "dates with a repeat": keyed(
        day=pa.array([dt.date(2020, 1, 1) + dt.timedelta(days=int(i)) for i in [*range(300), 42]])
    ),
    "timestamps": keyed(
        at=pa.array(pd.date_range("2020-01-01", periods=1000, freq="s", tz="UTC").to_pydatetime())
    ),
    "unsigned 64-bit (group-by)": keyed(id=pa.array([2**63 + 1, 5, 2**63 + 1], pa.uint64())),
    "strings (group-by)": keyed(code=pa.array(["a", "b", "c", "b"])),
    "unique strings": keyed(code=pa.array([f"ORD-{i:08d}" for i in rng.permutation(20_000)])),
    "string and int, one repeat": keyed(
        order=pa.array(["x", "y", "x", "y", "x"]), line=pa.array([1, 1, 2, 2, 1])
    ),
    "uuids, one repeat": keyed(
        id=pa.array([b"a" * 16, b"b" * 16, b"a" * 16], pa.binary(16)).view(pa.uuid())
    ),
    # keys in order, compared without encoding (tdm.validation.keys._increasing)
    "strings in order": keyed(code=pa.array([f"ORD-{i:08d}" for i in range(20_000)])),
    "strings in order, one repeated next to itself": keyed(
        code=pa.array([f"ORD-{i:08d}" for i in [*range(500), 499, *range(500, 900)]])
    ),
    "strings in order but one, a repeat far away": keyed(
        code=pa.array([f"K{i:05d}" for i in [*range(1000), 3, *range(1000, 1200)]])
    ),
    "text and line in order": keyed(
        order=pa.array([f"ORD-{i:04d}" for i in np.repeat(np.arange(300), 3)]),
        line=pa.array(np.tile(np.arange(1, 4), 300)),
    ),
    "text in order, lines tied": keyed(
        order=pa.array(["a", "a", "b", "b", "c"]), line=pa.array([1, 2, 1, 1, 1])
    ),
    "text in order, lines back": keyed(
        order=pa.array(["a", "a", "b", "b"]), line=pa.array([2, 1, 1, 2])
    ),
    "text decreasing, lines up": keyed(order=pa.array(["b", "a", "a"]), line=pa.array([1, 2, 2])),
    "binary in order": keyed(id=pa.array([bytes([i // 256, i % 256]) for i in range(3000)])),
    "floats in order with NaN": keyed(x=pa.array([0.5, float("nan"), 1.5, float("nan")])),
    "decimals with a repeat": keyed(
        amount=pa.array(["1.50", "2.25", "1.50", "9.99"]).cast(pa.decimal128(6, 2))
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_duplicates_match_a_full_count(name):
    data = CASES[name]
    columns = [c for c in data.column_names if c != ROW]
    assert _duplicates(data, columns) == expected(data, columns)


def test_text_keys_in_order_are_known_unique_without_encoding(monkeypatch):
    from tdm.validation import keys

    def no_encoding(*_):
        raise AssertionError("encoded")

    monkeypatch.setattr(keys, "_key_array", no_encoding)
    for name in ("strings in order", "text and line in order", "binary in order"):
        data = CASES[name]
        assert _duplicates(data, [c for c in data.column_names if c != ROW]) == (0, [])


def test_composite_keys_pack_into_one_array_only_when_they_fit():
    assert _key_array(CASES["composite ints"], ["order", "line"]) is not None
    assert _key_array(CASES["composite beyond 62 bits"], ["a", "b"]) is None
    # other types pack as the index of each value among the column's distinct values
    strings = _key_array(CASES["strings (group-by)"], ["code"])
    assert strings is not None and strings.tolist() == [0, 1, 2, 1]


def test_format_samples_are_runs_spread_over_the_whole_batch():
    rows = 1_000_000
    positions = _sample_positions(rows)
    assert len(positions) == SAMPLE_ROWS and len(np.unique(positions)) == SAMPLE_ROWS
    assert positions[0] == 0 and positions[-1] == rows - 1
    runs = positions.reshape(-1, SAMPLE_BLOCK)
    assert (np.diff(runs, axis=1) == 1).all()  # contiguous runs: zero-copy slices
    assert list(_sample_positions(SAMPLE_ROWS)) == list(range(SAMPLE_ROWS))
