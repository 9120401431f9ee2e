"""Key checks and error translation for `SourceReader`: NULL and duplicate keys, and driver or
parsing errors turned into one `TdmError` naming the table (`_failing`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pyarrow as pa
import pyarrow.compute as pc

from tdm.core.errors import TdmError
from tdm.source.backend import _ConnectError
from tdm.source.names import _quote, _Target


class _Checks:
    """`SourceReader`'s checks of the key and its error messages; they use the reader's `_db`,
    `_safe` and `display_url`."""

    def _check_no_null_keys(self, target: _Target) -> None:
        nullable = [k for k in target.key if not target.rel.columns[k].notnull]
        if not nullable:
            return
        cond = "(" + " OR ".join(f"{_quote(k)} IS NULL" for k in nullable) + ")"
        with self._failing(target, "looking for NULL keys"):
            found = self._db.fetch(f"SELECT 1 FROM {target.rel.sql}{target.filter(cond)} LIMIT 1")
        if found:
            raise self._null_key(target)

    def _check_keys(self, target: _Target, keys: list[pa.Array]) -> None:
        if any(k.null_count for k in keys):
            raise self._null_key(target)
        n = len(keys[0]) if keys else 0
        if n < 2:
            return
        same = None
        for k in keys:
            eq = pc.equal(k.slice(1), k.slice(0, n - 1))
            same = eq if same is None else pc.and_(same, eq)
        if pc.any(same).as_py():
            at = pc.index(same, True).as_py()
            raise self._duplicate_key(target, tuple(k[at + 1].as_py() for k in keys))

    def _null_key(self, target: _Target) -> TdmError:
        return TdmError(
            f"{target.about}: the key ({', '.join(target.key)}) has NULL values; it must be "
            "unique and not null to read the table in batches: choose another source.key, or "
            "exclude those rows in source.where"
        )

    def _duplicate_key(self, target: _Target, value: tuple) -> TdmError:
        shown = value[0] if len(value) == 1 else value
        return TdmError(
            f"{target.about}: the key ({', '.join(target.key)}) is not unique in the source "
            f"(value {shown!r} occurs more than once), so batches would overlap; set source.key "
            "to columns that are unique"
        )

    @contextmanager
    def _failing(self, about: _Target | str, doing: str) -> Iterator[None]:
        """Turn driver and parsing errors into one clear TdmError naming the table (`about`: the
        resolved table, or the spec table's name before it is resolved)."""
        target = about if isinstance(about, _Target) else None
        head = target.about if target else f"table {about}"
        try:
            yield
        except _ConnectError as e:
            raise TdmError(f"{head}: {e}") from None
        except TdmError:
            raise
        except Exception as e:
            described = self._db.describe(e)
            if described is None:
                raise
            kind, message = described
            message = self._safe(message)
            where = f" {target.where!r}" if target and target.where else ""
            if kind == "connection":
                text = f"lost the connection to {self.display_url} while {doing}: {message}"
            elif kind == "where" and where:
                text = f"the source.where condition{where} is not valid here: {message}"
            elif kind == "missing":
                text = f"{message} (was it dropped or renamed?)"
            elif kind == "privilege":
                text = f"the source user may not read it: {message}"
            elif kind == "data":
                text = f"{doing} failed on a value: {message} (does a source value not fit its " + (
                    f"column's declared type, or fail in source.where{where}?)"
                    if where
                    else "column's declared type?)"
                )
            else:
                text = f"{doing} failed: {message}" + (
                    f" (source.where is{where})" if where else ""
                )
            raise TdmError(f"{head}: {text}") from None
