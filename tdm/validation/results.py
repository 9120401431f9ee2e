"""Check results: the record of one check, per-batch results merged, and where they are kept
beside a version (checks/<table>/<batch>.<kind>.json, and the report, validation.json)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from tdm.validation.suite import label

REPORT = "validation.json"
EXAMPLES = 5  # example row indices kept per check


@dataclass
class CheckResult:
    name: str
    table: str
    column: str | None
    expectation: str
    success: bool
    unexpected_count: int = 0
    element_count: int = 0
    examples: list[int] = field(default_factory=list)
    details: dict = field(default_factory=dict)

    @property
    def message(self) -> str:
        where = self.table
        if self.column:
            where += f"({self.column})" if ", " in self.column else f".{self.column}"
        text = f"{where}: {self.expectation} {'passed' if self.success else 'FAILED'}"
        if self.unexpected_count or not self.success:
            text += f": {self.unexpected_count:,} of {self.element_count:,} rows unexpected"
        if self.examples:
            text += f" (e.g. rows {', '.join(map(str, self.examples))})"
        why = self.details.get("error") or self.details.get("reason")
        if why:
            text += f" ({why})"
        return text

    def to_dict(self) -> dict:
        return {**asdict(self), "message": self.message}

    @classmethod
    def from_dict(cls, d: dict) -> CheckResult:
        return cls(**{k: v for k, v in d.items() if k != "message"})


def merge(results: list[CheckResult]) -> list[CheckResult]:
    """Per-batch results of the same check as one: counts added, first examples kept."""
    merged: dict[str, CheckResult] = {}
    for r in results:
        key = r.name + json.dumps(r.details.get("kwargs"), sort_keys=True, default=str)
        m = merged.get(key)
        if m is None:
            merged[key] = CheckResult(**{**asdict(r), "details": dict(r.details)})
            continue
        m.success &= r.success
        m.unexpected_count += r.unexpected_count
        m.element_count += r.element_count
        m.examples = (m.examples + r.examples)[:EXAMPLES]
        if "error" in r.details and "error" not in m.details:
            m.details["error"] = r.details["error"]
    return list(merged.values())


def load_report(store, dataset: str, version: str) -> dict | None:
    text = store.read_text(dataset, version, REPORT)
    return json.loads(text) if text is not None else None


def _batch_file(table: str, batch: str, kind: str) -> tuple[str, str, str]:
    """Where a batch's results are kept in its version: checks/<table>/<batch>.<kind>.json."""
    return "checks", table, f"{batch}.{kind}.json"


def save_batch_results(
    store,
    dataset: str,
    version: str,
    table: str,
    batch: str,
    results: list[CheckResult],
    kind: str = "suite",
    covers: list[str] | None = None,
) -> None:
    """Results of one validation, kept with `batch`; `covers` lists every batch it validated
    (consecutive batches are validated together), so a later validation of one of them alone is
    noticed instead of counted twice."""
    record = {
        "covers": [batch] if covers is None else covers,
        "results": [r.to_dict() for r in results],
    }
    text = json.dumps(record, default=str)
    store.write_text(dataset, version, *_batch_file(table, batch, kind), text=text)


def save_group_results(
    store, dataset: str, version: str, table: str, batches: list[str], results: list[CheckResult]
) -> None:
    """Results of batches validated together: kept with the first, which lists them all; the
    others get none, so the version's report counts every row once."""
    for i, batch in enumerate(batches):
        first = i == 0
        save_batch_results(
            store,
            dataset,
            version,
            table,
            batch,
            results if first else [],
            covers=batches if first else [],
        )


def load_batch_results(
    store, dataset: str, version: str, table: str, batches: list[str], kind: str = "suite"
) -> list[CheckResult] | None:
    """The stored results covering every batch exactly once, or None (then validate again)."""
    out, covered = [], []
    for batch in batches:
        text = store.read_text(dataset, version, *_batch_file(table, batch, kind))
        if text is None:
            return None
        record = json.loads(text)
        covered += record["covers"]
        out += [CheckResult.from_dict(d) for d in record["results"]]
    return out if sorted(covered) == sorted(batches) else None


def result_of(table: str, cfg: dict, success: bool, **rest: Any) -> CheckResult:
    """The CheckResult of one expectation config: named by where and what it checks, its
    arguments (but the column) beside the other details."""
    column, where = label(table, cfg)
    args = {k: v for k, v in cfg["kwargs"].items() if k != "column"}
    details = {"kwargs": args, **rest.pop("details", {})}
    return CheckResult(
        f"{where} {cfg['type']}", table, column, cfg["type"], success, details=details, **rest
    )
