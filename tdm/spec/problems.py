"""Pydantic's validation errors as Problems: dotted path, line, a readable message and a
did-you-mean for unknown fields (found by following the model's field annotations)."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from tdm.core.errors import KeyPath, Problem, did_you_mean, dotted, line_of, shorten

_UNION_TAGS = {"count", "per"}


def pydantic_problems(
    err: ValidationError,
    model: type[BaseModel],
    lines: dict[KeyPath, int],
    prefix: KeyPath = (),
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
