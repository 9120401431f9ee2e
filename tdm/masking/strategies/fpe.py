"""Keyed, format-preserving, collision-free pseudonymisation, vectorised.

The characters of a value that belong to an alphabet class (a-z, A-Z, 0-9, or hex digits) are
read as digits of a mixed-radix number, cut into J >= 2 blocks of at most 13 characters, and run
through a generalised Feistel network: each round replaces one block B_j with
(B_j + F(round, j, the other blocks)) mod |domain of B_j|. Every step can be undone by whoever
holds the key, so the map is a bijection on each shape (same length, same character classes at the
same places): distinct inputs give distinct outputs, and every other character stays in place.

F is AES-256 (ECB over one 16-byte block per row, i.e. the AES permutation used as a PRF, as in
NIST FF1), run over all rows at once through `cryptography`, with a key derived per masking domain.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from tdm.masking.keys import MaskingKey
from tdm.masking.strategies.alphabets import TABLES, alphabet_id, translate

ROUNDS = 10
BLOCK = 13  # slots per block: 26**13 < 2**62, so a block fits a uint64 with room to add
_U64 = np.uint64
CHUNK_ROWS = 1 << 18  # rows sorted and packed together
FEISTEL_ROWS = 1 << 16  # rows through the Feistel network together


class Pseudonymizer:
    """Format-preserving permutations under one key and one masking domain (the tweak)."""

    def __init__(self, key: MaskingKey, domain: str):
        self._aes = Cipher(algorithms.AES(key.derive(f"fpe/{domain}")), modes.ECB())

    def prf(self, blocks: np.ndarray) -> np.ndarray:
        """AES of each 16-byte row, first 8 bytes as uint64."""
        enc = self._aes.encryptor()
        out = np.frombuffer(enc.update(np.ascontiguousarray(blocks).tobytes()), dtype=_U64)
        return out[0::2]

    def permute_blocks(
        self, values: np.ndarray, domains: np.ndarray, shape: np.ndarray, rounds: int = ROUNDS
    ) -> np.ndarray:
        """Generalised Feistel over (rows, J) blocks; block j of row i lives in [0, domains[i,j]).

        The schedule depends on J only, and F on the other blocks and `shape`, so a row's result
        never depends on the other rows it is processed with."""
        if len(values) > FEISTEL_ROWS:  # in slices that stay in the caches
            return np.concatenate(
                [
                    self.permute_blocks(
                        values[at : at + FEISTEL_ROWS],
                        domains[at : at + FEISTEL_ROWS],
                        shape[at : at + FEISTEL_ROWS],
                        rounds,
                    )
                    for at in range(0, len(values), FEISTEL_ROWS)
                ]
            )
        n, blocks = values.shape
        v = [values[:, j].astype(_U64) for j in range(blocks)]  # contiguous columns
        dom = [np.ascontiguousarray(domains[:, j], dtype=_U64) for j in range(blocks)]
        block = np.empty((n, 2), dtype=_U64)
        tag = shape.astype(_U64) << _U64(24)
        out = np.empty(2 * n + 2, dtype=_U64)  # update_into wants 15 spare bytes
        enc = self._aes.encryptor()  # ECB over whole blocks keeps no state between calls
        for r in range(rounds):
            j = r % blocks
            if blocks == 2:
                block[:, 0] = v[1 - j]
            else:
                others = np.zeros(n, dtype=_U64)
                for o in range(blocks):
                    if o != j:
                        others *= _U64(0x9E3779B97F4A7C15)
                        others ^= v[o]
                block[:, 0] = others
            np.bitwise_or(tag, _U64(blocks << 16 | r << 8 | j), out=block[:, 1])
            enc.update_into(block.reshape(-1).view(np.uint8), out.view(np.uint8))
            s = out[0 : 2 * n : 2] % dom[j]
            s += v[j]  # both terms below d: (s - d wraps around when s < d)
            v[j] = np.minimum(s, s - dom[j])
        return np.stack(v, axis=1)

    def strings(
        self,
        arr: pa.Array,
        alphabet: str = "alnum",
        skip_head: np.ndarray | int = 0,
        skip_tail: np.ndarray | int = 0,
    ) -> pa.Array:
        """Permute the alphabet characters of each string, except the first `skip_head` and the
        last `skip_tail` of them (per row or for all); nulls stay null.

        Vectorised per chunk of rows: the characters to permute are packed tightly, their rows
        sorted by k (how many they are) with Arrow's take, so rows with one k form a (rows, k)
        byte matrix that packs and unpacks column by column, and rows with one number of blocks
        go through the Feistel network in one pass; then the take is undone. A row's result
        depends on its own value only, never on the rows it is processed with."""
        if len(arr) == 0:
            return pa.array([], pa.string())
        if arr.type != pa.string():
            arr = pc.cast(arr, pa.string())
        if alphabet == "hex":  # hex digits are case-insensitive: the output is lower case
            arr = pc.utf8_lower(arr)
        if arr.offset:
            arr = pa.concat_arrays([arr])
        n = len(arr)
        offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[: n + 1]
        data = np.frombuffer(arr.buffers()[2] or b"", dtype=np.uint8)[offsets[0] : offsets[-1]]
        data, offsets = data.copy(), offsets - offsets[0]
        head = np.broadcast_to(np.asarray(skip_head, np.int64), (n,))
        tail = np.broadcast_to(np.asarray(skip_tail, np.int64), (n,))
        # chunks of rows keep the working arrays small enough for the caches
        for lo in range(0, n, CHUNK_ROWS):
            hi = min(n, lo + CHUNK_ROWS)
            at = offsets[lo : hi + 1]
            self._strings_chunk(
                data[at[0] : at[-1]], at - at[0], head[lo:hi], tail[lo:hi], alphabet
            )
        validity = arr.buffers()[0] if arr.null_count else None
        return pa.StringArray.from_buffers(
            n, pa.py_buffer(offsets), pa.py_buffer(data), validity, arr.null_count
        )

    def _strings_chunk(
        self,
        data: np.ndarray,
        offsets: np.ndarray,
        head: np.ndarray,
        tail: np.ndarray,
        alphabet: str,
    ) -> None:
        """Permute, in place, the characters of the rows data[offsets[i]:offsets[i+1]]."""
        t = TABLES[alphabet]
        member = translate(data, t.member).view(bool)
        seen = np.zeros(len(data) + 1, dtype=np.int32)  # alphabet characters before each byte
        np.cumsum(member.view(np.uint8), dtype=np.int32, out=seen[1:])
        seen = seen[offsets].astype(np.int64)
        start, count = seen[:-1], np.diff(seen)
        head = np.minimum(head, count)
        tail = np.minimum(tail, count - head)
        k = count - head - tail  # characters permuted per row
        if not k.any():
            return
        chars = data[member]  # the alphabet characters of all rows, back to back
        skip = None
        if head.any() or tail.any():  # only the characters between head and tail
            rank = np.arange(len(chars)) - np.repeat(start, count)
            skip = (rank >= np.repeat(head, count)) & (rank < np.repeat(count - tail, count))
        permuted = chars if skip is None else chars[skip]
        # rows sorted by k (Arrow's take moves each row's characters in one piece): rows with
        # the same k are then a contiguous (rows, k) matrix, and those with the same number of
        # blocks a contiguous range of rows
        order = np.argsort(k.astype(np.uint16) if k.max(initial=0) < 2**16 else k, kind="stable")
        at = np.zeros(len(k) + 1, dtype=np.int32)
        np.cumsum(k, out=at[1:])
        ordered = _strings(at, permuted).take(pa.array(order))
        sorted_chars = np.frombuffer(ordered.buffers()[2], dtype=np.uint8)[: at[-1]]
        radix_all, digit_all = translate(sorted_chars, t.radix), translate(sorted_chars, t.digit)
        digit_new = digit_all.copy()
        sizes = np.bincount(k, minlength=1)
        row_at = np.concatenate([[0], np.cumsum(sizes)])
        byte_at = np.concatenate([[0], np.cumsum(sizes * np.arange(len(sizes)))])
        kinds: dict[int, list[int]] = {}  # blocks -> the k values with that many blocks
        for size in (np.flatnonzero(sizes[1:]) + 1).tolist():
            kinds.setdefault(max(2, -(-size // BLOCK)), []).append(size)
        for blocks, ks in kinds.items():
            r0, r1 = row_at[ks[0]], row_at[ks[-1] + 1]
            values = np.empty((r1 - r0, blocks), dtype=_U64)
            domains = np.empty((r1 - r0, blocks), dtype=_U64)
            mats = []
            for size in ks:
                shape = (sizes[size], size)
                b0, b1 = byte_at[size], byte_at[size + 1]
                radix = radix_all[b0:b1].reshape(shape)
                rows = slice(row_at[size] - r0, row_at[size + 1] - r0)
                values[rows], domains[rows] = _pack(radix, digit_all[b0:b1].reshape(shape), size)
                mats.append((rows, radix, digit_new[b0:b1].reshape(shape), size))
            tag = np.repeat(np.array(ks, dtype=_U64), sizes[ks]) << _U64(8)
            values = self.permute_blocks(values, domains, tag | _U64(alphabet_id(alphabet)))
            for rows, radix, out, size in mats:
                out[...] = _unpack(values[rows], radix, size, t.max_radix)
        if t.contiguous:  # each class is a run of bytes: move each character by its change
            digit_new -= digit_all
            sorted_chars = sorted_chars + digit_new
        else:  # each digit back in its character's class
            sorted_chars = translate(translate(sorted_chars, t.base) + digit_new, t.lookup)
        inverse = np.empty_like(order)
        inverse[order] = np.arange(len(order))
        at[1:] = np.cumsum(k[order])
        back = _strings(at, sorted_chars).take(pa.array(inverse))
        new = np.frombuffer(back.buffers()[2], dtype=np.uint8)[: len(permuted)]
        if skip is None:
            chars = new
        else:
            chars[skip] = new
        data[member] = chars

    def integers(self, values: np.ndarray) -> np.ndarray:
        """A permutation of int64 that keeps the sign and the number of digits.

        19-digit numbers only partly fit int64: those are cycle-walked (permuted again until the
        result fits), which is a permutation of the ones that fit."""
        v = np.asarray(values, dtype=np.int64)
        a = np.abs(v).astype(_U64)  # |int64 min| = 2**63 still fits a uint64
        powers = _U64(10) ** np.arange(20, dtype=_U64)
        length = np.searchsorted(powers[1:], a, side="right") + 1  # decimal digits, 0 -> 1
        negative_digit = (v < 0) & (length == 1)  # -1..-9: nine values, not ten
        base = np.where(length == 1, negative_digit.astype(_U64), powers[length - 1])
        y = a - base  # position among the numbers of this length (and sign)
        low_digits = (length - 1) // 2
        p = powers[low_digits]
        high = np.where(
            length == 1,
            np.where(negative_digit, _U64(9), _U64(10)),
            _U64(9) * powers[length - 1 - low_digits],
        )
        domains = np.stack([high, p], axis=1)
        shape = length.astype(_U64) | _U64(0x100)
        limit = np.where(v < 0, _U64(2**63), _U64(2**63 - 1))
        todo = np.arange(len(v))
        while len(todo):
            yy = y[todo]
            out = self.permute_blocks(
                np.stack([yy // p[todo], yy % p[todo]], axis=1), domains[todo], shape[todo]
            )
            y[todo] = out[:, 0] * p[todo] + out[:, 1]
            todo = todo[base[todo] + y[todo] > limit[todo]]  # only 19-digit numbers
        result = (base + y).astype(np.int64)
        return np.where(v < 0, -result, result)


def _blocks(k: int) -> list[tuple[int, int]]:
    """The slot ranges of the blocks of a k-character row: J = max(2, ceil(k / BLOCK)) even,
    contiguous blocks, block j starting at ceil(j * k / J)."""
    blocks = max(2, -(-k // BLOCK))
    cuts = [(j * k + blocks - 1) // blocks for j in range(blocks)] + [k]
    return list(itertools.pairwise(cuts))


def _strings(offsets: np.ndarray, data: np.ndarray) -> pa.StringArray:
    return pa.StringArray.from_buffers(len(offsets) - 1, pa.py_buffer(offsets), pa.py_buffer(data))


def _pack(radix: np.ndarray, digit: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, k) radices and digits -> (rows, J) block values and domains, slot 0 of each block
    the least significant."""
    spans = _blocks(k)
    rows = radix.shape[0]
    values = np.empty((rows, len(spans)), dtype=_U64)
    domains = np.empty((rows, len(spans)), dtype=_U64)
    for j, (lo, hi) in enumerate(spans):
        if lo == hi:  # the empty second block of a one-character row
            values[:, j], domains[:, j] = 0, 1
            continue
        v, d = digit[:, hi - 1].astype(_U64), radix[:, hi - 1].astype(_U64)
        for p in range(hi - 2, lo - 1, -1):  # Horner from the most significant slot
            v *= radix[:, p]
            v += digit[:, p]
            d *= radix[:, p]
        values[:, j], domains[:, j] = v, d
    return values, domains


def _unpack(values: np.ndarray, radix: np.ndarray, k: int, max_radix: int) -> np.ndarray:
    """Inverse of _pack: (rows, J) block values -> (rows, k) digits."""
    out = np.empty(radix.shape, dtype=np.uint8)
    for j, (lo, hi) in enumerate(_blocks(k)):
        if max_radix ** (hi - lo) < 2**52:
            # exact in float64: v < 2**52, and floor(v / r) cannot round up to the next integer
            # (v / r is at least 1/r below it; the rounding error is below v / r * 2**-53)
            v = values[:, j].astype(np.float64)
            for p in range(lo, hi):
                r = radix[:, p].astype(np.float64)
                q = np.floor(v / r)
                out[:, p] = v - q * r
                v = q
        else:
            v = values[:, j].copy()
            for p in range(lo, hi):
                q = v // radix[:, p]
                out[:, p] = v - q * radix[:, p]
                v = q
    return out


def keyed_u64(values: pa.Array, key: MaskingKey, purpose: str) -> np.ndarray:
    """A keyed 64-bit number per value (same value -> same number), via HMAC on distinct values."""
    secret = key.derive(f"hash/{purpose}")
    if values.type != pa.string():
        values = pc.cast(values, pa.string())
    encoded = pc.dictionary_encode(pc.fill_null(values, ""))
    table = np.array(
        [
            int.from_bytes(hmac.new(secret, v.encode(), hashlib.sha256).digest()[:8], "little")
            for v in encoded.dictionary.to_pylist()
        ],
        dtype=_U64,
    )
    return table[encoded.indices.to_numpy()] if len(table) else np.zeros(0, dtype=_U64)
