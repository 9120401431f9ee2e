"""One run's production of a dataset version: batches generated or extracted, then masked.

Masking happens here, in memory, between producing a batch and writing it: unmasked extracted
rows never touch disk, and everything in the version store is already masked.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pyarrow as pa

from tdm.core.errors import SpecError
from tdm.masking.apply import Masker
from tdm.masking.gate import scan
from tdm.masking.keys import MaskingKey
from tdm.plan.model import Plan
from tdm.store.ids import version_id


def masked_batch(
    plan: Plan,
    masker: Masker,
    table: str,
    start: int,
    stop: int,
    timings: dict[str, float] | None = None,
) -> tuple[pa.Table, pa.Table]:
    """Rows [start, stop) of `table`, generated or extracted, and the same rows masked: the one
    production step of `tdm generate`, of a run's batch assets and of the CLI. `timings`, if
    given, adds the seconds spent producing ("generate" or "extract") and masking ("mask")."""
    started = time.perf_counter()
    raw = plan.generate(table, start, stop)
    produced = time.perf_counter()
    masked = masker.apply(table, raw, start)
    if timings is not None:
        stage = "extract" if plan.extracted(table) else "generate"
        timings[stage] = timings.get(stage, 0.0) + produced - started
        timings["mask"] = timings.get("mask", 0.0) + time.perf_counter() - produced
    return raw, masked


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
            _, problems = scan(plan)
            if problems:
                raise SpecError(str(plan.source or plan.name), problems)
        masker = Masker(plan, key)
        snapshot = plan.snapshot()
        return cls(plan, masker, snapshot, version_id(plan.spec, masker.fingerprint, snapshot))

    def batch(
        self, table: str, start: int, stop: int, timings: dict[str, float] | None = None
    ) -> tuple[pa.Table, pa.Table]:
        return masked_batch(self.plan, self.masker, table, start, stop, timings)

    def facts(self) -> dict:
        """What the manifest records about masking and the source: never the key itself."""
        return {
            "key_fingerprint": self.masker.fingerprint,
            "masked_columns": {
                t: self.masker.describe(t) for t in self.plan.order if self.masker.describe(t)
            },
            "source_snapshot": self.snapshot,
            **({"subset": self.plan.subset.report()} if self.plan.subset is not None else {}),
        }
