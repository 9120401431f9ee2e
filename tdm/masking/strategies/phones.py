"""The `phone` mask's per-row work (the mask: tdm.masking.strategies.contact; the numbering
rules: phone_rules; the compiled loops: phone_rows, phone_kernels).

Each row's digits are read once (`scan`) into one flat array; `classify` then gives each row
(with a calling code or a region: its *plan*) its class and its place in the class's domain.
With L the valid national numbers of the row's national length, parse's reading of the number
(the national prefix it strips, national_prefix) gives the class:

- VALID, k = 0: the number is valid as it is; VALID, k > 0: parse strips a national prefix of
  k digits ("+44 (0)20...") and the rest is valid (or a transform rule rewrites the prefix into
  digits x and x + the rest is valid). Value: the rest's rank among the valid numbers (below the
  kept digits and x), times 10**e, plus the e extension digits; domain: their count times 10**e.
- OTHER: not VALID and not in L: value, its rank among the strings of its length outside L
  (below the kept digits), with its extension digits; domain: their count.
- DIGITS: in L but read with a national prefix that leaves an invalid number: its rank in L.
- RAW: kept digits past the number: the number the digits after the kept ones spell, in
  10**their count.

`write` puts a permuted value back as digits (unranked for VALID and OTHER rows).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tdm.masking.strategies import phone_rules
from tdm.masking.strategies.phone_kernels import (
    DIGITS,
    OTHER,
    RAW,
    VALID,
    classify_rows,
    regex_rows,
    write_rows,
)
from tdm.masking.strategies.phone_rows import MAX_FREE, Scan, groups, plan_rows, put_digits, scan
from tdm.masking.strategies.phone_rules import MAX_LENGTH, MAX_PREFIXES, Rules

__all__ = ["DIGITS", "MAX_FREE", "OTHER", "RAW", "VALID", "groups", "plan_rows", "scan"]
ARROW_ROWS = 4096  # national prefixes read with RE2 over arrays (with Python's re below)
# fewer valid numbers of a length than this: masked as other numbers (format kept, not valid),
# for a keyed permutation of them would need 10**6 / MIN_CLASS rounds of FF1 a number or more
MIN_CLASS = 10_000
_BANKS: dict[tuple, Bank] = {}  # by plans and lengths: the same for every batch of a column


@dataclass
class Bank:
    """The automata of a batch's plans in flat arrays (state 0 rejects), for the kernels."""

    next: np.ndarray
    count: np.ndarray
    below: np.ndarray
    full: np.ndarray  # every completion of the state is accepted
    valid: np.ndarray  # (plans, MAX_LENGTH + 1): start state of the valid numbers of a length
    general: np.ndarray  # the same for the parsing region's general pattern
    possible: np.ndarray  # (plans, 64): parse keeps a stripped number of that length
    prefixes: np.ndarray  # (plans, MAX_PREFIXES, 9): length, then the digits
    regex: np.ndarray  # (plans,): the national prefix is read with a regex
    starts: np.ndarray  # (plans, 100): a national prefix can start with digits c1 c2 (10 c1 + c2)

    @classmethod
    def build(cls, plans: list[Rules], plan: np.ndarray, lengths: np.ndarray) -> Bank:
        """For rows of plan[i] whose numbers (after the calling code) have lengths[i] digits."""
        used = np.bincount(plan[plan >= 0] * 64 + np.clip(lengths[plan >= 0], 0, 63))
        needs = tuple(
            (
                rules,
                tuple(phone_rules.lengths_used(rules, np.flatnonzero(used[i * 64 : i * 64 + 64]))),
            )
            for i, rules in enumerate(plans)
        )
        if needs not in _BANKS:
            if len(_BANKS) > 16:
                _BANKS.clear()
            _BANKS[needs] = cls._build(needs)
        return _BANKS[needs]

    @classmethod
    def _build(cls, needs: tuple[tuple[Rules, tuple[int, ...]], ...]) -> Bank:
        plans = [rules for rules, _ in needs]
        p = len(plans)
        tables = (
            [np.zeros((1, 10), np.int32)],
            [np.zeros(1, np.int64)],
            [np.zeros((1, 11), np.int64)],
            [np.zeros(1, bool)],
        )
        valid = np.zeros((p, MAX_LENGTH + 1), dtype=np.int32)
        general = np.zeros_like(valid)
        size = 1
        for i, (rules, lengths) in enumerate(needs):
            for n in lengths:
                pairs = []
                if phone_rules.valid(rules.code, n).size >= MIN_CLASS:
                    pairs.append((valid, phone_rules.valid(rules.code, n)))
                if rules.prefix_pattern:
                    pairs.append((general, phone_rules.general(rules.general_pattern, n)))
                for starts, lang in pairs:
                    tables[0].append(lang.next + size)
                    tables[1].append(lang.count)
                    tables[2].append(lang.below)
                    tables[3].append(lang.full)
                    starts[i, n] = size + 1
                    size += len(lang.count)
        prefixes = np.zeros((p, MAX_PREFIXES, 9), dtype=np.uint8)
        for i, rules in enumerate(plans):
            for j, word in enumerate(rules.prefixes or ()):
                prefixes[i, j, 0] = len(word)
                prefixes[i, j, 1 : len(word) + 1] = [int(c) for c in word]
        return cls(
            np.concatenate(tables[0]),
            np.concatenate(tables[1]),
            np.concatenate(tables[2]),
            np.concatenate(tables[3]),
            valid,
            general,
            np.array([[r.possible(n) for n in range(64)] for r in plans], dtype=np.bool_),
            prefixes,
            np.array([r.prefixes is None and bool(r.prefix_pattern) for r in plans]),
            np.array([[r.starts >> j & 1 for j in range(100)] for r in plans], dtype=bool),
        )

    def kernel_args(self) -> tuple:
        return (self.next, self.count, self.below, self.full, self.valid, self.general)


class Batch:
    """One batch's rows, plans and automata: classify rows, write permuted values back."""

    def __init__(self, s: Scan, head: np.ndarray, code: np.ndarray, plan: np.ndarray, plans):
        self.s, self.head, self.code, self.plan, self.plans = s, head, code, plan, plans
        self.bank = Bank.build(plans, plan, s.main - code)
        n = len(plan)
        self.kind = np.zeros(n, dtype=np.int8)
        self.k = np.zeros(n, dtype=np.int64)
        self.state0 = np.zeros(n, dtype=np.int32)
        self.value = np.zeros(n, dtype=np.uint64)
        self.domain = np.zeros(n, dtype=np.uint64)
        self.forced = np.empty(n, dtype=np.int64)
        self.virtual = np.zeros((n, 2), dtype=np.int64)
        self.key = np.zeros(n, dtype=np.int64)

    def classify(self, rows: np.ndarray) -> None:
        if self.bank.regex.any():  # forced is read only for these plans
            s, b = self.s, self.bank
            args = (s.digits, s.starts, s.main, self.code, self.plan, rows, b.regex, b.starts)
            regex = regex_rows(*args, self.forced)
            if len(regex):
                self._regex(regex, self.forced)
        b = self.bank
        out = (self.kind, self.k, self.state0, self.value, self.domain, self.key)
        args = (self.s.digits, self.s.starts, self.s.main, self.head, self.code, self.plan)
        strip = (b.possible, b.prefixes, b.regex)
        forced = (self.forced, self.virtual)
        classify_rows(*args, forced, rows, b.kernel_args(), strip, out)

    def write(self, rows: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Permuted values as digits; the rows that may have changed class (to classify)."""
        s, b = self.s, self.bank
        args = (s.digits, s.starts, s.main, self.head, self.code, self.plan, rows, self.kind)
        automata = (b.next, b.count, b.below, b.full, b.general, b.starts, b.regex)
        return write_rows(*args, self.k, self.state0, values, automata)

    def put(self, data: np.ndarray, offsets: np.ndarray, rows: np.ndarray) -> None:
        put_digits(data, offsets.astype(np.int64), self.s.digits, self.s.starts, rows)

    def _regex(self, rows: np.ndarray, forced: np.ndarray) -> None:
        """forced[i] for rows whose prefix is read with a regex (phone_kernels.classify_rows);
        where a transform rule writes digits x before number[k:], forced[i] = -5, virtual[i] =
        k and the state after x (0: no valid number starts so)."""
        s, b = self.s, self.bank
        for p in np.flatnonzero(np.bincount(self.plan[rows])).tolist():
            at = rows[self.plan[rows] == p]
            ks, inserted = national_prefix(self.plans[p], _strings(s, at, self.code, s.main))
            forced[at] = ks
            for r in np.flatnonzero([len(x) > 0 for x in inserted]).tolist():
                i, x = at[r], inserted[r]
                n = len(x) + s.main[i] - self.code[i] - ks[r]
                state = b.valid[p, n] if n <= MAX_LENGTH else 0
                for c in x:
                    state = b.next[state, ord(c) - 48]
                forced[i], self.virtual[i] = -5, (ks[r], state)


def _strings(s: Scan, rows: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> list[str]:
    """Each row's digits [lo, hi) as a string."""
    spans = [(s.starts[i] + lo[i], s.starts[i] + hi[i]) for i in rows.tolist()]
    if len(spans) < 1024:
        return [(s.digits[a:b] + 48).tobytes().decode() for a, b in spans]
    text = (s.digits + 48).tobytes().decode()
    return [text[a:b] for a, b in spans]


def _matches(values: pa.Array, pattern: str) -> np.ndarray:
    return pc.fill_null(pc.match_substring_regex(values, pattern), False).to_numpy(False)


def national_prefix(rules: Rules, numbers: list[str]) -> tuple[np.ndarray, list[str]]:
    """How parse reads each number (libphonenumber's _maybe_strip_national_prefix_and_carrier_code
    and the length test of parse): -1 where it strips no national prefix, else k and x such that
    the national number it reads is x + number[k:] (x = '' unless a transform rule rewrote the
    prefix: "011 15 2345-6789" is 9 11 2345-6789 in AR)."""
    if len(numbers) > ARROW_ROWS:
        return _national_prefix_arrow(rules, pa.array(numbers, pa.string()))
    prefix, general = re.compile(rules.prefix_pattern), re.compile(rules.general_pattern)
    ks, inserted = np.full(len(numbers), -1, dtype=np.int64), [""] * len(numbers)
    for at, number in enumerate(numbers):
        match = prefix.match(number)
        if not match:
            continue
        groups = match.groups()
        if rules.transform and groups and groups[-1] is not None:
            national = prefix.sub(rules.transform, number, 1)
        else:
            national = number[match.end() :]
        if general.fullmatch(number) and not general.fullmatch(national):
            continue
        if rules.possible(len(national)):
            ks[at], inserted[at] = _rewritten(number, national)
    return ks, inserted


def _rewritten(number: str, national: str) -> tuple[int, str]:
    """(k, x) with national = x + number[k:], number[k:] as long as can be."""
    if number.endswith(national):
        return len(number) - len(national), ""
    same, most = 0, min(len(number), len(national))  # the longest common suffix
    while same < most and number[-1 - same] == national[-1 - same]:
        same += 1
    return len(number) - same, national[: len(national) - same]


def _split(rules: Rules, numbers: list[str], nationals: list) -> tuple[np.ndarray, list[str]]:
    """(k, x) per number (see national_prefix) from the national number parse reads."""
    ks, inserted = np.full(len(numbers), -1, dtype=np.int64), [""] * len(numbers)
    for at, (number, national) in enumerate(zip(numbers, nationals, strict=True)):
        if national is not None and rules.possible(len(national)):
            ks[at], inserted[at] = _rewritten(number, national)
    return ks, inserted


def _national_prefix_arrow(rules: Rules, numbers: pa.Array) -> tuple[np.ndarray, list[str]]:
    """national_prefix with RE2 over whole arrays (many numbers)."""
    pattern = f"^(?:{rules.prefix_pattern})"
    at = np.flatnonzero(_matches(numbers, pattern))
    nationals: list[str | None] = [None] * len(numbers)
    if not len(at):
        return _split(rules, numbers.to_pylist(), nationals)
    sub = numbers.take(pa.array(at))

    def replace(by: str) -> pa.Array:
        return pc.replace_substring_regex(sub, pattern, by, max_replacements=1)

    stripped = replace("")
    group = rules.groups if rules.transform else 0
    if group:  # the rule applies where the pattern's last group took part
        transformed = pc.not_equal(replace(f"\\{group}"), stripped)
        stripped = pc.if_else(transformed, replace(rules.transform), stripped)
    general = f"^(?:{rules.general_pattern})$"
    use = ~(_matches(sub, general) & ~_matches(stripped, general))
    for t, national in zip(at.tolist(), stripped.to_pylist(), strict=True):
        nationals[t] = national
    for t in at[~use].tolist():
        nationals[t] = None
    return _split(rules, numbers.to_pylist(), nationals)


def classes(values: pa.Array, rules: Rules) -> np.ndarray:
    """Each number's class, kind * 16 + the length of its national prefix (-1 for null): with
    '+' and the calling code of `rules`, or national numbers of its region."""
    arr = values.cast(pa.string()) if values.type != pa.string() else values
    arr = arr if arr.offset == 0 else pa.concat_arrays([arr])
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[: len(arr) + 1]
    data = arr.buffers()[2]
    data = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    s = scan(data[offsets[0] : offsets[-1]], offsets)
    code = np.full(len(arr), 0 if rules.region else len(str(rules.code)), dtype=np.int64)
    plan = np.where(pc.is_valid(arr).to_numpy(zero_copy_only=False), 0, -1)
    b = Batch(s, code, code, plan, [rules])
    rows = np.flatnonzero(plan >= 0)
    b.classify(rows)
    out = np.full(len(arr), -1, dtype=np.int64)
    out[rows] = b.kind[rows].astype(np.int64) * 16 + b.k[rows]
    return out
