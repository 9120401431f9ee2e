"""Building Arrow string arrays from numpy byte buffers without a Python loop per value."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

DIGITS = np.frombuffer(b"0123456789", dtype=np.uint8)
UPPER = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", dtype=np.uint8)
LOWER = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz", dtype=np.uint8)
HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def lower(values: pa.Array) -> pa.Array:
    """pc.utf8_lower, through ASCII's table when every byte is ASCII (the same result there,
    ~10x faster: most keys, codes and email addresses are)."""
    if isinstance(values, pa.Array) and pa.types.is_string(values.type):
        data = values.buffers()[2]
        if data is None or np.frombuffer(data, dtype=np.uint8).max(initial=0) < 128:
            return pc.ascii_lower(values)
    return pc.utf8_lower(values)


def fixed_width(chars: np.ndarray) -> pa.StringArray:
    """A (rows, width) uint8 matrix of ASCII bytes -> one string per row."""
    rows, width = chars.shape
    offsets = np.arange(0, (rows + 1) * width, width, dtype=np.int32)
    data = np.ascontiguousarray(chars, dtype=np.uint8)
    return pa.StringArray.from_buffers(rows, pa.py_buffer(offsets), pa.py_buffer(data))


def numbers_to_digits(values: np.ndarray, width: int) -> np.ndarray:
    """Non-negative integers -> (rows, width) matrix of their zero-padded decimal digits (0..9)."""
    out = np.empty((len(values), width), dtype=np.uint8)
    v = np.asarray(values, dtype=np.uint64).copy()
    ten = np.uint64(10)
    for pos in range(width - 1, -1, -1):
        out[:, pos] = (v % ten).astype(np.uint8)
        v //= ten
    return out


def drop_bytes(chars: np.ndarray, rows: np.ndarray, cols: list[int]) -> pa.StringArray:
    """Rows of a byte matrix as strings, without bytes `cols` in rows `rows` (pads, spare room)."""
    n, width = chars.shape
    lengths = np.full(n, width, dtype=np.int32)
    lengths[rows] -= len(cols)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    data = np.delete(chars.ravel(), (rows[:, None] * width + np.array(cols)).ravel())
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))


def spaced(sizes: list[int], first: int = 0) -> list[int]:
    """Source columns for groups of `sizes` characters from column `first`, with a -1 between
    (take from a matrix whose last column is a space)."""
    out, col = [], first
    for i, size in enumerate(sizes):
        out += ([-1] if i else []) + list(range(col, col + size))
        col += size
    return out


def join(*parts: pa.Array | str) -> pa.Array:
    """Element-wise concatenation of string arrays and literals (nulls stay null)."""
    return pc.binary_join_element_wise(*parts, "")


def take(pool: pa.Array, indices: np.ndarray) -> pa.Array:
    return pool.take(pa.array(indices, type=pa.int64()))


def with_nulls(values: pa.Array, null_mask: np.ndarray) -> pa.Array:
    """values with the rows where null_mask is True set to null."""
    if not null_mask.any():
        return values
    return pc.if_else(pa.array(null_mask), pa.nulls(len(values), values.type), values)


def ascii_slug(values: pa.Array) -> pa.Array:
    """Lower-case ASCII letters and digits only: 'Jürgen O'Neil' -> 'jurgenoneil'."""
    decomposed = pc.utf8_normalize(pc.fill_null(values, ""), form="NFKD")
    return pc.replace_substring_regex(pc.utf8_lower(decomposed), r"[^a-z0-9]", "")


# ---- joining from small string tables --------------------------------------------------------
#
# Values built from a few small tables (slugs of distinct names, separators, number suffixes) are
# best kept as row indices into those tables until the end: per row that is numpy index
# arithmetic, and one take (concat_rows) builds the strings.


def lengths(values: pa.Array) -> np.ndarray:
    """Byte length of each string (0 for nulls)."""
    return pc.fill_null(pc.binary_length(values), 0).to_numpy()


def ends_with_digit(values: pa.Array) -> np.ndarray:
    """Whether each string ends in an ASCII digit."""
    last = pc.utf8_slice_codeunits(pc.fill_null(values, ""), -1, 2**31 - 1)
    return pc.ascii_is_decimal(last).to_numpy(zero_copy_only=False)


def distinct_index(values: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """(distinct values, index of each row's value into them); nulls index one past the end."""
    enc = pc.dictionary_encode(values)
    if isinstance(enc, pa.ChunkedArray):
        enc = enc.combine_chunks()
    index = pc.fill_null(enc.indices, len(enc.dictionary)) if enc.null_count else enc.indices
    return enc.dictionary, index.to_numpy(zero_copy_only=False, writable=True)


def concat_rows(*parts: tuple[pa.Array, np.ndarray]) -> pa.StringArray:
    """Row i joins table[index[i]] over the (table, index) parts (tables without nulls): one
    take of every part in row order lays the bytes out joined, so only every k-th offset is
    kept (several times faster than binary_join_element_wise)."""
    rows, k = len(parts[0][1]), len(parts)
    index, at = np.empty((rows, k), dtype=np.int32), 0
    for j, (table, idx) in enumerate(parts):
        np.add(idx, np.int64(at), out=index[:, j], casting="unsafe")
        at += len(table)
    taken = pa.concat_arrays([t for t, _ in parts]).take(pa.array(index.reshape(-1)))
    offsets = np.frombuffer(taken.buffers()[1], dtype=np.int32)[: rows * k + 1 : k].copy()
    return pa.StringArray.from_buffers(rows, pa.py_buffer(offsets), taken.buffers()[2])


def replace_rows(arr: pa.Array, rows: np.ndarray, values: pa.Array) -> pa.Array:
    """arr with arr[rows[i]] replaced by values[i] (one take)."""
    index = np.arange(len(arr))
    index[rows] = len(arr) + np.arange(len(rows))
    return pa.concat_arrays([arr, values]).take(pa.array(index))


def _flagged(flags: np.ndarray, index: np.ndarray) -> np.ndarray | None:
    """Rows whose table entry is flagged, or None when no entry is (skips the row checks)."""
    return np.flatnonzero(flags.take(index)) if flags.any() else None


def join_styles(
    first: tuple,
    last: tuple,
    style: np.ndarray,
    styles: list[tuple[bool, str]],
    limit: int,
    fallback: str,
):
    """Slugs joined per style (initial?, separator), the separator only between non-empty
    parts, cut to `limit` without trailing '._', `fallback` when empty: (F, F index, L, L
    index). first and last are (table ending in '', index per row, whether any row points to
    that ''); table-level checks skip the row checks that cannot apply."""
    (f, fi, f_nulls), (ln, li, l_nulls) = first, last
    variants = []
    for initial, sep in styles:
        part = pc.utf8_slice_codeunits(f, 0, 1) if initial else f
        variants += [join(part, sep), part]  # with the separator first: the usual case
    big_f, big_l = pa.concat_arrays(variants), pa.concat_arrays([ln, pa.array([fallback])])
    f_len, l_len = lengths(big_f), lengths(big_l)
    fi = style * np.int32(2 * len(f)) + fi
    empty = np.zeros((len(styles), 2, len(f)), dtype=bool)  # at each F entry with separator:
    empty[:, 0] = f_len.reshape(len(styles), 2, len(f))[:, 1] == 0  # is its part empty?
    empty[:, 0, -1], l_empty = f_nulls, l_len == 0  # the trailing '' only counts for nulls
    l_empty[len(ln) - 1] = l_nulls
    no_f, no_l = _flagged(empty.ravel(), fi), _flagged(l_empty, li)
    if no_f is not None or no_l is not None:  # a part is empty: no separator; both: fallback
        fi[np.unique(np.concatenate([r for r in (no_f, no_l) if r is not None]))] += len(f)
        if no_f is not None and no_l is not None:
            li[np.intersect1d(no_f, no_l)] = len(ln)
    if f_len.max() + l_len.max() > limit:
        long = np.flatnonzero(f_len.take(fi) + l_len.take(li) > limit)
        if len(long):  # rare: cut in full, as F entries with an empty L
            whole = join(take(big_f, fi[long]), take(big_l, li[long]))
            whole = pc.utf8_rtrim(pc.utf8_slice_codeunits(whole, 0, limit), characters="._")
            fi[long] = len(big_f) + np.arange(len(long))
            big_f = pa.concat_arrays([big_f, pc.if_else(pc.equal(whole, ""), fallback, whole)])
            li[long] = len(ln) - 1
    return big_f, fi, big_l, li


def sep_after_digit(
    f: pa.Array, fi: np.ndarray, ln: pa.Array, li: np.ndarray, has: np.ndarray, sep: str
) -> tuple[pa.Array, np.ndarray]:
    """L and its index with `sep` appended where a number follows a digit (a readable number,
    and a row-index number keeps the whole string unique)."""
    f_digit, l_digit = ends_with_digit(f), ends_with_digit(ln)
    if f_digit.any() or l_digit.any():
        l_empty = lengths(ln).take(li) == 0
        digit = np.where(l_empty, f_digit.take(fi), l_digit.take(li))
        li = li + (digit & has) * np.int32(len(ln))
    return pa.concat_arrays([ln, join(ln, sep)]), li
