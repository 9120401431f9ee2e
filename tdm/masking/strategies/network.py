"""Network addresses: a keyed permutation that keeps them valid addresses (PostgreSQL inet and
cidr, or text), so a masked copy loads into the application's own columns."""

from __future__ import annotations

import ipaddress

import numpy as np
import pyarrow as pa

from tdm.masking.strategies.base import MaskBatch, Strategy, as_string, per_distinct, register
from tdm.masking.strategies.fpe import ShortValues


@register
class IpAddress(Strategy):
    """IPv4/IPv6 addresses (with or without a /prefix) to other valid addresses under the key
    (FF1, radix 2): an IPv4 address has its 32 bits permuted (the host part stays non-zero, the
    prefix length is kept), an IPv4 network (a cidr, host part zero) its network bits, so it
    stays a network, and IPv6 keeps its routing prefix and permutes the last 32 bits of the
    interface identifier. Distinct values stay distinct, the same value masks alike in every
    table. Networks shorter than /20 are refused (fewer than 10**6 of them). Values that are
    not addresses are left as they are."""

    name = "ip_address"
    types = ("string",)
    bijective = True
    summary = "keyed permutation of IP addresses: valid, prefix length and cidr networks kept"

    def mask(self, values: pa.Array, batch: MaskBatch) -> pa.Array:
        return per_distinct(as_string(values), self._distinct)

    def _distinct(self, values: pa.Array) -> pa.Array:
        return pa.array([None if v is None else self._one(v) for v in values.to_pylist()])

    def _one(self, text: str) -> str:
        try:
            iface = ipaddress.ip_interface(text.strip())
        except ValueError:
            return text
        width = iface.max_prefixlen
        slash = "/" in text
        prefix = iface.network.prefixlen if slash else width
        number, host_bits = int(iface.ip), width - prefix
        host = number & ((1 << host_bits) - 1)
        if width == 128:  # keep the routing prefix: permute the low 32 bits of the host part
            bits = min(host_bits, 32) if slash else 32
            low = number & ((1 << bits) - 1)
            masked = number - low + self._permute(low, bits, "v6", nonzero=slash)
        elif slash and host_bits and host == 0:  # a network: its network bits, host still 0
            masked = self._permute(number >> host_bits, prefix, "net") << host_bits
        else:  # an address: all 32 bits, its host part kept non-zero
            masked = self._permute(number, 32, "v4", nonzero_low=host_bits)
        address = ipaddress.ip_address(masked) if width == 32 else ipaddress.IPv6Address(masked)
        return f"{address}/{prefix}" if slash else str(address)

    def _permute(
        self, value: int, bits: int, part: str, nonzero: bool = False, nonzero_low: int = 0
    ) -> int:
        """FF1 (radix 2) over [0, 2**bits), walked on while the result is 0 (`nonzero`, a host
        part) or its low `nonzero_low` bits are (an address is not its network's). Fewer than
        20 bits is fewer than 10**6 values: refused."""
        if nonzero and value == 0:
            return value  # a network in IPv6 notation: nothing host-like to permute
        if bits < 20:
            raise ShortValues(1, f"have only {bits} bits to permute ({2**bits:,} possible images)")
        low = (1 << nonzero_low) - 1
        out = np.array([value], dtype=np.uint64)
        while True:
            out = self.fpe.ff1(2).derange_numbers(out, bits, self.fpe.tweak + part.encode())
            v = int(out[0])
            if not (nonzero and v == 0) and not (nonzero_low and v & low == 0):
                return v
