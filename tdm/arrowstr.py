"""Building Arrow string arrays from numpy byte buffers without a Python loop per value."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

DIGITS = np.frombuffer(b"0123456789", dtype=np.uint8)
UPPER = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", dtype=np.uint8)
LOWER = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz", dtype=np.uint8)
HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


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
