"""One run's production of a dataset version: batches generated or extracted, then masked.

Masking happens here, in memory, between producing a batch and writing it: unmasked extracted
rows never touch disk, and everything in the version store is already masked.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from tdm.errors import SpecError
from tdm.masking.apply import Masker
from tdm.masking.keys import MaskingKey
from tdm.plan import Plan
from tdm.versions import version_id


@dataclass
class Production:
    plan: Plan
    masker: Masker
    snapshot: str | None
    version: str

    @classmethod
    def start(cls, plan: Plan, key: MaskingKey | None) -> Production:
        """Check extracted tables' samples against the PII gate, then fix the version id."""
        if any(plan.extracted(t) for t in plan.spec.tables):
            from tdm.masking.gate import rescan

            _, problems = rescan(plan)
            if problems:
                raise SpecError(str(plan.source or plan.name), problems)
        masker = Masker(plan, key)
        snapshot = plan.snapshot()
        return cls(plan, masker, snapshot, version_id(plan.spec, masker.fingerprint, snapshot))

    def batch(self, table: str, start: int, stop: int) -> pa.Table:
        return self.masker.apply(table, self.plan.generate(table, start, stop), start)

    def facts(self) -> dict:
        """What the manifest records about masking and the source: never the key itself."""
        return {
            "key_fingerprint": self.masker.fingerprint,
            "masked_columns": {
                t: self.masker.describe(t) for t in self.plan.order if self.masker.describe(t)
            },
            "source_snapshot": self.snapshot,
        }
