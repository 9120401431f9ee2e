"""Which mask each column gets, and the PII gate that fails closed.

A column's mask is, in order: its own `mask:`; for a foreign key, the mask of the key it points
at (so joins survive masking); for an extracted column detected as PII, the dataset default for
its category. Extracted columns that look personal and end up with no mask and no `allow:` stop
the run before anything is written. Generated columns are synthetic: reported, never gated.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ValidationError

from tdm.core.errors import Problem, did_you_mean, dotted, one_of, problem_at
from tdm.core.types import LogicalType
from tdm.masking.keys import MaskingKey
from tdm.masking.pii.names import CATEGORIES
from tdm.masking.strategies import STRATEGIES
from tdm.masking.strategies.base import MaskColumn, Strategy
from tdm.spec.model import DatasetSpec, MaskSpec
from tdm.spec.problems import pydantic_problems


@dataclass(frozen=True)
class Resolved:
    spec: MaskSpec
    origin: str  # "column", "foreign key to customers.id", "default for email"


def column_path(table: str, column: str, *rest: str) -> tuple:
    return ("tables", table, "columns", column, *rest)


def resolve_masks(
    plan, findings: dict[tuple[str, str], list]
) -> tuple[dict[str, dict[str, Resolved]], list[Problem]]:
    """The mask of every column that gets one (`keep` masks nothing), and the problems of the
    masks resolved."""
    spec = plan.spec
    resolved: dict[tuple[str, str], Resolved | None] = {}
    problems: list[Problem] = []
    for tname, table in spec.tables.items():
        for cname in table.columns:
            _resolve(spec, findings, resolved, problems, tname, cname)
    masks: dict[str, dict[str, Resolved]] = {t: {} for t in spec.tables}
    for (tname, cname), r in resolved.items():
        if r is None:
            continue
        problems += _mask_problems(plan, tname, cname, r)  # keep too: its reason is checked
        if r.spec.strategy != "keep":
            masks[tname][cname] = r
    return masks, problems


def _resolve(
    spec: DatasetSpec,
    findings: dict[tuple[str, str], list],
    resolved: dict[tuple[str, str], Resolved | None],
    problems: list[Problem],
    tname: str,
    cname: str,
    seen: tuple = (),
) -> Resolved | None:
    """The mask of one column, kept in `resolved`: a foreign key's is that of the key it points
    at, resolved first; `seen` is the chain of references followed, so a cycle ends."""
    if (tname, cname) in resolved:
        return resolved[(tname, cname)]
    mine = _own_mask(spec, findings, tname, cname)
    fk = spec.tables[tname].foreign_key_of(cname)
    if fk is not None and (tname, cname) not in seen:
        ptable = fk.references.table
        target = (fk.references.columns or spec.tables[ptable].primary_key)[fk.columns.index(cname)]
        inherited = _resolve(
            spec, findings, resolved, problems, ptable, target, (*seen, (tname, cname))
        )
        mine, found = _follow_parent(tname, cname, f"{ptable}.{target}", mine, inherited)
        problems += found
    resolved[(tname, cname)] = mine
    return mine


def _own_mask(
    spec: DatasetSpec, findings: dict[tuple[str, str], list], tname: str, cname: str
) -> Resolved | None:
    """The column's own `mask:`; else, for an extracted column without `allow:`, the dataset
    default of the first finding confident enough whose category has one."""
    table = spec.tables[tname]
    col = table.columns[cname]
    if col.mask is not None:
        return Resolved(col.mask, "column")
    if col.allow or table.source is None:
        return None
    policy = spec.masking
    for f in findings.get((tname, cname), []):
        if f.confidence >= policy.min_confidence and f.category in policy.defaults:
            return Resolved(policy.defaults[f.category], f"default for {f.category}")
    return None


def _follow_parent(
    tname: str, cname: str, parent: str, mine: Resolved | None, inherited: Resolved | None
) -> tuple[Resolved | None, list[Problem]]:
    """A foreign key column takes the mask of the `parent` column it points at, so joins
    survive; a mask of its own is refused when it differs, or when the parent is not masked."""
    at = column_path(tname, cname)
    if inherited is None:
        if mine is not None and mine.spec.strategy != "keep":
            return None, [
                Problem(
                    dotted((*at, "mask")),
                    f"{cname} references {parent}, which is not masked: masking only the "
                    "foreign key would point rows at the wrong parents",
                    f"mask {parent} instead; its foreign keys follow",
                    at=at,
                )
            ]
        return mine, []
    found = []
    if mine is not None and mine.spec != inherited.spec:
        found.append(
            Problem(
                dotted((*at, "mask")),
                f"{cname} references {parent}, which is masked with "
                f"{_show(inherited.spec)}; a different mask here would break the join",
                "remove this mask: foreign keys follow their parent's",
                at=at,
            )
        )
    return Resolved(inherited.spec, f"foreign key to {parent}"), found


def _show(spec: MaskSpec) -> str:
    params = ", ".join(f"{k}: {v}" for k, v in spec.params.items())
    return (
        f"{{strategy: {spec.strategy}{', ' + params if params else ''}}}"
        if params
        else spec.strategy
    )


def _mask_problems(plan, tname: str, cname: str, r: Resolved) -> list[Problem]:
    """What is wrong with the mask a column resolved to: its strategy, its parameters, what it
    reads, and whether it fits the column's key and NOT NULL constraints."""
    at = column_path(tname, cname, "mask")
    where = at if r.origin == "column" else column_path(tname, cname)
    table = plan.spec.tables[tname]
    col = table.columns[cname]
    cls, wrong = _strategy_class(where, r, col.logical)
    if wrong is not None:
        return [wrong]
    try:
        params = cls.Params.model_validate(r.spec.params)
    except ValidationError as err:
        return pydantic_problems(err, cls.Params, {}, at)
    strategy = cls(
        params, MaskColumn(tname, cname, col.logical, tuple(plan.spec.locales)), _VALIDATION_KEY
    )
    out = [Problem(dotted((*at, p)), m, h, at=at) for p, m, h in strategy.problems()]
    out += [
        problem_at(
            at,
            f"mask {cls.name} reads column {n!r}, which {tname} lacks",
            did_you_mean(n, table.columns),
        )
        for n in strategy.needs()
        if n not in table.columns
    ]
    return out + _constraint_problems(plan, tname, cname, cls, params, where)


def _from(r: Resolved) -> str:
    """Where a mask came from, when it is not the column's own `mask:`."""
    return "" if r.origin == "column" else f" ({r.origin})"


def _strategy_class(
    where: tuple, r: Resolved, logical: LogicalType
) -> tuple[type[Strategy] | None, Problem | None]:
    """The strategy class a mask names, or the problem when there is none or it does not work
    on the column's type."""
    cls = STRATEGIES.get(r.spec.strategy)
    if cls is None:
        return None, Problem(
            dotted(where),
            f"unknown mask strategy {r.spec.strategy!r}{_from(r)}",
            did_you_mean(r.spec.strategy, STRATEGIES) or one_of(STRATEGIES),
            at=where,
        )
    if logical.kind not in cls.types:
        return None, Problem(
            dotted(where),
            f"mask {cls.name!r}{_from(r)} works on {'/'.join(cls.types)} columns, not {logical}",
            "pick a strategy for this type",
            at=where,
        )
    return cls, None


def _constraint_problems(
    plan, tname: str, cname: str, cls: type[Strategy], params: BaseModel, where: tuple
) -> list[Problem]:
    """A mask that can map two values to one on a key, or that writes nulls into a NOT NULL
    column."""
    out = []
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

    out = []
    for category, spec in plan.spec.masking.defaults.items():
        at = ("masking", "defaults", category)
        if category not in CATEGORIES:
            out.append(
                problem_at(
                    at,
                    f"unknown PII category {category!r}",
                    did_you_mean(category, CATEGORIES) or one_of(CATEGORIES),
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

    return MaskingKey(b"validation only: never used to mask data", dev=True)


_VALIDATION_KEY = _validation_key()
