"""Reading extracted tables from a source database (PostgreSQL, SQLite) in independent keyset
batches, with a fingerprint of the source state; subsets closed over foreign keys in
tdm.source.subset; one exported snapshot for a whole run in tdm.source.snapshot. docs/source.md
has the design."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tdm.source.names import split_name

if TYPE_CHECKING:
    from tdm.source.reader import SourceReader

__all__ = ["SourceReader", "split_name"]


def __getattr__(name: str) -> object:
    # the drivers weigh ~30 MB: loaded when a reader is wanted, not by tdm.source.snapshot
    if name == "SourceReader":
        from tdm.source.reader import SourceReader

        return SourceReader
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
