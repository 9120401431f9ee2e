"""What a live table's partitioning and exclusion constraints ask of its columns: values of the
partition key that land in an existing partition, range columns kept disjoint."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from tdm.introspect.checks import identifier, quote
from tdm.targets.postgres.catalog import PgTable


def exclusion_ranges(t: PgTable) -> set[str]:
    """Range columns compared with && in an exclusion constraint: made disjoint."""
    out = set()
    for _, definition in t.exclusions:
        for col in re.findall(r'"?(\w+)"?\s+WITH\s+&&', definition):
            out.add(col)
    return out


_RANGE = re.compile(r"FOR VALUES FROM \((.+?)\) TO \((.+?)\)$")
_LIST = re.compile(r"FOR VALUES IN \((.+)\)$")


def partition_bounds(
    t: PgTable, notes: dict[str, list[str]]
) -> tuple[dict[str, dict[str, Any]], dict]:
    """Values of a partition key column that land in an existing partition (when there is no
    DEFAULT partition): a list's values; a range's overall span, plus a check that rows fall
    inside one partition (so rows in a gap between partitions are drawn again)."""
    if not t.partitioned or not t.partition_key or any(b == "DEFAULT" for _, b in t.partitions):
        return {}, {}
    m = re.fullmatch(r'(RANGE|LIST) \("?(\w+)"?\)', t.partition_key)
    if not m:
        return {}, {}
    method, column = m.groups()
    literal = re.compile(r"'((?:[^']|'')*)'|(-?\d+(?:\.\d+)?)")

    def value(found: tuple[str, str]) -> Any:
        text, number = found
        if not number:
            return text.replace("''", "'")
        return float(number) if "." in number else int(number)

    if method == "LIST":
        values = []
        for _, bound in t.partitions:
            found = _LIST.search(bound)
            if found:
                values += [value(v) for v in literal.findall(found[1])]
        return ({column: {"generator": "choice", "values": values}} if values else {}), {}
    spans = []
    for _, bound in t.partitions:
        found = _RANGE.search(bound)
        if found and "MINVALUE" not in bound and "MAXVALUE" not in bound:
            spans.append((value(literal.findall(found[1])[0]), value(literal.findall(found[2])[0])))
    if not spans:
        return {}, {}
    lo, hi = min(a for a, _ in spans), max(b for _, b in spans)
    notes[column] = [f"within the partitions of {t.name} ({lo} .. {hi})"]
    quoted = quote(column)

    def sql(v: Any) -> str:
        return "'" + v.replace("'", "''") + "'" if isinstance(v, str) else str(v)

    inside = " OR ".join(f"({quoted} >= {sql(a)} AND {quoted} < {sql(b)})" for a, b in spans)
    check = {identifier(f"{t.name}_partitions"): inside}
    if isinstance(lo, str) and re.fullmatch(r"\d{4}-\d\d-\d\d.*", lo):
        return {column: {"start": lo[:10], "end": _day_before(hi[:10])}}, check
    if isinstance(lo, str):
        return {}, check
    return {column: {"min": lo, "max": hi - 1}}, check


def _day_before(iso: str) -> str:
    return (dt.date.fromisoformat(iso) - dt.timedelta(days=1)).isoformat()
