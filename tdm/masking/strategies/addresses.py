"""Compiled loops (numba) over email addresses held as one Arrow string buffer: where each one's
domain starts and how many letters and digits each side holds, its domain as a string of its
own, and the masked addresses put together again (tdm.masking.strategies.mail.Email)."""

from __future__ import annotations

import numpy as np
from numba import njit

from tdm.masking.strategies.believable import name_size, write_name

AT = 64  # '@'
SEPARATE, JOINT, EMPTY, NAMED = 0, 1, 2, 3  # how assemble() builds a row


@njit(cache=True, inline="always")
def _copy(out: np.ndarray, at: int, src: np.ndarray, start: int, stop: int) -> int:
    """src[start:stop] into out from `at`; returns where it ends."""
    for p in range(start, stop):
        out[at] = src[p]
        at += 1
    return at


@njit(cache=True)
def split(
    data: np.ndarray, offsets: np.ndarray, member: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: the position of its last '@' (its end without one), and how many alphabet
    characters lie before it and from it on."""
    n = offsets.shape[0] - 1
    cut = np.empty(n, dtype=np.int64)
    local = np.zeros(n, dtype=np.int64)
    domain = np.zeros(n, dtype=np.int64)
    for i in range(n):
        start, end = offsets[i], offsets[i + 1]
        at = end
        count = 0
        for p in range(end - 1, start - 1, -1):
            if data[p] == AT:
                at = p
                break
            count += member[data[p]]
        rest = 0
        for p in range(start, at):
            rest += member[data[p]]
        cut[i] = at
        local[i] = rest
        domain[i] = count if at < end else 0
    return cut, local, domain


@njit(cache=True)
def slices(data: np.ndarray, starts: np.ndarray, stops: np.ndarray) -> tuple:
    """data[starts[i]:stops[i]] per row, as Arrow string offsets (int32) and bytes."""
    n = starts.shape[0]
    out_offsets = np.zeros(n + 1, dtype=np.int32)
    for i in range(n):
        out_offsets[i + 1] = out_offsets[i] + (stops[i] - starts[i])
    out = np.empty(out_offsets[n], dtype=np.uint8)
    for i in range(n):
        _copy(out, out_offsets[i], data, starts[i], stops[i])
    return out_offsets, out


@njit(cache=True)
def assemble(
    data: np.ndarray,
    offsets: np.ndarray,
    cut: np.ndarray,
    kind: np.ndarray,
    codes: np.ndarray,
    mapped: tuple,
    named: tuple,
    tld: np.ndarray,
) -> tuple:
    """Each row's address: SEPARATE, its local part then its mapped domain (mapped = (offsets,
    bytes): domain codes[i]); NAMED, its masked name (named = (NameShape.masked(), the index
    of each row's name there)) then its mapped domain; JOINT, the whole row, then `tld` if it
    has an '@'; EMPTY, nothing."""
    m_off, m_data = mapped
    (names, first, last, number, sep, digits), r_index = named
    n = kind.shape[0]
    out_offsets = np.zeros(n + 1, dtype=np.int32)
    for i in range(n):
        size = 0
        if kind[i] == SEPARATE or kind[i] == NAMED:
            c = codes[i]
            size = m_off[c + 1] - m_off[c]
            if kind[i] == SEPARATE:
                size += cut[i] - offsets[i]
            else:
                r = r_index[i]
                size += name_size(names, first[r], last[r], digits[r])
        elif kind[i] == JOINT:
            size = offsets[i + 1] - offsets[i]
            if cut[i] < offsets[i + 1]:
                size += tld.shape[0]
        out_offsets[i + 1] = out_offsets[i] + size
    out = np.empty(out_offsets[n], dtype=np.uint8)
    for i in range(n):
        o = out_offsets[i]
        if kind[i] == SEPARATE:
            o = _copy(out, o, data, offsets[i], cut[i])
            _copy(out, o, m_data, m_off[codes[i]], m_off[codes[i] + 1])
        elif kind[i] == NAMED:
            r = r_index[i]
            o = write_name(out, o, names, (first[r], last[r], number[r], sep[r], digits[r]))
            _copy(out, o, m_data, m_off[codes[i]], m_off[codes[i] + 1])
        elif kind[i] == JOINT:
            o = _copy(out, o, data, offsets[i], offsets[i + 1])
            if cut[i] < offsets[i + 1]:
                _copy(out, o, tld, 0, tld.shape[0])
    return out_offsets, out
