"""Unaligned 8-byte loads and stores in uint8 arrays, for compiled (numba) byte loops: short
strings copied a word at a time instead of a byte at a time (2-3x faster: numba cannot tell
that two arrays do not overlap, so it copies bytes one by one), compared and hashed a word at
a time. load8 and store8 check no bounds; the others do. Words are little-endian (x86-64,
arm64): write_name's digits rely on it."""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic


def _pointer(context, builder, array_type, array, at):
    arr = context.make_array(array_type)(context, builder, array)
    ptr = builder.gep(arr.data, [at])
    return builder.bitcast(ptr, ir.IntType(64).as_pointer())


@intrinsic
def load8(typingctx, array, at):
    """The 8 bytes array[at:at + 8] as a little-endian uint64."""

    def codegen(context, builder, signature, args):
        at = context.cast(builder, args[1], signature.args[1], types.intp)
        return builder.load(_pointer(context, builder, signature.args[0], args[0], at), align=1)

    return types.uint64(array, at), codegen


@intrinsic
def store8(typingctx, array, at, value):
    """array[at:at + 8] = the 8 bytes of `value` (little-endian)."""

    def codegen(context, builder, signature, args):
        at = context.cast(builder, args[1], signature.args[1], types.intp)
        v = context.cast(builder, args[2], signature.args[2], types.uint64)
        builder.store(v, _pointer(context, builder, signature.args[0], args[0], at), align=1)
        return context.get_dummy_value()

    return types.void(array, at, value), codegen


@njit(cache=True, inline="always")
def copy(out: np.ndarray, o: int, src: np.ndarray, start: int, stop: int) -> int:
    """src[start:stop] into out from o, a word at a time (up to 7 bytes after the copy are
    overwritten too: callers write them next), byte by byte where a word would read or write
    past an array's end. Returns where the copy ends."""
    if stop + 8 > src.shape[0] or o + stop - start + 8 > out.shape[0]:
        for p in range(start, stop):
            out[o] = src[p]
            o += 1
        return o
    for p in range(start, stop, 8):
        store8(out, o + p - start, load8(src, p))
    return o + stop - start


@njit(cache=True, inline="always")
def tail(data: np.ndarray, start: int, stop: int) -> np.uint64:
    """The fewer than 8 bytes data[start:stop] as a little-endian word (zero above)."""
    if start + 8 <= data.shape[0]:
        return load8(data, start) & ((np.uint64(1) << np.uint64(8 * (stop - start))) - _ONE)
    w = np.uint64(0)
    for p in range(stop - 1, start - 1, -1):
        w = (w << np.uint64(8)) | np.uint64(data[p])
    return w


@njit(cache=True, inline="always")
def same(a: np.ndarray, a0: int, a1: int, b: np.ndarray, b0: int, b1: int) -> bool:
    """a[a0:a1] == b[b0:b1], a word at a time."""
    size = a1 - a0
    if size != b1 - b0:
        return False
    k = 0
    while k + 8 <= size:
        if load8(a, a0 + k) != load8(b, b0 + k):
            return False
        k += 8
    return k == size or tail(a, a0 + k, a1) == tail(b, b0 + k, b1)


@njit(cache=True, inline="always")
def hash_bytes(data: np.ndarray, start: int, stop: int) -> np.uint64:
    """A 64-bit hash of data[start:stop], a word at a time (its low bits are well mixed)."""
    h = np.uint64(stop - start) * _K0
    p = start
    while p + 8 <= stop:
        h = (h ^ load8(data, p)) * _K1
        h ^= h >> np.uint64(29)
        p += 8
    if p < stop:
        h = (h ^ tail(data, p, stop)) * _K1
    h ^= h >> np.uint64(32)
    h *= _K2
    return h ^ (h >> np.uint64(29))


@njit(cache=True, inline="always")
def last_byte(data: np.ndarray, start: int, stop: int, byte: int) -> int:
    """The position of the last `byte` in data[start:stop], or -1; words without it are
    skipped whole (the zero-byte test of x = word ^ byte * 0x0101...: (x - 0x0101...) & ~x &
    0x8080... is non-zero exactly when some byte of x is zero)."""
    spread = np.uint64(byte) * _LOWS
    p = stop
    while p - start >= 8:
        x = load8(data, p - 8) ^ spread
        if (x - _LOWS) & ~x & _HIGHS:
            break
        p -= 8
    for q in range(p - 1, start - 1, -1):
        if data[q] == byte:
            return q
    return -1


_ONE = np.uint64(1)
_LOWS = np.uint64(0x0101010101010101)
_HIGHS = np.uint64(0x8080808080808080)
_K0 = np.uint64(0x9E3779B97F4A7C15)
_K1 = np.uint64(0xBF58476D1CE4E5B9)
_K2 = np.uint64(0x94D049BB133111EB)
