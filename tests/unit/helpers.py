"""Building one generator and running it over a block of rows, for generator tests."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

import tdm.generators  # noqa: F401  (registers the generators)
from tdm.core.rand import RowRandom
from tdm.core.types import parse_type
from tdm.generators.base import REGISTRY, ColumnInfo, GenContext, Generator


def make(
    name: str,
    type_: str = "string",
    unique: bool = False,
    seed: int = 7,
    locales: tuple[str, ...] = ("en_US",),
    **params,
) -> Generator:
    cls = REGISTRY[name]
    info = ColumnInfo(
        table="t",
        name="c",
        type=parse_type(type_),
        seed=seed,
        unique=unique,
        today=dt.date(2026, 1, 1),
        locales=locales,
    )
    return cls(cls.Params.model_validate(params), info)


def run(gen: Generator, start: int, stop: int, row: dict | None = None, locale=None) -> pa.Array:
    ctx = GenContext(
        gen.info, start, stop, RowRandom(gen.info.stream(), start, stop), row or {}, locale, None
    )
    out = gen.generate(ctx)
    assert len(out) == stop - start
    return out
