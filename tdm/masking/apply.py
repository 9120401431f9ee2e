"""Applying the resolved masks to a batch, in memory, before anything is written."""

from __future__ import annotations

import pyarrow as pa

from tdm.core.errors import TdmError
from tdm.masking.keys import MaskingKey
from tdm.masking.strategies import STRATEGIES
from tdm.masking.strategies.base import MaskBatch, MaskColumn


class Masker:
    """The strategies of every masked column, built once per run with the run's key."""

    def __init__(self, plan, key: MaskingKey | None):

        self.key = key
        self.strategies: dict[str, dict] = {}
        if self.active(plan) and key is None:
            raise TdmError(f"{plan.name} masks columns but no masking key was given")
        for tname, columns in plan.masks.items():
            for cname, resolved in columns.items():
                cls = STRATEGIES[resolved.spec.strategy]
                col = plan.spec.tables[tname].columns[cname]
                self.strategies.setdefault(tname, {})[cname] = cls(
                    cls.Params.model_validate(resolved.spec.params),
                    MaskColumn(tname, cname, col.logical, tuple(plan.spec.locales)),
                    key,
                )

    @staticmethod
    def active(plan) -> bool:
        return any(plan.masks.get(t) for t in plan.spec.tables)

    @property
    def fingerprint(self) -> str | None:
        """The key's fingerprint when anything is masked (part of the version id)."""
        return self.key.fingerprint if self.key is not None and self.strategies else None

    def apply(self, table: str, data: pa.Table, start: int) -> pa.Table:
        strategies = self.strategies.get(table)
        if not strategies or data.num_rows == 0:
            return data

        raw = {name: data.column(name).combine_chunks() for name in data.column_names}
        batch = MaskBatch(columns=raw, start=start)
        out = [
            strategies[n].apply(raw[n], batch) if n in strategies else raw[n]
            for n in data.column_names
        ]
        return pa.Table.from_arrays(out, schema=data.schema)

    def describe(self, table: str) -> dict[str, str]:
        """Column -> strategy name, for metadata (never values, never the key)."""
        return {c: s.name for c, s in self.strategies.get(table, {}).items()}
