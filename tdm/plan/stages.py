"""Checking a spec file in one pass: every independent mistake, and none that only follows from
another.

The stages, in the order their problems are reported (within a stage, by line):

1. the file: readable YAML within the limits (a file that is not stops here), keys written twice;
2. shape: field names, value types and ranges; each failing part is left out
   (`tdm.spec.salvage`) so the next stages still check the rest;
3. meaning: generators, keys, references, on everything that could be read (`tdm.plan.check`);
4. row counts and capacities, on the tables whose counts, columns and parents are sound;
5. masks and the PII gate, on the columns whose generator and references are sound.

A stage never reports what a part left out or found wrong before it would make it say.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from tdm.core.errors import KeyPath, Problem, SpecError, line_of
from tdm.masking.gate import detect, gate, report
from tdm.masking.policy import check_defaults, resolve_masks
from tdm.plan.check import check_spec
from tdm.plan.compile import build_plan
from tdm.plan.model import Plan
from tdm.plan.partial import sound_part
from tdm.spec.digest import spec_digest
from tdm.spec.model import DatasetSpec
from tdm.spec.salvage import Damage, salvage
from tdm.spec.templates import read_spec_checked

NOT_A_MAPPING = Problem(
    "", "a spec is a mapping with dataset, seed and tables", "start from schemas/retail.yaml", 1
)


def load_checked(
    path: Path, seed: int | None = None, scale: float | None = None, gate_pii: bool = True
) -> Plan:
    """The plan of the spec file at `path`, or a SpecError with every problem it has."""
    data, lines, twice, uses = read_spec_checked(path)  # with `use:` resolved
    if not isinstance(data, dict):
        raise SpecError(str(path), [NOT_A_MAPPING])
    spec, damage, shape = salvage(data, lines)
    stages, plan = [twice, shape], None
    if spec is not None:
        spec = spec.with_overrides(seed=seed, scale=scale).resolved()
        plan, later = check_stages(spec, damage, path, gate_pii, earlier=bool(twice or shape))
        stages += later
    problems = in_order([uses.attribute(stage) for stage in stages], lines)
    if problems or plan is None:
        raise SpecError(str(path), problems)
    plan.source_hash = spec_digest(path, uses.used)  # the templates just resolved
    return plan


def check_stages(
    spec: DatasetSpec,
    damage: Damage,
    source: Path | None,
    gate_pii: bool = True,
    earlier: bool = False,
    counts: dict[str, int] | None = None,
) -> tuple[Plan | None, list[list[Problem]]]:
    """The plan (None if any stage found a problem) and the problems of stages 3 to 5.
    `earlier`: whether the stages before found problems; `counts`: known row counts of extracted
    tables, instead of asking the source."""
    meaning, gens = check_spec(spec, damage)
    plan, counting = None, []
    if not (damage or meaning or earlier):
        plan, counting = build_plan(spec, gens, source=source, counts=counts)
    else:
        sound, sound_gens = sound_part(spec, gens, damage, meaning, counting=True)
        if sound.tables:
            _, counting = build_plan(sound, sound_gens, counts=counts)
    masked = plan
    if masked is None:
        sound, sound_gens = sound_part(spec, gens, damage, meaning, counting=False)
        columns = {t: list(sound_gens[t]) for t in sound.tables}
        masked = Plan(sound, sound_gens, list(sound.tables), {}, columns, source=source)
    masking = plan_masks(masked, gate_pii and "masking" not in damage.fields)
    if meaning or counting or masking:
        plan = None
    return plan, [meaning, counting, masking]


def plan_masks(plan: Plan, gate_pii: bool = True) -> list[Problem]:
    """Resolve every column's mask; gate extracted columns whose names say they are personal
    (their values are checked again, on a sample, before extraction writes anything)."""
    findings = detect(plan)
    plan.masks, problems = resolve_masks(plan, findings)
    problems = check_defaults(plan) + problems
    return problems + (gate(report(plan, findings)) if gate_pii else [])


def in_order(stages: list[list[Problem]], lines: dict[KeyPath, int]) -> list[Problem]:
    """The problems of all stages, each with its line, stage by stage and by line within one;
    a problem found twice is reported once."""
    out: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    for stage in stages:
        placed = [p if p.line else replace(p, line=line_of(lines, p.at)) for p in stage]
        for p in sorted(placed, key=lambda p: p.line or 0):
            if (p.path, p.message) not in seen:
                seen.add((p.path, p.message))
                out.append(p)
    return out
