"""Reading a profile: SQL aggregates over every profiled table, in one read-only REPEATABLE READ
snapshot. No row travels to tdm: only counts, quantiles rounded to a grid, and at most
LOW_CARDINALITY counted values per column."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import psycopg
from psycopg import sql

from tdm.introspect.profile import bins

LOW_CARDINALITY = 50  # at most this many distinct values: the values are counted
BINS = 32  # quantile bins before tails and merging: uniform inside each, within ~1/BINS in KS
_SECOND_UNITS = (1, 60, 3600, 86_400, 864_000, 8_640_000, 86_400_000)  # s, min, h, d, 10 d, ...


@dataclass(frozen=True)
class Want:
    """What to read of one column: its values (a choice may take them), its range and histogram
    (`axis`: 'number', 'day' or 'second'; None: none), its lengths (free text)."""

    choice: bool = False
    axis: str | None = None
    resolution: float = 0.0  # the smallest step of its values: 1 for integers, days, seconds
    lengths: bool = False

    @property
    def whole(self) -> bool:
        return self.axis in ("day", "second") or self.resolution == 1


@dataclass
class ColumnProfile:
    nulls: int
    values: list[tuple[str, int]] | None = None  # low cardinality: (value as text, rows)
    low: str | None = None  # the k-th smallest value, as text
    high: str | None = None  # the k-th largest
    # piecewise uniform: edges on the column's axis (numbers, days or seconds since 1970 UTC)
    edges: list[float] | None = None
    weights: list[int] | None = None
    lengths: tuple[list[float], list[int]] | None = None  # text: characters, as edges/weights


@dataclass
class TableProfile:
    rows: int
    children: int = 0  # rows whose per-parent foreign key is set
    children_sq: int = 0  # the sum over parents of (their children)**2: the spread
    # (children, parents with that many) for every count above 0
    per_parent: list[tuple[int, int]] = field(default_factory=list)
    columns: dict[str, ColumnProfile] = field(default_factory=dict)


def read_profiles(
    params: dict[str, Any],
    schema: str,
    wanted: dict[str, dict[str, Want]],
    per: dict[str, list[str]],
    k: int,
) -> dict[str, TableProfile]:
    """Every table's profile, all in one read-only REPEATABLE READ transaction."""
    out = {}
    with psycopg.connect(**params) as conn:
        conn.read_only = True
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with conn.transaction():
            conn.execute("SET LOCAL TIME ZONE 'UTC'")  # timestamptz bounds as UTC days
            conn.execute("SET LOCAL DateStyle = 'ISO, YMD'")
            for t, columns in wanted.items():
                out[t] = _profile(conn, sql.Identifier(schema, t), columns, per[t], k)
    return out


def _profile(
    conn: psycopg.Connection,
    table: sql.Identifier,
    columns: dict[str, Want],
    per: list[str],
    k: int,
) -> TableProfile:
    ident = {c: sql.Identifier(c) for c in columns}
    choosable = [c for c, want in columns.items() if want.choice or want.lengths]
    parts = [sql.SQL("count(*)")]
    parts += [sql.SQL("count({})").format(ident[c]) for c in columns]
    parts += [sql.SQL("count(DISTINCT {})").format(ident[c]) for c in choosable]
    keyed = sql.SQL(" AND ").join(sql.SQL("{} IS NOT NULL").format(sql.Identifier(c)) for c in per)
    if per:
        parts.append(sql.SQL("count(*) FILTER (WHERE {})").format(keyed))
    row = conn.execute(
        sql.SQL("SELECT {} FROM {}").format(sql.SQL(", ").join(parts), table)
    ).fetchone()
    assert row is not None
    rows, filled = row[0], dict(zip(columns, row[1 : 1 + len(columns)], strict=True))
    distinct = dict(zip(choosable, row[1 + len(columns) :], strict=False))
    found = TableProfile(rows, row[-1] if per else 0)
    if per and found.children:
        _children(conn, table, per, keyed, found)
    for c, want in columns.items():
        cp = found.columns[c] = ColumnProfile(rows - filled[c])
        counted = c in distinct and 0 < distinct[c] <= LOW_CARDINALITY
        if counted and want.choice:
            cp.values = [
                (v, n)
                for v, n in conn.execute(
                    sql.SQL(
                        "SELECT {c}::text, count(*) FROM {t} WHERE {c} IS NOT NULL "
                        "GROUP BY {c} ORDER BY count(*) DESC, {c}"
                    ).format(c=ident[c], t=table)
                ).fetchall()
            ]
        if want.axis and filled[c] >= k:
            cp.low, cp.high = _bounds(conn, table, ident[c], k)
            if filled[c] >= 2 * k:
                found_bins = _histogram(conn, table, ident[c], want, k)
                if found_bins:
                    cp.edges, cp.weights = found_bins
        if want.lengths and not (counted and want.choice) and filled[c] >= 2 * k:
            length = Want(axis="number", resolution=1.0)
            cp.lengths = _histogram(conn, table, ident[c], length, k, "char_length({c})")
    return found


def _children(
    conn: psycopg.Connection,
    table: sql.Identifier,
    per: list[str],
    keyed: sql.Composable,
    found: TableProfile,
) -> None:
    """How many parents have each number of children (above 0), and the sum of squares."""
    keys = sql.SQL(", ").join(sql.Identifier(c) for c in per)
    query = sql.SQL(
        "SELECT n, count(*) FROM (SELECT count(*) AS n FROM {t} WHERE {k} GROUP BY {g}) s "
        "GROUP BY n ORDER BY n"
    ).format(t=table, k=keyed, g=keys)
    found.per_parent = [(int(n), int(p)) for n, p in conn.execute(query).fetchall()]
    found.children_sq = sum(n * n * p for n, p in found.per_parent)


def _bounds(
    conn: psycopg.Connection, table: sql.Identifier, c: sql.Identifier, k: int
) -> tuple[str, str]:
    # ordered inside, cast outside: ORDER BY would otherwise sort the text
    nth = sql.SQL(
        "SELECT v::text FROM (SELECT {c} AS v FROM {t} WHERE {c} IS NOT NULL "
        "ORDER BY {c} {o} OFFSET %s LIMIT 1) s"
    )
    bounds = sql.SQL("SELECT ({}), ({})").format(
        nth.format(c=c, t=table, o=sql.SQL("ASC")),
        nth.format(c=c, t=table, o=sql.SQL("DESC")),
    )
    row = conn.execute(bounds, [k - 1, k - 1]).fetchone()
    assert row is not None
    return row[0], row[1]


_AXES = {
    "number": "{c}::float8",
    "day": "({c} - date '1970-01-01')::float8",
    "second": "extract(epoch FROM {c})::float8",
}


def _histogram(
    conn: psycopg.Connection,
    table: sql.Identifier,
    c: sql.Identifier,
    want: Want,
    k: int,
    expr: str | None = None,
) -> tuple[list[float], list[int]] | None:
    """Edges and row counts of a k-safe histogram of the column's finite values (see
    tdm.core.histogram.rounded_edges and merge_small); None when fewer than 2 bins remain."""
    assert want.axis is not None
    x = sql.SQL(expr or _AXES[want.axis]).format(c=c)
    finite = sql.SQL("isfinite({})").format(c) if want.axis != "number" else sql.SQL("true")
    values = sql.SQL(
        "SELECT x FROM (SELECT {x} AS x FROM {t} WHERE {c} IS NOT NULL AND {f}) s "
        "WHERE x > '-Infinity'::float8 AND x < 'Infinity'::float8"
    ).format(x=x, t=table, c=c, f=finite)
    n = conn.execute(sql.SQL("SELECT count(*) FROM ({}) v").format(values)).fetchone()
    if n is None or n[0] < 2 * k:
        return None
    probs = bins.probabilities(n[0], k, BINS)
    nth = sql.SQL("(SELECT x FROM ({v}) v ORDER BY x {o} OFFSET %s LIMIT 1)")
    query = sql.SQL(
        "SELECT {lo}, {hi}, (SELECT percentile_disc(%s::float8[]) WITHIN GROUP (ORDER BY x) "
        "FROM ({v}) v)"
    ).format(
        lo=nth.format(v=values, o=sql.SQL("ASC")),
        hi=nth.format(v=values, o=sql.SQL("DESC")),
        v=values,
    )
    row = conn.execute(query, [k - 1, k - 1, probs or [0.5]]).fetchone()
    assert row is not None
    low, high, quantiles = row
    if not low < high:
        return None
    units = _SECOND_UNITS if want.axis == "second" else None
    buckets = sql.SQL(
        "SELECT width_bucket(x, %s::float8[]), count(*) FROM ({}) v GROUP BY 1"
    ).format(values)
    edges, keep, grid = bins.edges(quantiles, low, high, want.resolution, want.whole, units)

    def rare(cells: list[tuple[float, float, float]]) -> set[float]:
        if not cells:
            return set()
        # rows per interval between the cells' bounds, in one pass; a cell sums its intervals
        bounds = sorted({b for _, lo, hi in cells for b in (lo, hi)})
        per = np.zeros(len(bounds) + 1, dtype=np.int64)
        for bucket, count in conn.execute(buckets, [bounds]).fetchall():
            per[bucket] += count
        cum = np.cumsum(per)
        at = {b: i for i, b in enumerate(bounds)}
        return {e for e, lo, hi in cells if 0 < cum[at[hi]] - cum[at[lo]] < k}

    edges = bins.avoid_rare(edges, grid, rare, units)
    if len(edges) < 3:
        return None
    counted = conn.execute(buckets, [edges[1:-1]]).fetchall()
    held = np.zeros(len(edges) - 1, dtype=np.int64)
    for bucket, count in counted:
        held[bucket] += count
    edges, weights = bins.merge_small(edges, held.tolist(), k, keep)
    return (edges, weights) if len(weights) > 1 else None
