"""The `phone` mask's classes as compiled loops (numba) over rows: which class each row is of and
its place in the class's domain (`classify`), and a permuted place back as digits (`write`); see
tdm.masking.strategies.phones for the classes. The automata are tdm.masking.strategies.phones.Bank's
arrays (tdm.masking.strategies.phone_language: next, count, below, full)."""

from __future__ import annotations

import numpy as np
from numba import njit

from tdm.masking.strategies.phone_rows import MAX_FREE
from tdm.masking.strategies.phone_rules import MAX_LENGTH

OTHER, VALID, DIGITS, RAW = 0, 1, 2, 3
_POW10 = np.array([10**i for i in range(MAX_FREE + 1)], dtype=np.int64)
# valid domains at or above 2**62 (count below it: with e extension digits): digits, not ranks
_RANKED = np.array([(1 << 62) // 10**e for e in range(MAX_FREE + 1)], dtype=np.int64)


@njit(cache=True)
def _accepts(nxt, count, full, state, digits, lo, hi) -> bool:
    for j in range(lo, hi):
        if full[state]:
            return True
        state = nxt[state, digits[j]]
    return state != 0 and count[state] > 0


@njit(cache=True)
def classify_rows(digits, starts, main, head, code, plan, forced, rows, automata, strip, out):
    """Per row of `rows`: kind, k, start state (below the kept digits), value, domain and the
    key of its group (tdm.masking.strategies.phones). forced = (k, virtual): for plans that read
    national prefixes with a regex, k[i] as it read it (-1: none; -5: a transform rule wrote
    digits before number[virtual[i, 0]:], virtual[i, 1] is the state after them)."""
    nxt, count, below, full, valid, general = automata
    possible, prefixes, regex = strip
    kind, kk, state0, value, domain, key = out
    forced, virtual = forced
    for r in range(rows.shape[0]):
        i = rows[r]
        p, ds = plan[i], starts[i]
        lo, hi, total = ds + code[i], ds + main[i], starts[i + 1] - ds
        m = hi - lo
        k = forced[i] if regex[p] else -2
        s, rewritten = 0, k == -5
        if rewritten:  # a transform rule wrote digits before number[k:]: s is the state after them
            k, s = virtual[i, 0], virtual[i, 1]
        if k == -2:  # a national prefix from the plan's prefix-free list
            k = 0
            for w in range(prefixes.shape[1]):
                size = prefixes[p, w, 0]
                if size == 0:
                    break
                if size <= m:
                    same = True
                    for j in range(size):
                        same = same and digits[lo + j] == prefixes[p, w, j + 1]
                    if same:
                        k = size
                        break
            if k > 0:
                n = m - k
                if not possible[p, min(n, 63)]:
                    k = 0
                elif m <= MAX_LENGTH and general[p, m] != 0:
                    whole = _accepts(nxt, count, full, general[p, m], digits, lo, hi)
                    rest = n <= MAX_LENGTH and general[p, n] != 0
                    if whole and not (
                        rest and _accepts(nxt, count, full, general[p, n], digits, lo + k, hi)
                    ):
                        k = 0
        k = 0 if k == -1 else k
        kk[i], state0[i] = 0, 0
        e = total - main[i]
        if k >= 0:
            n = m - k
            if not rewritten:
                s = valid[p, n] if 0 < n <= MAX_LENGTH else 0
            kept = max(head[i] - code[i] - k, 0)
            if s != 0 and kept <= n:
                for j in range(lo + k, lo + k + kept):
                    s = nxt[s, digits[j]]
                start, rank = s, np.int64(0)
                for j in range(lo + k + kept, hi):
                    if full[s]:  # the rest is any digits: their number is their rank
                        rank += _number(digits, j, hi)
                        break
                    rank += below[s, digits[j]]
                    s = nxt[s, digits[j]]
                if s != 0 and count[s] > 0 and count[start] < _RANKED[e]:
                    kind[i], kk[i], state0[i] = VALID, k, start
                    value[i] = np.uint64(rank * _POW10[e] + _number(digits, hi, ds + total))
                    domain[i] = np.uint64(count[start] * _POW10[e])
                    key[i] = _key(p, start, n, e, k, VALID)
                    continue
        kept = head[i] - code[i]
        if kept <= m:  # OTHER, unless the number is in L: its rank outside L
            s = valid[p, m] if 0 < m <= MAX_LENGTH else 0
            for j in range(lo, lo + kept):
                s = nxt[s, digits[j]]
            start, rank, inside = s, np.int64(0), True
            for j in range(lo + kept, hi):
                if s == 0:  # no valid number starts so: any digits follow
                    rank += _number(digits, j, hi)
                    inside = False
                    break
                if full[s]:
                    break
                rank += digits[j] * _POW10[hi - j - 1] - below[s, digits[j]]
                s = nxt[s, digits[j]]
            ext = _number(digits, hi, ds + total)
            if not (inside and s != 0 and count[s] > 0):
                kind[i], state0[i] = OTHER, start
                value[i] = np.uint64(rank * _POW10[e] + ext)
                domain[i] = np.uint64((_POW10[hi - lo - kept] - count[start]) * _POW10[e])
                key[i] = _key(p, start, m, e, 0, OTHER)
                continue
            s, rank = start, np.int64(0)  # in L, read otherwise: its rank in L
            for j in range(lo + kept, hi):
                if full[s]:
                    rank += _number(digits, j, hi)
                    break
                rank += below[s, digits[j]]
                s = nxt[s, digits[j]]
            kind[i], state0[i] = DIGITS, start
            value[i] = np.uint64(rank * _POW10[e] + ext)
            domain[i] = np.uint64(count[start] * _POW10[e])
            key[i] = _key(p, start, m, e, 0, DIGITS)
            continue
        kind[i] = RAW
        free = total - head[i]
        value[i] = np.uint64(_number(digits, ds + head[i], ds + total))
        domain[i] = np.uint64(_POW10[free])
        key[i] = _key(p, 0, free, e, 0, RAW)


@njit(cache=True, inline="always")
def _key(p, start, n, e, k, kind) -> np.int64:
    """The group of a row: plan (< 2**16), start state (< 2**26), length (< 64), extension
    digits (< 64), national prefix length (< 32), kind (< 4)."""
    return ((((np.int64(p) << 26 | start) << 6 | n) << 6 | e) << 5 | k) << 2 | kind


@njit(cache=True, inline="always")
def _number(digits, lo, hi) -> np.int64:
    """The number digits[lo:hi] spell."""
    v = np.int64(0)
    for j in range(lo, hi):
        v = v * 10 + digits[j]
    return v


@njit(cache=True)
def write_rows(digits, starts, main, head, code, plan, rows, kind, kk, state0, values, automata):
    """Digits of permuted values, in place: unranked from state0 for VALID rows. Which rows
    may have changed class: all but valid numbers that cannot start with a national prefix,
    and valid numbers after a prefix-free national prefix that still match the general pattern
    (then parse strips the prefix as it did from the input)."""
    nxt, count, below, full, general, prefix, regex = automata
    check = np.ones(rows.shape[0], dtype=np.bool_)
    for r in range(rows.shape[0]):
        i = rows[r]
        ds, total, v = starts[i], starts[i + 1] - starts[i], values[r]
        if kind[i] == RAW:
            _put_number(digits, ds + head[i], ds + total, v)
            continue
        end = ds + main[i]
        e = total - main[i]
        _put_number(digits, end, ds + total, v % np.uint64(_POW10[e]))
        rank, s = np.int64(v // np.uint64(_POW10[e])), state0[i]
        if kind[i] == OTHER:  # the rank-th string outside L
            for j in range(ds + head[i], end):
                if s == 0:
                    _put_number(digits, j, end, np.uint64(rank))
                    break
                step = _POW10[end - j - 1]
                c = 0  # the digit c with below_outside(c) <= rank < below_outside(c + 1)
                for d in range(1, 10):
                    c += d * step - below[s, d] <= rank
                rank -= c * step - below[s, c]
                digits[j] = c
                s = nxt[s, c]
            check[r] = _may_strip(prefix, plan[i], digits, ds + code[i], end)
            continue
        kept = max(head[i] - code[i] - kk[i], 0)
        for j in range(ds + code[i] + kk[i] + kept, end):
            if full[s]:
                _put_number(digits, j, end, np.uint64(rank))
                break
            c = 0  # the digit c with below[s, c] <= rank < below[s, c + 1]
            for d in range(1, 10):
                c += below[s, d] <= rank
            rank -= below[s, c]
            digits[j] = c
            s = nxt[s, c]
        lo = ds + code[i] + kk[i]
        if kind[i] == DIGITS:
            check[r] = True
        elif kk[i] == 0:
            check[r] = _may_strip(prefix, plan[i], digits, lo, end)
        elif not regex[plan[i]] and end - lo <= MAX_LENGTH:
            g = general[plan[i], end - lo]
            check[r] = g == 0 or not _accepts(nxt, count, full, g, digits, lo, end)
    return check


@njit(cache=True, inline="always")
def _put_number(digits, lo, hi, v) -> None:
    """v as the digits digits[lo:hi] (v < 10 ** (hi - lo))."""
    for t in range(hi - 1, lo - 1, -1):
        q = v // np.uint64(10)
        digits[t] = v - q * np.uint64(10)
        v = q


@njit(cache=True, inline="always")
def _may_strip(pairs, p, digits, lo, hi) -> bool:
    """Whether a national prefix of plan p may start the number digits[lo:hi] (pairs:
    Bank.starts)."""
    if hi - lo >= 2:
        return pairs[p, digits[lo] * 10 + digits[lo + 1]]
    if hi - lo == 1:
        for c in range(10):
            if pairs[p, digits[lo] * 10 + c]:
                return True
    return False


@njit(cache=True)
def regex_rows(digits, starts, main, code, plan, rows, regex, prefix, forced) -> np.ndarray:
    """The rows of plans that read national prefixes with a regex and whose number may start
    with one; forced[i] = -1 (no prefix) for the other rows of those plans."""
    out = np.empty(rows.shape[0], dtype=np.int64)
    at = 0
    for r in range(rows.shape[0]):
        i = rows[r]
        if regex[plan[i]]:
            if _may_strip(prefix, plan[i], digits, starts[i] + code[i], starts[i] + main[i]):
                out[at] = i
                at += 1
            else:
                forced[i] = -1
    return out[:at]
