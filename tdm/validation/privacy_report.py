"""The privacy report of a version, <version dir>/privacy.json: per masked column of an extracted
table, the share of source values left unchanged and the frequency leakage of consistent masks
(both from the per-batch masking results, tdm.validation.privacy); per quasi-identifier set, its
k-anonymity (tdm.validation.anonymity). Counts and shares only, never a value.

With the spec's `privacy.k`, each set's k is also a blocking check of the version's report."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict

from tdm.masking.strategies import STRATEGIES
from tdm.validation.anonymity import anonymity, k_check, quasi_sets
from tdm.validation.results import CheckResult

PRIVACY = "privacy.json"
MASKING = "masked_values_changed"


def _ranks(lists: list[list[int]]) -> list[int]:
    """Lists of counts added position by position."""
    out: list[int] = []
    for counts in lists:
        out += [0] * (len(counts) - len(out))
        for i, c in enumerate(counts):
            out[i] += c
    return out


def _frequency(found: list[dict]) -> dict | None:
    """Per-batch frequency figures as one: the top counts added rank by rank, the largest
    overlap of any batch, and the overlaps' share of all the batches' masked top values."""
    if not found:
        return None
    shown = sum(len(f["masked_top"]) for f in found)
    return {
        "batches": len(found),
        "source_top_counts": _ranks([f["source_top"] for f in found]),
        "masked_top_counts": _ranks([f["masked_top"] for f in found]),
        "overlap": max(f["overlap"] for f in found),
        "overlap_share": round(sum(f["overlap"] for f in found) / shown, 6) if shown else None,
    }


def masked_columns(plan, table: str, masking: list[CheckResult]) -> dict[str, dict]:
    """Every masked column of an extracted table with its per-batch masking results added up
    (nothing compared, e.g. every value null: no share)."""
    if not plan.extracted(table):
        return {}
    mine = defaultdict(list)
    for r in masking:
        if r.table == table and r.expectation == MASKING:
            mine[r.column].append(r)
    out = {}
    for column, resolved in plan.masks.get(table, {}).items():
        strategy = resolved.spec.strategy
        found = mine.get(column, [])
        compared = sum(r.element_count for r in found)
        unchanged = sum(r.unexpected_count for r in found)
        cls = STRATEGIES.get(strategy)
        out[column] = {
            "strategy": strategy,
            "bijective": bool(cls and cls.bijective),
            "compared": compared,
            "unchanged": unchanged,
            "unchanged_share": round(unchanged / compared, 6) if compared else None,
            "frequency_leakage": _frequency(
                [r.details["frequency"] for r in found if "frequency" in r.details]
            ),
        }
    return out


def privacy_report(
    store, plan, dataset: str, version: str, manifest: dict, masking: list[CheckResult]
) -> tuple[dict, list[CheckResult]]:
    """The report of a sealed version and, with `privacy.k` in the spec, its k checks."""
    required = plan.spec.privacy.k if plan.spec.privacy else None
    tables = {
        t: {
            "rows": manifest["tables"][t]["rows"],
            "masked_columns": masked_columns(plan, t, masking),
            "quasi_identifiers": [],
        }
        for t in plan.order
    }
    checks = []
    for qs in quasi_sets(plan):
        figures = anonymity(store, dataset, version, manifest, qs, required)
        tables[qs.table]["quasi_identifiers"].append(figures)
        if required is not None:
            checks.append(k_check(qs.table, figures, required))
    report = {
        "format": 1,
        "dataset": dataset,
        "version": version,
        "computed_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "k_required": required,
        "success": all(c.success for c in checks),
        "tables": tables,
    }
    return report, checks


def write_privacy(store, dataset: str, version: str, report: dict) -> None:
    text = json.dumps(report, indent=2) + "\n"
    store.write_text(dataset, version, PRIVACY, text=text)


def load_privacy(store, dataset: str, version: str) -> dict | None:
    """The version's privacy.json, or None (versions validated before it existed have none)."""
    text = store.read_text(dataset, version, PRIVACY)
    return json.loads(text) if text is not None else None


def summary(report: dict | None) -> dict[str, list[str]]:
    """Per table, one short line per quasi-identifier set and per masked column (the CLI and
    the Dagster UI show them); {} without a report."""
    out: dict[str, list[str]] = {}
    for table, info in (report or {}).get("tables", {}).items():
        lines = []
        for q in info["quasi_identifiers"]:
            k = "no rows" if q["k"] is None else f"k = {q['k']:,}"
            lines.append(
                f"{k} over ({', '.join(q['columns'])}, {q['origin']}): "
                f"{q['unique_rows']:,} unique rows, {q['classes']:,} classes"
            )
        for column, m in info["masked_columns"].items():
            share = m["unchanged_share"]
            text = f"{column} ({m['strategy']}): " + (
                "not compared" if share is None else f"{share:.2%} unchanged"
            )
            leak = m["frequency_leakage"]
            if leak and leak["masked_top_counts"]:
                n = len(leak["masked_top_counts"])
                text += f", top-{n} frequency overlap {leak['overlap']}/{n}"
            lines.append(text)
        if lines:
            out[table] = lines
    return out
