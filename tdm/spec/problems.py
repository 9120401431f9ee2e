"""Pydantic's validation errors as Problems: dotted path, line, a message in the words of the spec
(`tdm.spec.wording`) and a did-you-mean for unknown fields (found by following the model's field
annotations). A field reported missing beside an unknown field that looks like its misspelling
is left out: the misspelling is the one mistake to fix."""

from __future__ import annotations

import re
import types
import typing
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from tdm.core.errors import KeyPath, Problem, did_you_mean, dotted, line_of, shorten
from tdm.spec.wording import worded

_UNION_TAGS = {"count", "per"}  # tags of the `rows` union (tdm.spec.model.Rows) in locations
_MISSING = re.compile(r"missing required field '(\w+)'")


@dataclass(frozen=True)
class Found:
    """One pydantic error: where it is (pydantic's markers kept), and what it says."""

    loc: KeyPath  # with "[key]" where a mapping's key (a name) is wrong
    kind: str  # pydantic's error type
    problem: Problem
    typo_of: str | None = None  # an unknown field that looks like a misspelling of this one
    missing: str | None = None  # the field reported missing


def pydantic_problems(
    err: ValidationError,
    model: type[BaseModel],
    lines: dict[KeyPath, int],
    prefix: KeyPath = (),
    also_known: tuple[str, ...] = (),
) -> list[Problem]:
    found = without_follow_ons(errors_found(err, model, lines, prefix, also_known), set())
    return [f.problem for f in found]


def errors_found(
    err: ValidationError,
    model: type[BaseModel],
    lines: dict[KeyPath, int],
    prefix: KeyPath = (),
    also_known: tuple[str, ...] = (),
) -> list[Found]:
    out = []
    for e in err.errors():
        raw = _untagged(tuple(e["loc"]))
        loc = tuple(p for p in raw if p != "[key]")
        at = (*prefix, *loc)
        typo_of = missing = None
        if e["type"] == "string_pattern_mismatch" and "A-Za-z_" in str(e.get("ctx", {})):
            msg = f"{shorten(e.get('input'))} is not a valid name"
            hint = "names are letters, digits and _, and do not start with a digit"
        elif e["type"] == "extra_forbidden":
            name = str(loc[-1]) if loc else "?"
            msg = f"unknown field {shorten(name)}"
            hint = did_you_mean(name, [*_fields_at(model, loc[:-1]), *also_known])
            typo_of = hint.split('"')[1] if hint else None
        elif e["type"] == "missing":
            msg, hint = (f"missing required field {loc[-1]!r}" if loc else "missing"), None
            missing = str(loc[-1]) if loc else None
        else:
            msg, hint = worded({**e, "loc": raw})
            if (m := _MISSING.match(msg)) is not None:
                missing = m.group(1)
        problem = Problem(dotted(at), msg, hint, line_of(lines, at), at=at)
        out.append(Found((*prefix, *raw), e["type"], problem, typo_of, missing))
    return out


def without_follow_ons(found: list[Found], typos: set[tuple[KeyPath, str]]) -> list[Found]:
    """`found` without "missing required field F" where an unknown field at the same place looks
    like a misspelt F. `typos` keeps (place, F) of the misspellings seen, across calls."""
    for f in found:
        if f.typo_of is not None:
            typos.add((f.problem.at[:-1], f.typo_of))
    out = []
    for f in found:
        at = f.problem.at
        place = at[:-1] if f.kind == "missing" else at
        if f.missing is not None and (place, f.missing) in typos:
            continue
        out.append(f)
    return out


def _untagged(loc: KeyPath) -> KeyPath:
    """The location without the tag pydantic adds after `rows` (which member of the union)."""
    return tuple(
        p for i, p in enumerate(loc) if not (i and loc[i - 1] == "rows" and p in _UNION_TAGS)
    )


def _fields_at(model: type[BaseModel], loc: KeyPath) -> list[str]:
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
