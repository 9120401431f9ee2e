"""Reading extracted tables from a source database (PostgreSQL, SQLite) in independent keyset
batches, with a fingerprint of the source state; subsets closed over foreign keys in
tdm.source.subset. docs/source.md has the design."""

from tdm.source.names import split_name
from tdm.source.reader import SourceReader

__all__ = ["SourceReader", "split_name"]
