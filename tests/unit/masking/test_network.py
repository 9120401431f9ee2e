"""The ip_address mask: valid addresses out, prefix lengths and cidr networks kept, collision-free,
consistent under one key and different under another."""

from __future__ import annotations

import ipaddress

import numpy as np
import pyarrow as pa
import pytest

from tdm.core.errors import TdmError
from tdm.core.types import parse_type
from tdm.masking.keys import MaskingKey
from tdm.masking.strategies import STRATEGIES
from tdm.masking.strategies.base import MaskBatch, MaskColumn


def mask(values: list, key: bytes = b"k" * 32) -> list:
    cls = STRATEGIES["ip_address"]
    strategy = cls(cls.Params(), MaskColumn("t", "ip", parse_type("string")), MaskingKey(key))
    return strategy.apply(pa.array(values, pa.string()), MaskBatch()).to_pylist()


def test_addresses_stay_valid_distinct_and_consistent():
    rng = np.random.default_rng(1)
    v4 = [str(ipaddress.IPv4Address(int(x))) for x in rng.integers(0, 2**32, 3000)]
    v4 = list(dict.fromkeys(v4))
    out = mask(v4)
    assert all(ipaddress.ip_address(o).version == 4 for o in out)
    assert len(set(out)) == len(out) and sum(a == b for a, b in zip(v4, out, strict=True)) < 3
    assert mask(v4[:50]) == out[:50]  # the same address masks alike, in any batch
    assert mask(v4[:50], b"x" * 32) != out[:50]  # and differently under another key


def test_prefixes_cidr_networks_ipv6_nulls_and_non_addresses():
    values = ["10.12.16.0/20", "192.168.1.7/24", "2001:db8::1", "2001:db8::/64", None, "n/a"]
    out = mask(values)
    net = ipaddress.ip_network(out[0])  # strict: host bits zero, a valid cidr
    assert net.prefixlen == 20 and out[0] != values[0]
    iface = ipaddress.ip_interface(out[1])
    assert iface.network.prefixlen == 24 and iface.ip != iface.network.network_address
    assert out[1] != values[1]
    assert ipaddress.ip_address(out[2]) in ipaddress.ip_network("2001:db8::/64")
    assert out[2] != values[2]  # a plain IPv6 address: its last 32 bits permuted
    assert ipaddress.ip_network(out[3]).prefixlen == 64
    assert out[4:] == [None, "n/a"]


def test_networks_too_small_for_a_pseudonym_are_refused():
    """/16: 65,536 networks, fewer than the 10**6 values FF1 needs: an error, not a weak mask."""
    with pytest.raises(TdmError, match=r"t\.ip: mask 'ip_address'.*16 bits"):
        mask(["10.12.0.0/16"])


def test_addresses_with_a_prefix_keep_a_host_part_and_stay_distinct():
    rng = np.random.default_rng(2)
    values = list(
        dict.fromkeys(
            f"{ipaddress.IPv4Address(int(x))}/24" for x in rng.integers(0, 2**32, 3000) if x & 255
        )
    )
    out = mask(values)
    assert len(set(out)) == len(out)
    assert all(int(ipaddress.ip_interface(o).ip) & 255 for o in out)
