"""What a source database backend provides (`_Backend`), the connection error the backends
raise, and the one-line form of driver messages."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa

from tdm.errors import TdmError
from tdm.source.names import _Relation, _Target
from tdm.types import LogicalType

if TYPE_CHECKING:
    from tdm.source.reader import SourceReader


class _ConnectError(TdmError):
    """The source database cannot be reached; `_failing` adds the table it was wanted for."""


# -- backends --------------------------------------------------------------------------------


class _Backend:
    def __init__(self, url, reader: SourceReader):
        self.url = url
        self.reader = reader

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
