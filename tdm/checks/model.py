"""What generation can honour of a CHECK by construction: per-column hints and column pairs, and the
Collector that merges AND-ed conditions into them (the tightest bound wins)."""

from __future__ import annotations

from dataclasses import dataclass, field

from tdm.checks.terms import Bound, Value


@dataclass
class ColumnHint:
    """What one column's non-null values must satisfy.

    values: the allowed values; min / max: bounds (int, Decimal, float, date or datetime);
    regex: a PostgreSQL regular expression found in the value (anchored only if it says so);
    min_length / max_length: in characters; not_empty: the value has a character other than a
    space (`btrim(x) <> ''`); nullable_ok: the check read `x IS NULL OR ...`; not_null:
    `x IS NOT NULL`."""

    values: list[Value] | None = None
    min: Bound | None = None
    max: Bound | None = None
    min_exclusive: bool = False
    max_exclusive: bool = False
    regex: str | None = None
    case_insensitive: bool = False
    min_length: int | None = None
    max_length: int | None = None
    octets: tuple[int | None, int | None] = (None, None)  # octet_length bounds (bytea: exact)
    not_empty: bool = False
    nullable_ok: bool = False
    not_null: bool = False


@dataclass(frozen=True)
class Pair:
    """`left op right` between two columns of the same row; op is >, >=, <, <=, = or <>."""

    left: str
    op: str
    right: str


@dataclass
class Hints:
    """Every hint is implied by the check (a row that passes it satisfies them); `exact` when the
    hints imply the check too (a row satisfying them all passes it)."""

    per_column: dict[str, ColumnHint] = field(default_factory=dict)
    pairs: list[Pair] = field(default_factory=list)
    exact: bool = True


def same(a: Value, b: Value) -> bool:
    """Equal as SQL values: True is not 1, '1' is not 1."""
    kinds = (isinstance(a, bool), isinstance(a, str)) == (isinstance(b, bool), isinstance(b, str))
    return kinds and a == b


class Collector:
    """Hints from AND-ed conditions. Each method records one condition and says whether the hints
    now capture it whole (False leaves what is safe to keep)."""

    def __init__(self, value_column: str | None) -> None:
        self.value_column = value_column
        self.columns: dict[str, ColumnHint] = {}
        self.pairs: list[Pair] = []

    def col(self, name: str) -> ColumnHint:
        return self.columns.setdefault(name, ColumnHint())

    def hints(self, exact: bool) -> Hints:
        empty = ColumnHint()
        columns = {name: hint for name, hint in self.columns.items() if hint != empty}
        return Hints(per_column=columns, pairs=list(self.pairs), exact=exact)

    def values(self, name: str, values: list[Value]) -> bool:
        hint, unique = self.col(name), list[Value]()
        for value in values:
            if not any(same(value, seen) for seen in unique):
                unique.append(value)
        if hint.values is not None:  # AND of two lists: the values in both
            unique = [v for v in hint.values if any(same(v, w) for w in unique)]
        hint.values = unique
        return True

    def bound(self, name: str, value: Value | None, op: str) -> bool:
        """`name op value`, op one of >, >=, <, <=."""
        if value is None or isinstance(value, bool | str):
            return False
        hint, lower, exclusive = self.col(name), op in (">", ">="), op in (">", "<")
        current = hint.min if lower else hint.max
        try:
            if current is not None and value != current:
                if (value < current) if lower else (value > current):
                    return True  # looser than the bound there is
            elif current is not None:
                exclusive = exclusive or (hint.min_exclusive if lower else hint.max_exclusive)
        except TypeError:  # a date against a number: keep the first
            return False
        if lower:
            hint.min, hint.min_exclusive = value, exclusive
        else:
            hint.max, hint.max_exclusive = value, exclusive
        return True

    def lengths(self, name: str, low: int | None, high: int | None) -> None:
        hint = self.col(name)
        if low is not None:
            hint.min_length = low if hint.min_length is None else max(hint.min_length, low)
        if high is not None:
            hint.max_length = high if hint.max_length is None else min(hint.max_length, high)

    def not_empty(self, name: str) -> None:
        self.col(name).not_empty = True
        self.lengths(name, 1, None)

    def regex(self, name: str, pattern: str, case_insensitive: bool) -> bool:
        """One pattern per column: a second, different one is kept out (and not captured)."""
        hint = self.col(name)
        if hint.regex is None:
            hint.regex, hint.case_insensitive = pattern, case_insensitive
            return True
        return hint.regex == pattern and hint.case_insensitive == case_insensitive

    def pair(self, left: str, op: str, right: str) -> bool:
        if left == right:
            return False
        if Pair(left, op, right) not in self.pairs:
            self.pairs.append(Pair(left, op, right))
        return True

    def merge(self, other: Collector) -> bool:
        ok = True
        for name, h in other.columns.items():
            mine = self.col(name)
            if h.values is not None:
                self.values(name, h.values)
            if h.min is not None:
                ok = self.bound(name, h.min, ">" if h.min_exclusive else ">=") and ok
            if h.max is not None:
                ok = self.bound(name, h.max, "<" if h.max_exclusive else "<=") and ok
            if h.regex is not None:
                ok = self.regex(name, h.regex, h.case_insensitive) and ok
            self.lengths(name, h.min_length, h.max_length)
            mine.not_empty |= h.not_empty
            mine.not_null |= h.not_null
            mine.nullable_ok |= h.nullable_ok
        for pair in other.pairs:
            self.pair(pair.left, pair.op, pair.right)
        return ok

    def only(self, name: str) -> bool:
        """Whether these hints constrain `name` alone and are NULL when it is NULL, so that
        `name IS NULL OR <them>` passes exactly when they pass."""
        return (
            set(self.columns) <= {name}
            and not self.col(name).not_null
            and all(name in (p.left, p.right) for p in self.pairs)
        )

    def values_only(self) -> str | None:
        """The column, when these hints are a list of values for one column and nothing else."""
        if len(self.columns) != 1 or self.pairs:
            return None
        ((name, hint),) = self.columns.items()
        return name if hint.values is not None and hint == ColumnHint(hint.values) else None
