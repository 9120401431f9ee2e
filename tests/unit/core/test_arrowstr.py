"""tdm.core.arrowstr.lower: utf8_lower's result, through ASCII's table only when every byte is
ASCII (also for slices of arrays whose other values are not)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from tdm.core.arrowstr import lower

VALUES = ["John.Smith@Example.COM", None, "", "ÄRGER@x.DE", "İstanbul", "ǅemal", "ΣΊΣΥΦΟΣ", "a1-Z9"]


@pytest.mark.parametrize("start", range(len(VALUES)))
def test_lower_is_utf8_lower_on_any_slice(start):
    arr = pa.array(VALUES, pa.string())
    for part in (arr.slice(start), arr.slice(start, 1), arr.slice(0, start)):
        assert lower(part).to_pylist() == pc.utf8_lower(part).to_pylist()


def test_large_strings_and_chunked_arrays_are_lowered_too():
    large = pa.array(VALUES, pa.large_string())
    assert lower(large).to_pylist() == pc.utf8_lower(large).to_pylist()
    chunked = pa.chunked_array([VALUES[:3], VALUES[3:]], pa.string())
    assert lower(chunked).to_pylist() == pc.utf8_lower(chunked).to_pylist()
