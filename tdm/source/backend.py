"""What a source database backend provides (`_Backend`), the connection error the backends
raise, and the one-line form of driver messages."""

from __future__ import annotations

import pyarrow as pa

from tdm.core.errors import TdmError
from tdm.core.types import LogicalType
from tdm.core.urls import without_secret
from tdm.source.names import _Relation, _Target


class _ConnectError(TdmError):
    """The source database cannot be reached; `_failing` adds the table it was wanted for."""


# -- backends --------------------------------------------------------------------------------


class _Backend:
    def __init__(self, url, source_url: str):
        """`url`: the parsed SQLAlchemy URL; `source_url`: the text it came from (secret)."""
        self.url = url
        self.source_url = source_url

    @property
    def display_url(self) -> str:
        return self.safe(self.source_url)

    def safe(self, text: str) -> str:
        """`text` without any form of the source URL's password."""
        return without_secret(text, self.source_url)

    def fetch(self, sql: str) -> list[tuple]:
        raise NotImplementedError

    def select(self, sql_from: str, names: list[str], kinds: list[LogicalType]) -> list[pa.Array]:
        raise NotImplementedError

    def keyset(self, key: tuple[str, ...], bound: tuple) -> str:
        raise NotImplementedError

    def relation(self, parts: list[str]) -> _Relation | None:
        raise NotImplementedError

    def relation_names(self) -> list[str]:
        raise NotImplementedError

    def check_type(self, target: _Target, column: str, logical: LogicalType) -> None:
        return None

    def tablesample(self, target: _Target, limit: int) -> str | None:
        return None

    def state(self, target: _Target, columns: list[str]) -> dict:
        raise NotImplementedError

    def describe(self, error: Exception) -> tuple[str, str] | None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError
