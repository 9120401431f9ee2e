"""Compiled loops (numba) over email addresses held as one Arrow string buffer: where each one's
domain starts and how many letters and digits each side holds, its domain as a string of its
own, and the masked addresses put together again (tdm.masking.strategies.mail.Email)."""

from __future__ import annotations

from functools import cache

import numpy as np
from numba import njit

from tdm.masking.strategies import words
from tdm.masking.strategies.believable import longest_name, parse, write_name

AT = 64  # '@'
SEPARATE, JOINT, EMPTY, NAMED = 0, 1, 2, 3  # how assemble() builds a row


def split_all(data: np.ndarray, offsets: np.ndarray, member: np.ndarray, parser=None) -> tuple:
    """Per row: the position of its last '@' (its end without one), how many alphabet
    characters lie before it and from it on, and which distinct '@domain' (or '') it has: a
    code, numbered by first appearance, and per code the first row that has it. Domains are
    told apart by a hash table of their bytes, checked word by word (rows without an '@'
    share the code of ''). With a `parser` (NameShape.parser), also each local part's name
    class and value (believable.parse; class -1: not name-shaped), read in the same pass;
    without, those two are empty.

    The outputs are made here, by numpy, which asks for huge pages: numba's own large arrays
    fault in 4 KiB pages (~0.4 ms per MB written)."""
    n, m = len(offsets) - 1, len(offsets) - 1 if parser is not None else 0
    rows = (np.empty(n, dtype=np.int64), np.zeros(n, dtype=np.int64))
    rows += (np.zeros(n, dtype=np.int64), np.empty(n, dtype=np.int64))
    rows += (np.empty(m, dtype=np.int16), np.zeros(m, dtype=np.uint64))
    names = parser is not None
    first = split(data, offsets, member, parser if names else _no_parser(), names, rows)
    cut, local, domain, codes, group, value = rows
    return cut, local, domain, codes, first, group, value


@cache
def _no_parser() -> tuple:
    pool = np.zeros(1, dtype=np.uint64), np.zeros(1, dtype=np.int32), np.zeros(0, dtype=np.uint8)
    return np.zeros(256, dtype=np.bool_), pool, pool


@njit(cache=True)
def split(data, offsets, member, parser: tuple, names: bool, rows: tuple) -> np.ndarray:
    """split_all's rows (cut, local, domain, codes, group, value) filled in; returns per
    domain code the first row with it."""
    n = offsets.shape[0] - 1
    slots = np.full(64, -1, dtype=np.int64)  # code per slot, -1 when empty
    hashes = np.zeros(64, dtype=np.uint64)
    first = np.empty(16, dtype=np.int64)  # per code: the first row with it
    i, count = 0, 0
    while True:
        i, count = _split_rows(
            i, data, offsets, member, parser, names, rows, slots, hashes, first, count
        )
        if i == n:
            return first[:count]
        if count == first.shape[0]:  # full: grown, then on from row i
            first = np.concatenate((first, np.empty(count, dtype=np.int64)))
        if 2 * (count + 1) > slots.shape[0]:
            slots, hashes = _grown(slots, hashes)


@njit(cache=True, _nrt=False)
def _split_rows(i, data, offsets, member, parser, names, out, slots, hashes, first, count):
    """split's rows from i on, until the domain table is full; returns the row it stopped
    at and the domains' count. Compiled without reference counting (_nrt=False, so it makes
    no arrays): with it, numba counts (atomically) every array handed to the inlined helpers,
    per row, which doubles the time of the loop."""
    cut, local, domain, codes, group, value = out
    n = offsets.shape[0] - 1
    mask = np.uint64(slots.shape[0] - 1)
    while i < n:
        if count == first.shape[0] or 2 * (count + 1) > slots.shape[0]:
            return i, count
        start, end = offsets[i], offsets[i + 1]
        at = words.last_byte(data, start, end, AT)
        at = end if at < 0 else at
        h = words.hash_bytes(data, at, end)  # '' and '@' differ: the '@' is hashed
        g = -1
        if names:
            g = parse(data, start, at, parser, value, i)
            group[i] = g
        if g >= 0:  # a name: letters and digits, and one separator
            rest = at - start - 1
        else:
            rest = 0
            for p in range(start, at):
                rest += member[data[p]]
        cut[i], local[i] = at, rest
        slot = h & mask
        while True:
            code = slots[slot]
            if code < 0:  # a new domain
                code = count
                first[count] = i
                count += 1
                slots[slot], hashes[slot] = code, h
                c = 0
                for p in range(at + 1, end):
                    c += member[data[p]]
                domain[i] = c
                break
            r = first[code]
            if hashes[slot] == h and words.same(data, at, end, data, cut[r], offsets[r + 1]):
                domain[i] = domain[r]
                break
            slot = (slot + np.uint64(1)) & mask
        codes[i] = code
        i += 1
    return i, count


@njit(cache=True)
def route(split_rows: tuple, provider: np.ndarray, valid: np.ndarray, sizes: tuple):
    """How assemble() builds each row (Email.mask), in one pass over split()'s (cut, ends,
    local count, domain count, codes, name class): EMPTY when null; NAMED when name-shaped
    (class >= 0) and, with a provider's domain (`provider` per code) or both sides at least
    `separate` long, fit for it (else its class becomes -1), its code then moved by
    `named_code` (to the mapped domains beside names); JOINT when a side is short (the local
    part, or a domain not a provider's); SEPARATE otherwise. sizes = (separate, named_code)."""
    separate, named_code = sizes
    cut, ends, local, domain, codes, group = split_rows
    kind = np.empty(cut.shape[0], dtype=np.int8)
    for i in range(cut.shape[0]):
        p = provider[codes[i]]
        if not valid[i]:
            group[i] = -1
            kind[i] = EMPTY
        elif group[i] >= 0 and (p or (local[i] >= separate and domain[i] >= separate)):
            kind[i] = NAMED
            codes[i] += named_code
        else:
            group[i] = -1
            short = local[i] < separate and local[i] + domain[i] > 0
            short |= cut[i] < ends[i] and domain[i] < separate and not p
            kind[i] = JOINT if short else SEPARATE
    return kind


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


@njit(cache=True)
def slices(data: np.ndarray, starts: np.ndarray, stops: np.ndarray) -> tuple:
    """data[starts[i]:stops[i]] per row, as Arrow string offsets (int32) and bytes."""
    n = starts.shape[0]
    out_offsets = np.zeros(n + 1, dtype=np.int32)
    for i in range(n):
        out_offsets[i + 1] = out_offsets[i] + (stops[i] - starts[i])
    out = np.empty(out_offsets[n], dtype=np.uint8)
    for i in range(n):
        words.copy(out, out_offsets[i], data, starts[i], stops[i])
    return out_offsets, out


def assembled(rows: tuple, mapped: tuple, named: tuple, tld: np.ndarray) -> tuple:
    """Each row's address, as string offsets (int32) and bytes; rows = (data, offsets, cut,
    kind, codes). SEPARATE, its local part then its mapped domain (mapped = (offsets, bytes):
    domain codes[i]); NAMED, its masked name (named = (NameShape.names, and per row the masked
    name's value and class: believable.write_name)) then its mapped domain; JOINT, the whole
    row, then `tld` if it has an '@'; EMPTY, nothing. One pass (assemble), into a buffer made
    here, by numpy (see split_all), grown there if it is too short."""
    data, kind = rows[0], rows[3]
    n = len(kind)
    longest = max(int(np.diff(mapped[0]).max(initial=0)), len(tld)) + 8  # words.copy's room
    if (kind == NAMED).any():
        longest += longest_name(named[0])
    out_offsets = np.zeros(n + 1, dtype=np.int32)
    out = np.empty(len(data) + n * longest // 2 + 64, dtype=np.uint8)
    out, size = assemble(rows, mapped, named, tld, longest, out_offsets, out)
    return out_offsets, out[:size]


@njit(cache=True)
def assemble(rows, mapped, named, tld, longest: int, out_offsets, out) -> tuple:
    """assembled's rows written into out_offsets and out, grown when it is full: (out, its
    size)."""
    offsets, kind = rows[1], rows[3]
    i, o = 0, 0
    while True:
        i, o = _assemble_rows(i, o, rows, mapped, named, tld, longest, out_offsets, out)
        if i == kind.shape[0]:
            return out, o
        bigger = np.empty(2 * out.shape[0] + offsets[i + 1] - offsets[i] + longest, np.uint8)
        bigger[:o] = out[:o]
        out = bigger


@njit(cache=True, _nrt=False)
def _assemble_rows(i, o, rows, mapped, named, tld, longest, out_offsets, out) -> tuple:
    """assemble's rows from i on, written from out[o], until out may be too short for the
    next one: returns that row and where it would start (see _split_rows for _nrt)."""
    data, offsets, cut, kind, codes = rows
    m_off, m_data = mapped
    names, value, group = named
    n = kind.shape[0]
    while i < n:
        if o + offsets[i + 1] - offsets[i] + longest > out.shape[0]:
            return i, o
        k = kind[i]
        if k == SEPARATE:
            o = words.copy(out, o, data, offsets[i], cut[i])
            o = words.copy(out, o, m_data, m_off[codes[i]], m_off[codes[i] + 1])
        elif k == NAMED:
            o = write_name(out, o, names, value[i], group[i])
            o = words.copy(out, o, m_data, m_off[codes[i]], m_off[codes[i] + 1])
        elif k == JOINT:
            o = words.copy(out, o, data, offsets[i], offsets[i + 1])
            if cut[i] < offsets[i + 1]:
                o = words.copy(out, o, tld, 0, tld.shape[0])
        out_offsets[i + 1] = o
        i += 1
    return i, o
