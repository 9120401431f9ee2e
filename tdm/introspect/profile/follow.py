"""Making a spec table follow its profile: row counts, null ratios, weighted values, ranges and
histograms, children per parent row; values copied only under the k and PII rules."""

from __future__ import annotations

import datetime as dt
import itertools
import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import pyarrow as pa

from tdm.checks import ColumnHint
from tdm.core.types import parse_type
from tdm.introspect.profile.bins import from_counts
from tdm.introspect.profile.read import BINS, ColumnProfile, TableProfile
from tdm.introspect.tables import PER_PARENT
from tdm.introspect.values import number
from tdm.masking.pii.detect import detect_column
from tdm.masking.pii.names import INFO

RANGED = ("integer", "float", "decimal", "date", "timestamp")
_SAMPLE = 5000  # values handed to PII detection, in their proportions
_DAY = re.compile(r"^(\d{4}-\d\d-\d\d)(?![\d])(?!.*BC)")
_EPOCH = dt.datetime(1970, 1, 1)
# keys of a ranged entry that a histogram replaces
_WORD = 5.5  # characters of an average word in the en_US word list sentences draw from
_RANGE_KEYS = ("min", "max", "start", "end", "distribution", "mean", "std", "sigma", "lam", "p")


def follow(
    table: dict,
    notes: dict[str, list[str]],
    prof: TableProfile,
    parent_rows: int | None,
    hints: dict[str, ColumnHint],
    k: int,
) -> None:
    """Make one spec table follow its profile (rows, null ratios, values, ranges), in place."""
    rows = table["rows"]
    if isinstance(rows, int) and prof.rows:
        table["rows"] = prof.rows
    elif _guessed_per_parent(rows) and parent_rows and prof.children:
        table["rows"], note = _per_parent(rows["per"], prof, parent_rows, k)
        notes.setdefault("", []).append(note)
    for name, cp in prof.columns.items():
        entry = table["columns"][name]
        said = []
        if "null_ratio" in entry and prof.rows:
            rate = cp.nulls / prof.rows
            if rate:
                entry["null_ratio"] = max(0.001, round(rate, 3))
            else:
                del entry["null_ratio"]
            said.append(f"{100 * rate:.1f}% null")
        personal = _personal(name, entry, cp)
        if personal:
            said.append(f"looks like {personal}: no value copied")
        elif cp.values is not None:
            chosen = _choice(entry, cp.values, k)
            rare = sum(1 for _, n in cp.values if n < k)
            said.append(f"{len(cp.values)} values")
            if rare:
                said.append(f"{rare} held by fewer than {k} rows left out")
            if chosen:
                table["columns"][name] = entry = chosen
                notes.pop(name, None)  # what introspect guessed no longer applies
            else:
                said.append(f"fewer than 2 held by {k} rows or more: none copied")
        ranged = not personal and entry.get("generator") in RANGED and cp.low is not None
        if ranged and _histogram(entry, cp, hints.get(name)):
            assert cp.weights is not None
            said.append(f"histogram of {len(cp.weights)} bins, each held by at least {k} rows")
        elif ranged and _within(entry, cp, hints.get(name)):
            said.append(f"range of the values at least {k} rows reach")
        if cp.lengths is not None and entry.get("generator") != "choice":
            edges, held = cp.lengths
            said.append(
                f"lengths {int(edges[0])}-{int(edges[-1]) - 1} characters in {len(held)} "
                f"buckets of at least {k} rows"
            )
            if _lengths(entry, edges, held):
                said[-1] += f" ({entry['generator']} follows them)"
        if said:
            notes.setdefault(name, []).append("profiled: " + ", ".join(said))


def _per_parent(parent: str, prof: TableProfile, parent_rows: int, k: int) -> tuple[dict, str]:
    """Rows per parent row: the source's counts as a histogram (tdm.core.histogram.from_counts,
    the k rule), or -- with too few parents for 2 bins -- the source's mean under poisson
    (variance = mean) or geometric (variance = mean * (1 + mean)), whichever variance is nearer
    the source's by ratio, i.e. geometric above mean * sqrt(1 + mean)."""
    mean = prof.children / parent_rows
    variance = max(0.0, prof.children_sq / parent_rows - mean * mean)
    said = f"profiled: {mean:.2f} rows per {parent} row on average (variance {variance:.2f})"
    childless = max(0, parent_rows - sum(p for _, p in prof.per_parent))
    counts = np.array([childless] + [p for _, p in prof.per_parent], dtype=np.int64)
    values = np.array([0] + [n for n, _ in prof.per_parent], dtype=np.int64)
    found = from_counts(values, counts, k, BINS)
    if found is not None:
        edges, held = found
        rows = {"per": parent, "distribution": "histogram"}
        rows.update(edges=[int(e) for e in edges], weights=held)
        return rows, (
            f"{said}; histogram of {len(held)} bins, each held by at least {k} {parent} rows"
        )
    if variance > mean * math.sqrt(1 + mean):
        p = round(1 / (1 + mean), 4)
        return {"per": parent, "distribution": "geometric", "p": p}, f"{said}; geometric fits"
    lam = max(0.01, round(mean, 2))
    return {"per": parent, "distribution": "poisson", "lam": lam}, f"{said}; poisson fits"


def _guessed_per_parent(rows: Any) -> bool:
    """The count per parent introspect guesses (not one-to-one ones, which the keys fix)."""
    return isinstance(rows, dict) and rows == {"per": rows.get("per"), **PER_PARENT}


def _personal(name: str, entry: dict, cp: ColumnProfile) -> str | None:
    """What the column looks like ('a last name') when PII detection finds anything in its name
    or its counted values, at any confidence; None when nothing."""
    kind = parse_type(entry["type"])
    sample = None
    if cp.values and kind.kind == "string":
        total = sum(n for _, n in cp.values)
        reps = [max(1, n * _SAMPLE // total) for _, n in cp.values]
        values = pa.array([v for v, _ in cp.values], pa.string())
        sample = values.take(pa.array(np.repeat(np.arange(len(reps)), reps)))
    found = detect_column(name, kind, sample)
    return INFO[found[0].category][0] if found else None


def _value(text: str, kind: str) -> Any:
    """A counted value as the spec writes it; None when it cannot be written (NaN, Infinity)."""
    if kind == "string":
        return text
    if kind == "bool":
        return text == "true"
    try:
        d = Decimal(text)
    except InvalidOperation:
        return None
    return number(d) if d.is_finite() else None


def _choice(entry: dict, counted: list[tuple[str, int]], k: int) -> dict | None:
    """The entry as a weighted choice of the values held by at least k rows (None: fewer than
    two such values)."""
    kind = parse_type(entry["type"]).kind
    kept = [(_value(v, kind), n) for v, n in counted if n >= k]
    kept = [(v, n) for v, n in kept if v is not None]
    if len(kept) < 2:
        return None
    out = {key: entry[key] for key in ("type", "sql_type") if key in entry}
    out.update(generator="choice", values=[v for v, _ in kept], weights=[n for _, n in kept])
    out.update({key: entry[key] for key in ("null_ratio", "description") if key in entry})
    return out


def _within(entry: dict, cp: ColumnProfile, hint: ColumnHint | None) -> bool:
    """Give a min/max (start/end) entry the profile's bounds where they lie inside what the
    column's CHECKs allow (a NOT VALID check may be broken by old rows); False: left as it was."""
    assert cp.low is not None and cp.high is not None
    allow: tuple[Any, Any, bool, bool] = (None, None, False, False)
    if entry["generator"] in ("date", "timestamp"):
        days = [_DAY.match(v) for v in (cp.low, cp.high)]
        if not (days[0] and days[1]):
            return False  # infinity, BC or year 10000+: keep the guess
        lo, hi = days[0].group(1), days[1].group(1)
        if hint is not None:
            allow = _days(hint)
        keys = ("start", "end")
    else:
        lo, hi = _value(cp.low, "decimal"), _value(cp.high, "decimal")
        if lo is None or hi is None:
            return False
        if hint is not None:
            allow = (hint.min, hint.max, hint.min_exclusive, hint.max_exclusive)
        keys = ("min", "max")
    least, most, low_open, high_open = allow
    if least is not None and (lo < least or (low_open and lo == least)):
        lo = entry[keys[0]]
    if most is not None and (hi > most or (high_open and hi == most)):
        hi = entry[keys[1]]
    if lo > hi:
        return False
    entry[keys[0]], entry[keys[1]] = lo, hi
    return True


def _days(hint: ColumnHint) -> tuple[Any, Any, bool, bool]:
    day = [None if b is None else str(b)[:10] for b in (hint.min, hint.max)]
    return day[0], day[1], hint.min_exclusive, hint.max_exclusive


def _histogram(entry: dict, cp: ColumnProfile, hint: ColumnHint | None) -> bool:
    """Give a ranged entry the profile's histogram where every value it draws lies inside what
    the column's CHECKs allow; False: left to `_within`."""
    if cp.edges is None or cp.weights is None:
        return False
    gen = entry["generator"]
    whole = gen in ("integer", "date", "timestamp")
    unit = {"date": 86_400, "timestamp": 1}.get(gen)
    scale = parse_type(entry["type"]).scale if gen == "decimal" else None
    step = 1.0 if whole else 10.0**-scale if scale is not None else 0.0
    found = _inside(list(cp.edges), hint, unit, step) if hint is not None else list(cp.edges)
    if found is None:
        return False
    try:
        if unit is None:
            edges: list[Any] = [int(e) if whole else e for e in found]
        else:
            edges = [_iso(int(e) * unit) for e in found]
    except (OverflowError, ValueError):
        return False  # beyond the years 1-9999
    for key in _RANGE_KEYS:
        entry.pop(key, None)
    entry.update(distribution="histogram", edges=edges, weights=list(cp.weights))
    return True


def _inside(
    edges: list[float], hint: ColumnHint, unit: int | None, step: float
) -> list[float] | None:
    """The edges with the outer ones moved inside what the CHECK allows (a source's rounded
    edge may pass a bound: `x > 0` and an edge rounded down to 0); None when the first or last
    bin would vanish. Values drawn are edges[0] .. edges[-1] - step (whole numbers, decimals)."""
    least, most = (_on_axis(b, unit) for b in (hint.min, hint.max))
    if least is not None and (edges[0] < least or (hint.min_exclusive and edges[0] == least)):
        if hint.min_exclusive and not step:
            return None  # a float bin cannot start just above a bound
        edges[0] = least + step if hint.min_exclusive else least
    if most is not None and edges[-1] - step > most - (step if hint.max_exclusive else 0):
        edges[-1] = most + (0 if hint.max_exclusive else step)
    return edges if all(a < b for a, b in itertools.pairwise(edges)) else None


def _on_axis(bound: Any, unit: int | None) -> float | None:
    """A CHECK bound on the histogram's axis: numbers as they are, dates and timestamps in days
    (unit 86400) or seconds (unit 1) since 1970-01-01 UTC."""
    if bound is None:
        return None
    if unit is None:
        return float(bound)
    if isinstance(bound, dt.datetime):
        naive = bound.astimezone(dt.UTC).replace(tzinfo=None) if bound.tzinfo else bound
        return (naive - _EPOCH).total_seconds() / unit
    if isinstance(bound, dt.date):
        return (bound - _EPOCH.date()).days * 86_400 / unit
    return None


def _iso(seconds: int) -> str:
    """Seconds since 1970 UTC as the spec writes an edge: a date at midnight, else a timestamp."""
    when = _EPOCH + dt.timedelta(seconds=seconds)
    return when.date().isoformat() if seconds % 86_400 == 0 else when.isoformat()


def _lengths(entry: dict, edges: list[float], held: list[int]) -> bool:
    """Make a `sentence` follow a length histogram through its word counts (a sentence of n
    words is about n * (word + 1) characters), or a `text` its range (sentences of ~8 words,
    cut at the last length); False for other generators."""
    per_word = _WORD + 1
    low, high = edges[0], edges[-1] - 1
    if entry["generator"] == "sentence":
        lo = min(200, max(1, round(low / per_word)))
        hi = min(200, max(lo, round(high / per_word)))
        # the share of lengths nearest each word count, from the piecewise-uniform histogram
        cum = np.concatenate([[0.0], np.cumsum(held)])
        cuts = (np.arange(lo, hi + 2) - 0.5) * per_word
        cuts[0], cuts[-1] = -np.inf, np.inf
        share = np.diff(np.interp(cuts, edges, cum))
        weights = [int(x) for x in np.rint(share)]
        if sum(weights) <= 0:
            return False
        entry.update(min_words=lo, max_words=hi)
        entry.pop("weights", None)
        if hi > lo:
            entry["weights"] = weights
        return True
    if entry["generator"] == "text":
        sentence = 8 * per_word + 1
        lo = min(50, max(1, round(low / sentence)))
        entry.update(min_sentences=lo, max_sentences=min(50, max(lo, round(high / sentence))))
        entry["max_chars"] = max(1, int(high))
        return True
    return False
