"""The PII gate: what each column is and whether an extracted one may leave unmasked.

Detection by name for every column and by values for extracted tables' samples; extracted columns
that look personal and have no mask and no `allow:` fail, before anything is written.
Generated columns are synthetic: reported, never gated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from tdm.core.errors import Problem, problem_at
from tdm.generators.reference import ForeignKeyGen
from tdm.masking.pii.detect import detect_column, suggestion
from tdm.masking.policy import Resolved, column_path, resolve_masks


@dataclass
class ColumnReport:
    table: str
    column: str
    status: str  # masked | allowed | synthetic | pii | clean
    mask: Resolved | None = None
    allow: str | None = None
    findings: list[Any] = field(default_factory=list)


def detect(plan, samples: dict[str, pa.Table] | None = None) -> dict[tuple[str, str], list]:
    """Findings per column: by name for all, by values for extracted tables with a sample."""
    out = {}
    for tname, table in plan.spec.tables.items():
        sample = (samples or {}).get(tname)
        for cname, col in table.columns.items():
            values = (
                sample.column(cname)
                if sample is not None and cname in sample.column_names
                else None
            )
            if values is not None:
                values = values.combine_chunks()
            out[(tname, cname)] = detect_column(
                cname, col.logical, values, tuple(plan.spec.locales)
            )
    return out


def report(plan, findings: dict[tuple[str, str], list]) -> list[ColumnReport]:
    """What happens to every column, for `tdm scan` and the gate."""
    out = []
    for tname, table in plan.spec.tables.items():
        for cname, col in table.columns.items():
            found = [
                f
                for f in findings.get((tname, cname), [])
                if f.confidence >= plan.spec.masking.min_confidence
            ]
            mask = plan.masks.get(tname, {}).get(cname)
            if mask is not None:
                status = "masked"
            elif col.allow or (col.mask is not None and col.mask.strategy == "keep"):
                status = "allowed"
            elif (
                table.source is None
                and not isinstance(plan.gens[tname][cname], ForeignKeyGen)
                and found
            ):
                status = "synthetic"
            elif found and table.source is not None:
                status = "pii"
            else:
                status = "clean"
            out.append(
                ColumnReport(
                    tname,
                    cname,
                    status,
                    mask,
                    col.allow
                    or (
                        col.mask.params.get("reason")
                        if col.mask and col.mask.strategy == "keep"
                        else None
                    ),
                    findings.get((tname, cname), []),
                )
            )
    return out


def scan(plan, sample_rows: int = 1000) -> tuple[list[ColumnReport], list[Problem]]:
    """What every column is, with a sample of every extracted table: value-based findings may
    add defaults (updating plan.masks) or trip the gate. Nothing is written. `tdm scan`, the
    pii_scan asset and the start of every extraction run this."""
    samples = {
        t: plan.reader().sample(t, s, plan.schema(t), sample_rows)
        for t, s in plan.spec.tables.items()
        if s.source is not None
    }
    findings = detect(plan, samples)
    plan.masks, problems = resolve_masks(plan, findings)
    reports = report(plan, findings)
    return reports, problems + gate(reports)


def gate(reports: list[ColumnReport]) -> list[Problem]:
    """Unmasked, unallowed PII in extracted tables: one problem each, with the line to add."""
    out = []
    for r in reports:
        if r.status != "pii":
            continue
        top = r.findings[0]
        at = column_path(r.table, r.column)
        out.append(
            problem_at(
                at,
                f"looks like PII ({top.category}, confidence {top.confidence:.2f}: "
                f"{top.reason}) but has no mask",
                f"add `{suggestion(top)}` to the column, or `allow: <why keeping it is safe>`",
            )
        )
    return out
