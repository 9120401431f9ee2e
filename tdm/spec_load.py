"""Reading a spec file: YAML with line numbers, pydantic validation, semantic checks, planning.

Every mistake becomes a `Problem` with the dotted path and the line it sits on; all of them are
raised together as one `SpecError`, so a user fixes a spec in one pass, never from a traceback.
"""

from __future__ import annotations

import types
import typing
from dataclasses import replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from tdm.errors import Problem, SpecError, clip, did_you_mean, shorten
from tdm.spec import DatasetSpec
from tdm.yaml_reader import Path_, read_yaml

_UNION_TAGS = {"count", "per"}


def dotted(at: Path_) -> str:
    out = ""
    for part in at:
        name = clip(str(part), 64)  # a valid name has at most 63 characters
        out += f"[{part}]" if isinstance(part, int) else (f".{name}" if out else name)
    return out


def line_of(lines: dict[Path_, int], at: Path_) -> int | None:
    for cut in range(len(at), -1, -1):
        if at[:cut] in lines:
            return lines[at[:cut]]
    return None


def pydantic_problems(
    err: ValidationError,
    model: type[BaseModel],
    lines: dict[Path_, int],
    prefix: Path_ = (),
    also_known: tuple[str, ...] = (),
) -> list[Problem]:
    problems = []
    for e in err.errors():
        loc = tuple(
            p for p in e["loc"] if not isinstance(p, str) or p not in (*_UNION_TAGS, "[key]")
        )
        at = (*prefix, *loc)
        msg, hint = e["msg"], None
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        if e["type"] == "string_pattern_mismatch" and "A-Za-z_" in str(e.get("ctx", {})):
            msg = f"{shorten(e.get('input'))} is not a valid name"
            hint = "names are letters, digits and _, and do not start with a digit"
        elif e["type"] == "extra_forbidden":
            name = str(loc[-1]) if loc else "?"
            msg = f"unknown field {shorten(name)}"
            hint = did_you_mean(name, [*_fields_at(model, loc[:-1]), *also_known])
        elif e["type"] == "missing":
            msg = f"missing required field {loc[-1]!r}" if loc else msg
        elif e["type"].startswith(("int_", "float_", "bool_", "string_", "dict_", "list_")):
            msg = f"{msg} (got {shorten(e.get('input'))})"
        problems.append(Problem(dotted(at), msg, hint, line_of(lines, at), at=at))
    return problems


def _fields_at(model: type[BaseModel], loc: Path_) -> list[str]:
    """Field names (and aliases) of the model found at `loc` inside `model`, following field
    annotations through dicts, lists and unions, for did-you-mean on unknown fields."""
    current: Any = model
    for part in loc:
        current = _step(current, part)
        if current is None:
            return []
    for member in _members(current):
        if isinstance(member, type) and issubclass(member, BaseModel):
            return [n for name, f in member.model_fields.items() for n in (name, f.alias) if n]
    return []


def _step(annotation: Any, part: str | int) -> Any:
    """The type one step down: a model's field, a dict's value, a list's item."""
    for candidate in _members(annotation):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            fields = {
                **candidate.model_fields,
                **{f.alias: f for f in candidate.model_fields.values() if f.alias},
            }
            if isinstance(part, str) and part in fields:
                return fields[part].annotation
        origin = typing.get_origin(candidate)
        if origin is dict and isinstance(part, str):
            return typing.get_args(candidate)[1]
        if origin is list and isinstance(part, int):
            return typing.get_args(candidate)[0]
    return None


def _members(annotation: Any) -> list[Any]:
    """The alternatives of a union (and the type inside Annotated), else the type itself."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _members(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [m for arg in typing.get_args(annotation) for m in _members(arg)]
    return [annotation]


def parse_spec(path: str | Path) -> DatasetSpec:
    """Shape-level validation only (pydantic); see `load_spec` for the full check."""
    spec, _ = _parse(Path(path))
    return spec


def _parse(path: Path) -> tuple[DatasetSpec, dict[Path_, int]]:
    data, lines = read_yaml(path)
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
    from tdm.masking.gate import detect, gate, report
    from tdm.masking.policy import check_defaults, resolve_masks

    findings = detect(plan)
    plan.masks, problems = resolve_masks(plan, findings)
    problems = check_defaults(plan) + problems
    return problems or (gate(report(plan, findings)) if gate_pii else [])


def plan_from_manifest(manifest: dict):
    """The plan a sealed version was made from (its spec as recorded, its row counts), to
    validate or describe it without the current spec file or the source."""
    from tdm.masking.policy import Resolved
    from tdm.plan import build_plan
    from tdm.spec import MaskSpec
    from tdm.spec_check import check_spec

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


def file_hash(path: str | Path) -> str:
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def replan(plan, seed: int | None = None, reread: bool = False):
    """The same dataset under another seed, or re-read from its (edited) file, keeping `plan`'s
    batch partitions so a running Dagster graph can produce it."""
    if reread and plan.source is not None:
        fresh = load_spec(plan.source, seed=seed)
    else:
        fresh = _plan_spec(plan.spec.with_overrides(seed=seed), plan.source)
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
    from tdm.plan import build_plan
    from tdm.spec_check import check_spec

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
    """Read, validate and plan a spec: the returned `Plan` is ready to generate.

    gate_pii=False skips the PII gate (for `tdm scan`, which reports instead of failing)."""
    from tdm.plan import build_plan
    from tdm.spec_check import check_spec

    path = Path(path)
    spec, lines = _parse(path)
    spec = spec.with_overrides(seed=seed, scale=scale).resolved()
    problems, gens = check_spec(spec)
    if not problems:
        plan, problems = build_plan(spec, gens, source=path)
    if not problems:
        problems = _plan_masks(plan, gate_pii)
    problems = [p if p.line else replace(p, line=line_of(lines, p.at)) for p in problems]
    if problems:
        raise SpecError(str(path), problems)
    plan.source_hash = file_hash(path)
    return plan
