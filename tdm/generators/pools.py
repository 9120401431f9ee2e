"""Value pools from Faker, built once per process and locale, then drawn from with numpy.

Faker supplies the vocabulary (names, cities, formats) of each locale; pools are sampled from a
Faker instance seeded per (locale, pool), so they are identical in every process. Rows draw from
the pool of their own locale (see `GenContext.locale`).

Sampling a pool calls Faker once per value (about a second for the pools of a spec like
schemas/retail.yaml, in every process that generates). A sampled pool being a pure function of
(Faker's version, locale, method, size), it is also kept on disk (Arrow IPC, under
$TDM_POOL_CACHE, default ~/.cache/tdm/pools/faker-<version>/) and read back by the next process
instead; so are the lists providers hold (`provider_values`). An unreadable or unwritable cache
only means sampling again.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from functools import cache
from pathlib import Path

import faker as faker_package
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from faker import Faker

from tdm.core.arrowstr import take
from tdm.core.errors import TdmError
from tdm.core.files import atomic_write
from tdm.core.rand import stream_key
from tdm.generators.base import GenContext

POOL_SIZE = 4096


def faker(locale: str, purpose: str) -> Faker:
    """A Faker seeded for one pool. A new one each call (never cached): a shared instance's
    random state advances with every use, so a pool would depend on what the process built
    before it. The pools themselves are cached."""
    fake = Faker(locale)
    fake.seed_instance(stream_key("pool", locale, purpose) % 2**63)
    return fake


@cache
def sampled(locale: str, method: str, size: int = POOL_SIZE) -> pa.StringArray:
    """`size` values of a Faker method (e.g. 'city'), in Faker's own frequencies."""

    def sample() -> pa.StringArray:
        call = getattr(faker(locale, method), method)
        return pa.array([str(call()) for _ in range(size)], type=pa.string())

    return _kept(f"{locale}.{method}.{size}", sample, size)


def _kept(name: str, build: Callable[[], pa.StringArray], size: int | None) -> pa.StringArray:
    """A pool read back from the disk cache if there, else built and kept there."""
    cache = pool_cache()
    path = cache / f"{name}.arrow" if cache else None
    kept = _read_pool(path, size) if path else None
    if kept is not None:
        return kept
    values = build()
    if path:
        _write_pool(path, values)
    return values


def pool_cache() -> Path | None:
    """Where sampled pools are kept: one directory per Faker version (None: no home)."""
    try:
        root = os.environ.get("TDM_POOL_CACHE") or Path(
            os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "tdm", "pools"
        )
    except RuntimeError:  # no home directory to keep them in
        return None
    return Path(root) / f"faker-{faker_package.VERSION}"


def _read_pool(path: Path, size: int | None) -> pa.StringArray | None:
    try:
        with pa.OSFile(str(path), "rb") as f:
            table = pa.ipc.open_file(f).read_all()
    except (OSError, pa.ArrowException):
        return None
    if table.schema.names != ["value"] or size not in (None, table.num_rows):
        return None
    column = table.column(0).combine_chunks()
    return column if column.type == pa.string() and not column.null_count else None


def _write_pool(path: Path, values: pa.StringArray) -> None:
    """Atomically (a reader never sees half a file); any failure leaves no cache."""
    table = pa.table({"value": values})

    def write(tmp: Path) -> None:
        with pa.OSFile(str(tmp), "wb") as f, pa.ipc.new_file(f, table.schema) as writer:
            writer.write_table(table)

    with contextlib.suppress(TdmError):  # not writable here: sampled again next time
        atomic_write(path, write)


@cache
def provider_values(locale: str, attribute: str) -> pa.StringArray:
    """A list a Faker provider holds, e.g. 'jobs', 'countries', 'word_list' (deduplicated).
    Kept on disk like the sampled pools: making a Faker of a locale costs ~0.1-0.3 s."""

    def read() -> pa.StringArray:
        for provider in faker(locale, attribute).providers:
            values = getattr(provider, attribute, None)
            if values:
                keys = values.keys() if isinstance(values, dict) else values
                return pa.array(list(dict.fromkeys(str(v) for v in keys)), type=pa.string())
        raise LookupError(f"Faker locale {locale} has no {attribute!r}")

    return _kept(f"{locale}.attribute.{attribute}", read, None)


@cache
def distinct(loader: Callable[[str], pa.Array], locales: tuple[str, ...]) -> pa.StringArray:
    """Distinct values over the locales' pools, in a fixed order (for unique columns)."""
    merged = pa.concat_arrays([loader(loc) for loc in locales])
    return pc.unique(merged).sort()


def pick(ctx: GenContext, loader: Callable[[str], pa.Array]) -> pa.Array:
    """One value per row from the pool of the row's locale (uniform over the pool)."""
    u = ctx.rng.random()
    pools = [loader(loc) for loc in ctx.info.locales]
    if ctx.locale is None or len(pools) == 1:
        return take(pools[0], (u * len(pools[0])).astype(np.int64))
    sizes = np.array([len(p) for p in pools], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    idx = offsets[ctx.locale] + (u * sizes[ctx.locale]).astype(np.int64)
    return take(pa.concat_arrays(pools), idx)


def pick_unique(ctx: GenContext, gen, loader: Callable[[str], pa.Array]) -> pa.Array:
    """Distinct values for distinct rows (needs rows <= pool size; checked via capacity)."""
    pool = distinct(loader, ctx.info.locales)
    return take(pool, gen.unique_slots(ctx.idx, len(pool)))
