"""Network addresses as the text PostgreSQL's input functions read: inet/cidr and
macaddr/macaddr8. For a unique column they are a function of the row index."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, field_validator

from tdm.core.arrowstr import HEX, concat_rows, fixed_width, join
from tdm.core.permute import mix64
from tdm.core.rand import key64
from tdm.generators.base import GenContext, Generator, register


def _noise(gen: Generator, idx: np.ndarray, purpose: str) -> np.ndarray:
    """64 random-looking bits per row index (values of index-based rows)."""
    return mix64(
        idx.astype(np.uint64) ^ key64(gen.info.seed, gen.info.table, gen.info.name, purpose)[0]
    )


def _top_mask(keep: np.ndarray | int) -> np.ndarray:
    """uint64 masks keeping the top `keep` (clipped to 0..64) bits."""
    keep = np.asarray(keep, dtype=np.int64)
    shifted = np.uint64(0xFFFFFFFFFFFFFFFF) << (64 - keep).clip(0, 63).astype(np.uint64)
    return np.where(keep <= 0, np.uint64(0), shifted)


def random_bits(gen: Generator, ctx: GenContext, idx: np.ndarray, width: int, m: int):
    """(rows, words) uint64 holding `width` random bits (the low bits of word 0 when width <= 64,
    else words 0, 1, ...). For a unique column they are a function of the row index, and the top
    m (<= 62) bits of the value are a keyed permutation of it: distinct rows, distinct values."""
    words = -(-width // 64)
    if not gen.info.unique:
        return ctx.rng.draw(lambda g, n: g.bit_generator.random_raw((n, words)))
    out = np.stack([_noise(gen, idx, f"bits{w}") for w in range(words)], axis=1)
    top = min(width, 64)
    slot = gen.unique_slots(idx, 2**m).astype(np.uint64)
    out[:, 0] &= ~(np.uint64((1 << m) - 1) << np.uint64(top - m))
    out[:, 0] |= slot << np.uint64(top - m)
    return out


def hex_groups(raw: np.ndarray, group: int, sep: str) -> pa.Array:
    """(rows, bytes) uint8 -> lower-case hex in groups of `group` bytes joined by `sep`."""
    n, size = raw.shape
    hexed = np.stack([HEX[raw >> 4], HEX[raw & 0xF]], axis=2).reshape(n, size // group, 2 * group)
    seps = np.full((n, size // group, 1), ord(sep), dtype=np.uint8)
    return fixed_width(np.concatenate([hexed, seps], axis=2).reshape(n, -1)[:, :-1])


_OCTETS = pa.array([str(i) for i in range(256)])


class IpParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    version: int = Field(4, description="4 or 6")
    cidr: bool = Field(False, description="network addresses with host bits zero")
    prefix: int | None = Field(None, ge=0, le=128, description="prefix length")

    @field_validator("version")
    @classmethod
    def _version(cls, v):
        if v not in (4, 6):
            raise ValueError("version must be 4 or 6")
        return v


@register
class IpAddress(Generator):
    """IPv4/IPv6 addresses (inet text), or networks with host bits zero (cidr)."""

    name = "ip_address"
    types = ("string",)
    Params = IpParams
    can_be_unique = True
    summary = "inet or cidr text: '10.1.2.3', '10.12.0.0/16', IPv6 in full form"

    def __init__(self, params, info):
        super().__init__(params, info)
        self.index_based = info.unique
        self.width = 32 if params.version == 4 else 128
        self.prefix = params.prefix
        if params.cidr and info.unique and params.prefix is None:
            self.prefix = 24 if params.version == 4 else 64  # unique networks: a fixed prefix

    def problems(self):
        if self.prefix is not None and self.prefix > self.width:
            return [("prefix", f"IPv{self.p.version} prefixes are 0..{self.width}", None)]
        return []

    def _unique_bits(self) -> int:
        return min(self.prefix if self.p.cidr and self.prefix is not None else self.width, 62)

    def capacity(self) -> int:
        return 2 ** self._unique_bits()

    def generate(self, ctx: GenContext) -> pa.Array:
        return self.at(ctx.idx, ctx)

    def at(self, idx: np.ndarray, ctx: GenContext) -> pa.Array:
        n = len(idx)
        prefix = None if self.prefix is None else np.full(n, self.prefix, dtype=np.int64)
        if self.p.cidr and prefix is None:  # not unique: a prefix per row
            prefix = ctx.rng.integers(8, 30) if self.width == 32 else ctx.rng.integers(32, 64)
        bits = random_bits(self, ctx, idx, self.width, self._unique_bits())
        if self.width == 32:
            addr = bits[:, 0] & np.uint64(0xFFFFFFFF)
            if self.p.cidr:
                addr &= _top_mask(prefix + 32)
            dot = (pa.array(["."]), np.zeros(n, dtype=np.int64))
            octets = [(_OCTETS, (addr >> np.uint64(s)) & np.uint64(255)) for s in (24, 16, 8, 0)]
            text = concat_rows(octets[0], dot, octets[1], dot, octets[2], dot, octets[3])
        else:
            if self.p.cidr:
                bits[:, 0] &= _top_mask(prefix)
                bits[:, 1] &= _top_mask(prefix - 64)
            text = hex_groups(bits.astype(">u8").view(np.uint8).reshape(n, 16), 2, ":")
        return text if prefix is None else join(text, "/", pa.array(prefix).cast(pa.string()))


class MacParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    bytes: int = Field(6, description="6 (macaddr) or 8 (macaddr8)")

    @field_validator("bytes")
    @classmethod
    def _size(cls, v):
        if v not in (6, 8):
            raise ValueError("bytes must be 6 (macaddr) or 8 (macaddr8)")
        return v


@register
class MacAddress(Generator):
    """MAC addresses 'xx:xx:xx:xx:xx:xx' (macaddr), or 8 bytes (macaddr8)."""

    name = "mac_address"
    types = ("string",)
    Params = MacParams
    can_be_unique = True
    summary = "macaddr text 'xx:xx:xx:xx:xx:xx' (bytes: 8 for macaddr8)"

    def __init__(self, params, info):
        super().__init__(params, info)
        self.index_based = info.unique

    def capacity(self) -> int:
        return 2 ** min(8 * self.p.bytes, 62)

    def generate(self, ctx: GenContext) -> pa.Array:
        return self.at(ctx.idx, ctx)

    def at(self, idx: np.ndarray, ctx: GenContext) -> pa.Array:
        width = 8 * self.p.bytes
        bits = random_bits(self, ctx, idx, width, min(width, 62))
        raw = bits[:, :1].astype(">u8").view(np.uint8).reshape(len(idx), 8)
        return hex_groups(raw[:, 8 - self.p.bytes :], 1, ":")
