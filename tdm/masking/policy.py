"""Which mask each column gets, and the PII gate that fails closed.

A column's mask is, in order: its own `mask:`; for a foreign key, the mask of the key it points
at (so joins survive masking); for an extracted column detected as PII, the dataset default for
its category. Extracted columns that look personal and end up with no mask and no `allow:` stop
the run before anything is written. Generated columns are synthetic: reported, never gated.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from tdm.errors import Problem, did_you_mean, one_of
from tdm.spec import MaskSpec
from tdm.spec_load import dotted, pydantic_problems


@dataclass(frozen=True)
class Resolved:
    spec: MaskSpec
    origin: str  # "column", "foreign key to customers.id", "default for email"


def _at(table: str, column: str, *rest: str) -> tuple:
    return ("tables", table, "columns", column, *rest)


def resolve_masks(
    plan, findings: dict[tuple[str, str], list]
) -> tuple[dict[str, dict[str, Resolved]], list[Problem]]:
    spec, problems = plan.spec, []
    policy = spec.masking
    resolved: dict[tuple[str, str], Resolved | None] = {}

    def own(tname: str, cname: str) -> Resolved | None:
        table = spec.tables[tname]
        col = table.columns[cname]
        if col.mask is not None:
            return Resolved(col.mask, "column")
        if col.allow or table.source is None:
            return None
        for f in findings.get((tname, cname), []):
            if f.confidence >= policy.min_confidence and f.category in policy.defaults:
                return Resolved(policy.defaults[f.category], f"default for {f.category}")
        return None

    def of(tname: str, cname: str, seen: tuple = ()) -> Resolved | None:
        if (tname, cname) in resolved:
            return resolved[(tname, cname)]
        table = spec.tables[tname]
        mine = own(tname, cname)
        fk = table.foreign_key_of(cname)
        if fk is not None and (tname, cname) not in seen:
            parent = spec.tables[fk.references.table]
            target = (fk.references.columns or parent.primary_key)[fk.columns.index(cname)]
            inherited = of(fk.references.table, target, (*seen, (tname, cname)))
            if inherited is not None and mine is not None and mine.spec != inherited.spec:
                problems.append(
                    Problem(
                        dotted(_at(tname, cname, "mask")),
                        f"{cname} references "
                        f"{fk.references.table}.{target}, which is masked with "
                        f"{_show(inherited.spec)}; a different mask here would break the join",
                        "remove this mask: foreign keys follow their parent's",
                        at=_at(tname, cname),
                    )
                )
            if inherited is None and mine is not None and mine.spec.strategy != "keep":
                problems.append(
                    Problem(
                        dotted(_at(tname, cname, "mask")),
                        f"{cname} references "
                        f"{fk.references.table}.{target}, which is not masked: masking only the "
                        "foreign key would point rows at the wrong parents",
                        f"mask {fk.references.table}.{target} instead; its foreign keys follow",
                        at=_at(tname, cname),
                    )
                )
                mine = None
            if inherited is not None:
                mine = Resolved(inherited.spec, f"foreign key to {fk.references.table}.{target}")
        resolved[(tname, cname)] = mine
        return mine

    for tname, table in spec.tables.items():
        for cname in table.columns:
            of(tname, cname)
    masks: dict[str, dict[str, Resolved]] = {t: {} for t in spec.tables}
    for (tname, cname), r in resolved.items():
        if r is not None and r.spec.strategy == "keep":
            problems += _check(plan, tname, cname, r)  # its params (reason) are checked too
        elif r is not None:
            problems += _check(plan, tname, cname, r)
            masks[tname][cname] = r
    return masks, problems


def _show(spec: MaskSpec) -> str:
    params = ", ".join(f"{k}: {v}" for k, v in spec.params.items())
    return (
        f"{{strategy: {spec.strategy}{', ' + params if params else ''}}}"
        if params
        else spec.strategy
    )


def _check(plan, tname: str, cname: str, r: Resolved) -> list[Problem]:
    from tdm.masking.strategies import STRATEGIES, MaskColumn

    at = _at(tname, cname, "mask")
    where = at if r.origin == "column" else _at(tname, cname)
    table = plan.spec.tables[tname]
    col = table.columns[cname]
    cls = STRATEGIES.get(r.spec.strategy)
    if cls is None:
        return [
            Problem(
                dotted(where),
                f"unknown mask strategy {r.spec.strategy!r} ({r.origin})",
                did_you_mean(r.spec.strategy, STRATEGIES) or one_of(STRATEGIES),
                at=where,
            )
        ]
    if col.logical.kind not in cls.types:
        return [
            Problem(
                dotted(where),
                f"mask {cls.name!r} ({r.origin}) works on "
                f"{'/'.join(cls.types)} columns, not {col.logical}",
                "pick a strategy for this type",
                at=where,
            )
        ]
    try:
        params = cls.Params.model_validate(r.spec.params)
    except ValidationError as err:
        return pydantic_problems(err, cls.Params, {}, at)
    strategy = cls(
        params, MaskColumn(tname, cname, col.logical, tuple(plan.spec.locales)), _VALIDATION_KEY
    )
    out = [Problem(dotted((*at, p)), m, h, at=at) for p, m, h in strategy.problems()]
    out += [
        Problem(
            dotted(at),
            f"mask {cls.name} reads column {n!r}, which {tname} lacks",
            did_you_mean(n, table.columns),
            at=at,
        )
        for n in strategy.needs()
        if n not in table.columns
    ]
    why = _why_unique(plan, tname, cname)
    if not cls.bijective and why is not None:
        out.append(
            Problem(
                dotted(where),
                f"{cname} is a key ({why}) but mask {cls.name!r} can map two values to one",
                "use a collision-free strategy: pseudonymize, email, phone, "
                "credit_card, national_id or iban",
                at=where,
            )
        )
    nulls = cls.name == "null" or (
        cls.name == "redact"
        and params.model_dump().get("value") is None
        and params.model_dump().get("keep_nulls") is False
    )
    if nulls and not plan.schema(tname).field(cname).nullable:
        out.append(
            Problem(
                dotted(where),
                f"{cname} is NOT NULL, so mask {cls.name!r} would break it",
                "use redact (a constant) or another strategy",
                at=where,
            )
        )
    return out


def check_defaults(plan) -> list[Problem]:
    """Every `masking.defaults` entry: a known category and a valid strategy with its params."""
    from tdm.masking.pii_names import CATEGORIES
    from tdm.masking.strategies import STRATEGIES

    out = []
    for category, spec in plan.spec.masking.defaults.items():
        at = ("masking", "defaults", category)
        if category not in CATEGORIES:
            out.append(
                Problem(
                    dotted(at),
                    f"unknown PII category {category!r}",
                    did_you_mean(category, CATEGORIES) or one_of(CATEGORIES),
                    at=at,
                )
            )
            continue
        cls = STRATEGIES.get(spec.strategy)
        if cls is None:
            out.append(
                Problem(
                    dotted((*at, "strategy")),
                    f"unknown mask strategy {spec.strategy!r}",
                    did_you_mean(spec.strategy, STRATEGIES) or one_of(STRATEGIES),
                    at=at,
                )
            )
            continue
        try:
            cls.Params.model_validate(spec.params)
        except ValidationError as err:
            out += pydantic_problems(err, cls.Params, {}, at)
    return out


def _why_unique(plan, tname: str, cname: str) -> str | None:
    table = plan.spec.tables[tname]
    if cname in table.primary_key:
        return "primary key"
    if table.columns[cname].unique or [cname] in table.unique:
        return "unique"
    if any(cname in group for group in table.unique):
        return "part of a unique group"
    for other_name, other in plan.spec.tables.items():
        for fk in other.all_foreign_keys:
            target = fk.references.columns or plan.spec.tables[fk.references.table].primary_key
            if fk.references.table == tname and cname in target:
                return f"referenced by {other_name}.{fk.columns[target.index(cname)]}"
    return None


def _validation_key():
    from tdm.masking.keys import MaskingKey

    return MaskingKey(b"validation only: never used to mask data", dev=True)


_VALIDATION_KEY = _validation_key()
