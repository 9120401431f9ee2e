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


_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)


@njit(cache=True)
def split(data: np.ndarray, offsets: np.ndarray, member: np.ndarray) -> tuple:
    """Per row: the position of its last '@' (its end without one), how many alphabet
    characters lie before it and from it on, and which distinct '@domain' (or '') it has: a
    code, numbered by first appearance, and per code the first row that has it. Domains are
    told apart by a hash table of their bytes, checked byte for byte."""
    n = offsets.shape[0] - 1
    cut = np.empty(n, dtype=np.int64)
    local = np.zeros(n, dtype=np.int64)
    domain = np.zeros(n, dtype=np.int64)
    codes = np.empty(n, dtype=np.int64)
    slots = np.full(64, -1, dtype=np.int64)  # code per slot, -1 when empty
    hashes = np.zeros(64, dtype=np.uint64)
    first = np.empty(16, dtype=np.int64)  # per code: the first row with it
    count = 0
    for i in range(n):
        start, end = offsets[i], offsets[i + 1]
        at = end
        c = 0
        h = _FNV_OFFSET
        for p in range(end - 1, start - 1, -1):
            if data[p] == AT:
                at = p
                h = (h ^ np.uint64(AT)) * _FNV_PRIME  # '' and '@' differ
                break
            c += member[data[p]]
            h = (h ^ np.uint64(data[p])) * _FNV_PRIME
        rest = 0
        for p in range(start, at):
            rest += member[data[p]]
        cut[i], local[i], domain[i] = at, rest, c if at < end else 0
        mask = np.uint64(slots.shape[0] - 1)
        slot = h & mask
        while True:
            code = slots[slot]
            if code < 0:  # a new domain
                code = count
                if count == first.shape[0]:
                    first = np.concatenate((first, np.empty(count, dtype=np.int64)))
                first[count] = i
                count += 1
                slots[slot], hashes[slot] = code, h
                if 2 * count > slots.shape[0]:
                    slots, hashes = _grown(slots, hashes)
                break
            r = first[code]
            if hashes[slot] == h and _same(data, at, end, cut[r], offsets[r + 1]):
                break
            slot = (slot + np.uint64(1)) & mask
        codes[i] = code
    return cut, local, domain, codes, first[:count]


@njit(cache=True)
def _grown(slots: np.ndarray, hashes: np.ndarray) -> tuple:
    """The hash table twice as large, every entry placed again."""
    size = 2 * slots.shape[0]
    new_slots = np.full(size, -1, dtype=np.int64)
    new_hashes = np.zeros(size, dtype=np.uint64)
    mask = np.uint64(size - 1)
    for k in range(slots.shape[0]):
        if slots[k] >= 0:
            slot = hashes[k] & mask
            while new_slots[slot] >= 0:
                slot = (slot + np.uint64(1)) & mask
            new_slots[slot], new_hashes[slot] = slots[k], hashes[k]
    return new_slots, new_hashes


@njit(cache=True, inline="always")
def _same(data: np.ndarray, a0: int, a1: int, b0: int, b1: int) -> bool:
    if a1 - a0 != b1 - b0:
        return False
    for k in range(a1 - a0):  # noqa: SIM110 (compiled: a loop, not a generator)
        if data[a0 + k] != data[b0 + k]:
            return False
    return True


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
