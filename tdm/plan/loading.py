"""Loading a plan: from a spec file (YAML with line numbers, pydantic validation, semantic
checks, planning, masks), from a version's manifest, or again for a run (another seed, an edited
file).

Every mistake becomes a `Problem` with the dotted path and the line it sits on; all of them are
raised together as one `SpecError`, so a user fixes a spec in one pass, never from a traceback.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from tdm.core.errors import KeyPath, Problem, SpecError
from tdm.masking.gate import detect, gate, report
from tdm.masking.policy import Resolved, check_defaults, resolve_masks
from tdm.plan.check import check_spec
from tdm.plan.compile import build_plan
from tdm.plan.model import Plan
from tdm.plan.stages import load_checked
from tdm.spec.digest import spec_digest
from tdm.spec.model import DatasetSpec, MaskSpec
from tdm.spec.problems import pydantic_problems
from tdm.spec.templates import read_spec


def parse_spec(path: str | Path) -> DatasetSpec:
    """Shape-level validation only (pydantic); see `load_spec` for the full check."""
    spec, _ = _parse(Path(path))
    return spec


def _parse(path: Path) -> tuple[DatasetSpec, dict[KeyPath, int]]:
    data, lines = read_spec(path)
    if not isinstance(data, dict):
        raise SpecError(
            str(path),
            [
                Problem(
                    "",
                    "a spec is a mapping with dataset, seed and tables",
                    "start from schemas/retail.yaml",
                    1,
                )
            ],
        )
    try:
        return DatasetSpec.model_validate(data), lines
    except ValidationError as err:
        raise SpecError(str(path), pydantic_problems(err, DatasetSpec, lines)) from None


def _plan_masks(plan, gate_pii: bool = True) -> list[Problem]:
    """Resolve every column's mask; gate extracted columns whose names say they are personal
    (their values are checked again, on a sample, before extraction writes anything)."""

    findings = detect(plan)
    plan.masks, problems = resolve_masks(plan, findings)
    problems = check_defaults(plan) + problems
    return problems or (gate(report(plan, findings)) if gate_pii else [])


def plan_from_manifest(manifest: dict):
    """The plan a sealed version was made from (its spec as recorded, its row counts), to
    validate or describe it without the current spec file or the source."""

    where = f"manifest of {manifest['dataset']} {manifest['version']}"
    try:
        spec = DatasetSpec.model_validate(manifest["spec"])
    except ValidationError as err:
        raise SpecError(where, pydantic_problems(err, DatasetSpec, {})) from None
    problems, gens = check_spec(spec)
    counts = {t: info["rows"] for t, info in manifest["tables"].items()}
    if not problems:
        plan, problems = build_plan(spec, gens, counts=counts)
    if not problems:
        problems = _plan_masks(plan, gate_pii=False)
    if problems:
        raise SpecError(where, problems)
    for table, columns in (manifest.get("masked_columns") or {}).items():
        for column, strategy in columns.items():
            plan.masks.setdefault(table, {}).setdefault(
                column, Resolved(MaskSpec(strategy=strategy), "recorded in the manifest")
            )
    return plan


def replan(plan, seed: int | None = None, reread: bool = False, scale: float | None = None):
    """The same dataset under another seed or scale, or re-read from its (edited) file, keeping
    `plan`'s batch partitions so a running Dagster graph can produce it."""
    if reread and plan.source is not None:
        fresh = load_spec(plan.source, seed=seed, scale=scale)
    else:
        fresh = _plan_spec(plan.spec.with_overrides(seed=seed, scale=scale), plan.source)
    if set(fresh.spec.tables) != set(plan.spec.tables):
        raise SpecError(
            str(plan.source or plan.name),
            [
                Problem(
                    "tables",
                    "the spec's tables changed since the code location loaded",
                    "reload the code location (UI: Deployment > Reload), then run again",
                )
            ],
        )
    fresh.fixed_batches = plan.batches
    return fresh


def _plan_spec(spec: DatasetSpec, source: Path | None):

    problems, gens = check_spec(spec)
    if not problems:
        plan, problems = build_plan(spec, gens, source=source)
    if not problems:
        problems = _plan_masks(plan)
    if problems:
        raise SpecError(str(source or spec.dataset), problems)
    return plan


def load_spec(
    path: str | Path, seed: int | None = None, scale: float | None = None, gate_pii: bool = True
):
    """Read, validate and plan a spec: the returned `Plan` is ready to generate. Every problem
    is reported at once (`tdm.plan.stages`).

    gate_pii=False skips the PII gate (for `tdm scan`, which reports instead of failing)."""

    return load_checked(Path(path), seed=seed, scale=scale, gate_pii=gate_pii)


RUNS_KEPT = 8  # run plans remembered per plan: a long-lived code location makes one per run


def plan_for_run(
    plan: Plan, seed: int | None = None, run_id: str | None = None, scale: float | None = None
) -> Plan:
    """The plan a run produces: `plan` itself, or the same dataset under another seed or scale
    (the UI's launchpad), or re-read
    when its spec file changed since `plan` was made, or (extracted data) counted again for each
    run since the source may have grown. Kept on `plan`, so the steps of a run in one process
    agree without planning again."""
    path = plan.source
    current = spec_digest(path) if path is not None and path.exists() else None
    edited = current is not None and current != plan.source_hash
    extracted = any(plan.extracted(t) for t in plan.order)
    scale = None if scale in (None, 1) else scale
    if seed in (None, plan.spec.seed) and scale is None and not edited and not extracted:
        return plan
    key = (seed, scale, current if edited else None, run_id if extracted else None)
    if key not in plan.runs:
        plan.runs[key] = replan(plan, seed=seed, reread=edited, scale=scale)
        for old in list(plan.runs)[:-RUNS_KEPT]:
            del plan.runs[old]
    return plan.runs[key]
