"""Network addresses: a keyed permutation that keeps them valid addresses (PostgreSQL inet and
cidr, or text), so a masked copy loads into the application's own columns."""

from __future__ import annotations

import ipaddress

import numpy as np
import pyarrow as pa

from tdm.masking.strategies.base import MaskBatch, Strategy, as_string, per_distinct, register
from tdm.masking.strategies.fpe import Pseudonymizer


@register
class IpAddress(Strategy):
    """IPv4/IPv6 addresses (with or without a /prefix) to other valid addresses: the network
    bits and the host bits are permuted apart under the key, so the prefix length, a zero host
    part (a cidr network) and distinctness are kept, and the same address masks alike in every
    table. IPv6 keeps its first 64 bits and permutes the interface identifier's last 32. Values
    that are not addresses are left as they are."""

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
        prefix = iface.network.prefixlen if "/" in text else width
        number = int(iface.ip)
        if width == 128:  # keep the routing prefix: permute the low 32 bits in the host part
            low = max(width - prefix, 0)
            bits = min(low, 32)
            keep = number >> bits << bits
            part = number & ((1 << bits) - 1)
            masked = keep | self._permute(part, bits, "v6", zero_stays=True)
        else:
            net, host_bits = number >> (width - prefix), width - prefix
            host = number & ((1 << host_bits) - 1)
            masked = (self._permute(net, prefix, "net") << host_bits) | self._permute(
                host, host_bits, "host", zero_stays=True
            )
        address = ipaddress.ip_address(masked) if width == 32 else ipaddress.IPv6Address(masked)
        return f"{address}/{prefix}" if "/" in text else str(address)

    def _permute(self, value: int, bits: int, part: str, zero_stays: bool = False) -> int:
        """A keyed permutation of [0, 2**bits) (0 kept at 0 when asked, so a network's host
        part stays zero): a digit-preserving one, walked until it lands in range."""
        if bits == 0 or (zero_stays and value == 0):
            return value
        cache = self.__dict__.setdefault("_fpes", {})
        fpe = cache.get((part, bits))
        if fpe is None:
            fpe = cache[part, bits] = Pseudonymizer(self.key, f"{self.domain()}/{part}{bits}")
        top = (1 << bits) - 1
        out = np.array([value], dtype=np.int64)
        while True:
            out = fpe.integers(out)
            v = int(out[0])
            if 0 <= v <= top and not (zero_stays and v == 0):
                return v
