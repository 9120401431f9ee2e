"""Reading phone numbers for the `phone` mask (tdm.masking.strategies.contact) as compiled loops
over all rows: each row's digits into one flat array (`scan`), its calling code and plan (the
numbering rules it is read by: tdm.masking.strategies.phone_rules), the rows grouped by key, and
digits written back into their strings."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from numba import njit

from tdm.masking.strategies import phone_rules
from tdm.masking.strategies.phone_rules import Rules

MAX_FREE = 18  # digits a row may permute here (more: tdm.masking.strategies.fpe)
# ITU-T E.164 country calling codes of one and two digits; all others have three.
ONE_DIGIT_CODES = (1, 7)
_TWO = "20 27 30-34 36 39 40 41 43-49 51-58 60-66 81 82 84 86 90-95 98"
TWO_DIGIT_CODES = tuple(
    n for part in _TWO.split(" ") for n in range(int(part[:2]), int(part[-2:]) + 1)
)
_CODE = np.full(100, 3, dtype=np.int64)  # calling code digits, by the first two digits
for _c in ONE_DIGIT_CODES:
    _CODE[_c * 10 : _c * 10 + 10] = 1
_CODE[list(TWO_DIGIT_CODES)] = 2


@njit(cache=True)
def _scan(data: np.ndarray, offsets: np.ndarray):
    """Per row: its digits (all, as 0-9, into one array), how many of them come before an
    extension (a letter after a digit), whether a '+' precedes them, its first 3 digits."""
    n = offsets.shape[0] - 1
    digits = np.empty(data.shape[0], dtype=np.uint8)
    starts = np.zeros(n + 1, dtype=np.int64)
    main = np.zeros(n, dtype=np.int64)
    first = np.full((n, 3), -1, dtype=np.int8)
    plus = np.zeros(n, dtype=np.bool_)
    at = 0
    for i in range(n):
        count, extension = 0, False
        for p in range(offsets[i], offsets[i + 1]):
            c = data[p]
            if 48 <= c <= 57:
                if count < 3:
                    first[i, count] = c - 48
                digits[at] = c - 48
                at += 1
                count += 1
                if not extension:
                    main[i] = count
            elif c == 43 and count == 0:
                plus[i] = True
            elif count and (65 <= c <= 90 or 97 <= c <= 122):
                extension = True
        starts[i + 1] = at
    return digits[:at], starts, main, plus, first


@dataclass
class Scan:
    digits: np.ndarray  # uint8 0-9, all rows' digits
    starts: np.ndarray  # (rows + 1,) int64
    main: np.ndarray  # digits before an extension
    plus: np.ndarray
    first: np.ndarray  # (rows, 3), -1 past the end

    def __post_init__(self) -> None:
        self.total = np.diff(self.starts)


def scan(data: np.ndarray, offsets: np.ndarray) -> Scan:
    return Scan(*_scan(data, (offsets - offsets[0]).astype(np.int64)))


@njit(cache=True)
def _calling_codes(first, plus, total, integers: bool, region: bool, code_length):
    """Per row: whether it is read as E.164 (a '+', or an integer column without a region),
    its calling code's digits (E.164: 1, 2 or 3 by the first two digits) and the code (-1 if
    the row has fewer digits)."""
    n = first.shape[0]
    size = np.empty(n, dtype=np.int64)
    codes = np.full(n, -1, dtype=np.int64)
    e164 = np.empty(n, dtype=np.bool_)
    for i in range(n):
        size[i] = code_length[max(first[i, 0], 0) * 10 + max(first[i, 1], 0)]
        if integers and not (plus[i] or total[i] - size[i] >= 6):
            size[i] = 1  # too short for its calling code and 6 digits: the first digit alone
        e164[i] = plus[i] or (integers and not region)
        if e164[i] and first[i, size[i] - 1] >= 0:
            code = 0
            for j in range(size[i]):
                code = code * 10 + first[i, j]
            codes[i] = code
    return size, codes, e164


@njit(cache=True)
def _assign(size, codes, e164, total, present, plan_of_code, region_plan, keep, integers):
    """Per row: its plan (-1: none), kept digits and calling code digits (see Phone.mask)."""
    n = size.shape[0]
    plan = np.full(n, -1, dtype=np.int64)
    head = np.empty(n, dtype=np.int64)
    code = np.zeros(n, dtype=np.int64)
    for i in range(n):
        if e164[i]:
            p = plan_of_code[codes[i]] if codes[i] >= 0 else -1
            h = size[i]
        else:
            p = region_plan if present[i] else -1
            h = 0 if region_plan >= 0 else 1
        if keep >= 0:
            if e164[i] and keep < size[i]:
                p = -1  # calling code not kept
            h = keep
        if integers:
            h = max(h, 1)  # no leading zero
        if total[i] - h < 6 or total[i] - h > MAX_FREE:
            p = -1  # refused or long: tdm.masking.strategies.fpe
        plan[i], head[i] = p, h
        if p >= 0 and e164[i]:
            code[i] = size[i]
    return plan, head, code


def plan_rows(s: Scan, present: np.ndarray, integers: bool, region: str | None, keep: int | None):
    """Per row its plan, kept digits and calling code digits; and the plans (Rules). present:
    the rows that are not null."""
    size, codes, e164 = _calling_codes(s.first, s.plus, s.total, integers, bool(region), _CODE)
    plans: list[Rules] = []
    plan_of_code = np.full(1000, -1, dtype=np.int64)
    for c in np.flatnonzero(np.bincount(codes + 1, minlength=1001)[1:]).tolist():
        rules = phone_rules.for_code(c)
        if rules is not None:
            plan_of_code[c] = len(plans)
            plans.append(rules)
    region_plan = -1
    if region:
        region_plan = len(plans)
        plans.append(phone_rules.for_region(region))
    keep = -1 if keep is None else keep
    args = (size, codes, e164, s.total, present, plan_of_code, region_plan, keep, integers)
    return (*_assign(*args), plans)


@njit(cache=True)
def put_digits(data, offsets, digits, starts, rows):
    """The rows' digits back into their strings' digit places."""
    for r in range(rows.shape[0]):
        i = rows[r]
        at = starts[i]
        for p in range(offsets[i], offsets[i + 1]):
            if 48 <= data[p] <= 57:
                data[p] = digits[at] + 48
                at += 1


@njit(cache=True)
def _group(keys: np.ndarray, slots: int):
    """Ids 0, 1, ... of the distinct keys in order of first appearance (open addressing in
    `slots` slots, a power of two), or ids all -1 if they hold too many."""
    table = np.full(slots, -1, dtype=np.int64)
    ids = np.empty(slots, dtype=np.int64)
    group = np.empty(keys.shape[0], dtype=np.int64)
    seen = 0
    for r in range(keys.shape[0]):
        key = keys[r]
        h = (key * np.int64(0x9E3779B97F4A7C15)) & (slots - 1)
        while table[h] != -1 and table[h] != key:
            h = (h + 1) & (slots - 1)
        if table[h] == -1:
            if 2 * seen >= slots:
                group[:] = -1
                return group
            table[h], ids[h] = key, seen
            seen += 1
        group[r] = ids[h]
    return group


def groups(keys: np.ndarray) -> list[np.ndarray]:
    """Positions of equal keys (int64), one array per distinct key, in first-appearance order."""
    if not len(keys):
        return []
    group = _group(keys, 1 << 12)
    if group[0] < 0:
        group = np.unique(keys, return_inverse=True)[1]
    bounds = np.concatenate([[0], np.cumsum(np.bincount(group))])
    order = _counting_sort(group, bounds[:-1].copy())
    return [order[lo:hi] for lo, hi in itertools.pairwise(bounds)]


@njit(cache=True)
def _counting_sort(group: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Positions ordered by group (stable); at: where each group starts."""
    order = np.empty(group.shape[0], dtype=np.int64)
    for r in range(group.shape[0]):
        order[at[group[r]]] = r
        at[group[r]] += 1
    return order
