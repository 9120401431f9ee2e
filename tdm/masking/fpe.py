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

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from tdm.masking.keys import MaskingKey

ROUNDS = 10
BLOCK = 13  # slots per block: 26**13 < 2**62, so a block fits a uint64 with room to add
_U64 = np.uint64


def _alphabets() -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """name -> (radix per byte (0: not in the alphabet), digit per byte, byte per (class, digit)),
    where the last one is indexed by base[byte] + digit, base[byte] being its class's offset."""
    out = {}
    for name, classes in {
        "alnum": ["abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789"],
        "digits": ["0123456789"],
        "hex": ["0123456789abcdef", "0123456789ABCDEF"],
    }.items():
        radix = np.zeros(256, dtype=np.uint8)
        digit = np.zeros(256, dtype=np.uint8)
        base = np.zeros(256, dtype=np.int64)
        at = 0
        for chars in classes:
            for i, ch in enumerate(chars.encode()):
                if not radix[ch]:
                    radix[ch], digit[ch], base[ch] = len(chars), i, at
            at += len(chars)
        lookup = np.frombuffer("".join(classes).encode(), dtype=np.uint8)
        out[name] = (radix, digit, base, lookup)
    return out


ALPHABETS = _alphabets()


class Pseudonymizer:
    """Format-preserving permutations under one key and one masking domain (the tweak)."""

    def __init__(self, key: MaskingKey, domain: str):
        self._aes = Cipher(algorithms.AES(key.derive(f"fpe/{domain}")), modes.ECB())

    def prf(self, blocks: np.ndarray) -> np.ndarray:
        """AES of each 16-byte row, first 8 bytes as uint64."""
        enc = self._aes.encryptor()
        out = np.frombuffer(enc.update(np.ascontiguousarray(blocks).tobytes()), dtype=_U64)
        return out[0::2]

    def permute_blocks(self, values: np.ndarray, domains: np.ndarray, shape: np.ndarray,
                       rounds: int = ROUNDS) -> np.ndarray:
        """Generalised Feistel over (rows, J) blocks; block j of row i lives in [0, domains[i,j]).

        The schedule depends on J only, and F on the other blocks and `shape`, so a row's result
        never depends on the other rows it is processed with."""
        v = values.astype(_U64, copy=True)
        n, blocks = v.shape
        for r in range(rounds):
            j = r % blocks
            others = np.zeros(n, dtype=_U64)
            for o in range(blocks):
                if o != j:
                    others = (others * _U64(0x9E3779B97F4A7C15)) ^ v[:, o]
            block = np.empty((n, 2), dtype=_U64)
            block[:, 0] = others
            block[:, 1] = (shape.astype(_U64) << _U64(24)) | _U64(blocks << 16 | r << 8 | j)
            f = self.prf(block.view(np.uint8))
            d = domains[:, j]
            v[:, j] = (v[:, j] + f % d) % d
        return v

    def strings(self, arr: pa.Array, alphabet: str = "alnum", skip_head: np.ndarray | int = 0,
                skip_tail: np.ndarray | int = 0) -> pa.Array:
        """Permute the alphabet characters of each string, except the first `skip_head` and the
        last `skip_tail` of them (per row or for all); nulls stay null."""
        radix_of, digit_of, base_of, lookup = ALPHABETS[alphabet]
        if len(arr) == 0:
            return pa.array([], pa.string())
        arr = pa.concat_arrays([pc.cast(arr, pa.string())])
        n = len(arr)
        offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[: n + 1]
        data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)[: offsets[-1]].copy()
        in_alphabet = radix_of[data] > 0
        seen = np.zeros(len(data) + 1, dtype=np.int32)
        np.cumsum(in_alphabet, out=seen[1:])
        start, count = seen[offsets[:-1]], seen[offsets[1:]] - seen[offsets[:-1]]
        head = np.minimum(np.broadcast_to(np.asarray(skip_head, np.int32), (n,)), count)
        tail = np.minimum(np.broadcast_to(np.asarray(skip_tail, np.int32), (n,)), count - head)
        k = (count - head - tail).astype(np.int32)  # characters permuted per row
        before = np.cumsum(k, dtype=np.int32) - k  # slots of earlier rows
        row = np.repeat(np.arange(n, dtype=np.int32), k)
        rank = np.arange(int(k.sum()), dtype=np.int32) - before[row]
        pos = np.flatnonzero(in_alphabet)[start[row] + head[row] + rank]  # byte of each slot
        byte = data[pos]
        radix, digit = radix_of[byte], digit_of[byte]
        blocks_of = np.maximum(2, -(-k // BLOCK))
        new = np.empty(pos.size, dtype=np.uint8)
        kinds = np.unique(blocks_of[k > 0])
        for blocks in kinds:
            if len(kinds) == 1:
                rows, member, local = np.arange(n), slice(None), row
            else:
                rows = np.flatnonzero(blocks_of == blocks)
                member = blocks_of[row] == blocks
                local = np.searchsorted(rows, row[member])
            new[member] = self._permute_rows(k[rows], local, rank[member], radix[member],
                                             digit[member], int(blocks), alphabet)
        data[pos] = lookup[base_of[byte] + new]  # each digit back in its character's class
        out = pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))
        if arr.null_count:
            out = pc.if_else(pc.is_null(arr), pa.nulls(n, pa.string()), out)
        return out

    def _permute_rows(self, kk, local, rank, radix, digit, blocks: int, alphabet: str):
        """Slots of rows that all have `blocks` blocks: pack, permute, unpack."""
        k = kk[local]
        if blocks == 2:  # the common case, without integer division per slot
            half = (k + 1) >> 1
            j = (rank >= half).astype(np.int32)
            place = rank - j * half
        else:  # contiguous, even split of each row into blocks
            j = rank * blocks // k
            place = rank - (j * k + blocks - 1) // blocks
        width = int(place.max()) + 1
        flat = (local * blocks + j) * width + place
        rad = np.ones(len(kk) * blocks * width, dtype=np.uint8)
        dig = np.zeros(len(kk) * blocks * width, dtype=np.uint8)
        rad[flat], dig[flat] = radix, digit
        rad, dig = rad.reshape(len(kk), blocks, width), dig.reshape(len(kk), blocks, width)
        values = np.zeros((len(kk), blocks), dtype=_U64)
        domains = np.ones((len(kk), blocks), dtype=_U64)
        for p in range(width):
            values += dig[:, :, p] * domains
            domains *= rad[:, :, p]
        tag = (kk.astype(_U64) << _U64(8)) | _U64(alphabet_id(alphabet))
        values = self.permute_blocks(values, domains, tag)
        for p in range(width):
            r = rad[:, :, p].astype(_U64)
            dig[:, :, p] = values % r
            values //= r
        return dig.reshape(-1)[flat]

    def integers(self, values: np.ndarray) -> np.ndarray:
        """A permutation of int64 that keeps the sign and the number of digits."""
        v = np.asarray(values, dtype=np.int64)
        a = np.abs(v).astype(_U64)
        powers = _U64(10) ** np.arange(20, dtype=_U64)
        length = np.searchsorted(powers[1:], a, side="right") + 1  # decimal digits, 0 -> 1
        negative_digit = (v < 0) & (length == 1)  # -1..-9: nine values, not ten
        base = np.where(length == 1, negative_digit.astype(_U64), powers[length - 1])
        y = a - base  # position among the numbers of this length (and sign)
        low_digits = (length - 1) // 2
        p = powers[low_digits]
        high = np.where(length == 1, np.where(negative_digit, _U64(9), _U64(10)),
                        _U64(9) * powers[length - 1 - low_digits])
        domains = np.stack([high, p], axis=1)
        out = self.permute_blocks(np.stack([y // p, y % p], axis=1), domains,
                                  length.astype(_U64) | _U64(0x100))
        result = (base + out[:, 0] * p + out[:, 1]).astype(np.int64)
        return np.where(v < 0, -result, result)


def alphabet_id(name: str) -> int:
    return list(ALPHABETS).index(name) + 1


def keyed_hash(values: pa.Array, key: MaskingKey, purpose: str) -> list[bytes | None]:
    """HMAC-SHA256 of each value's UTF-8 (or decimal) text, computed once per distinct value."""
    secret = key.derive(f"hash/{purpose}")
    encoded = pc.dictionary_encode(pc.cast(values, pa.string()) if values.type != pa.string()
                                   else values)
    digests = [hmac.new(secret, v.encode(), hashlib.sha256).digest()
               for v in encoded.dictionary.to_pylist()]
    return [None if i is None else digests[i] for i in encoded.indices.to_pylist()]


def keyed_u64(values: pa.Array, key: MaskingKey, purpose: str) -> np.ndarray:
    """A keyed 64-bit number per value (same value -> same number), via HMAC on distinct values."""
    secret = key.derive(f"hash/{purpose}")
    if values.type != pa.string():
        values = pc.cast(values, pa.string())
    encoded = pc.dictionary_encode(pc.fill_null(values, ""))
    table = np.array([int.from_bytes(hmac.new(secret, v.encode(), hashlib.sha256).digest()[:8],
                                     "little") for v in encoded.dictionary.to_pylist()],
                     dtype=_U64)
    return table[encoded.indices.to_numpy()] if len(table) else np.zeros(0, dtype=_U64)
