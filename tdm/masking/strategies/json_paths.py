"""Masks at JSON paths inside json documents: `mask: {strategy: json, paths: {"$.contact.email":
email, "$.ssn": redact}}`."""

from __future__ import annotations

import json
import re
from functools import cached_property
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, ValidationError

from tdm.core.errors import TdmError
from tdm.core.types import LogicalType
from tdm.masking.strategies.base import STRATEGIES, MaskBatch, MaskColumn, Model, Strategy, register
from tdm.spec.model import MaskSpec

_STEP = re.compile(r"\.([A-Za-z_][\w-]*)|\[\*\]|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")


def parse_path(path: str) -> list[str | int | None]:
    """'$.a.b[*].c' -> ['a', 'b', None, 'c'] (None: every element of an array)."""
    if not path.startswith("$"):
        raise ValueError("a JSON path starts with $, e.g. $.contact.email")
    steps, at = [], 1
    while at < len(path):
        m = _STEP.match(path, at)
        if not m:
            raise ValueError(f"cannot read {path[at:]!r}; use .key, [*], [0] or ['key']")
        name, index, quoted, dquoted = m.groups()
        steps.append(
            int(index)
            if index is not None
            else name or quoted or dquoted
            if m.group(0) != "[*]"
            else None
        )
        at = m.end()
    return steps


def _slots(doc: Any, steps: list) -> list[tuple[Any, Any]]:
    """(container, key) of every value at the path in one parsed document."""
    found = [(None, None, doc)]
    for step in steps:
        nxt = []
        for _, _, node in found:
            if step is None and isinstance(node, list):
                nxt += [(node, i, v) for i, v in enumerate(node)]
            elif _has(node, step):
                nxt.append((node, step, node[step]))
        found = nxt
    return [(c, k) for c, k, _ in found]


def _has(node: Any, step: str | int) -> bool:
    if isinstance(step, int):
        return isinstance(node, list) and -len(node) <= step < len(node)
    return isinstance(node, dict) and step in node


def _kind(items: list) -> str:
    if all(isinstance(v, dict | list) for v in items):
        return "json"
    if all(isinstance(v, bool) for v in items):
        return "bool"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in items):
        return "int"
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in items):
        return "float"
    return "string"


class JsonParams(Model):
    paths: dict[str, MaskSpec] = Field(
        description='JSON path -> mask, e.g. {"$.contact.email": email, "$.ssn": redact}'
    )


@register
class JsonPaths(Strategy):
    """Masks applied to the values at JSON paths (dot keys, [*] for every array element, [n])
    inside json documents; the rest of each document is left as it is. Each path's values are
    masked together, vectorised, with the same domain as a column of that mask (an email inside
    JSON maps like an email column). A value that is not valid JSON becomes JSON null."""

    name = "json"
    Params = JsonParams
    types = ("json", "string")
    summary: ClassVar[str] = "masks at JSON paths inside json values (paths: {$.a.b: email})"

    @cached_property
    def inner(self) -> dict[str, tuple[list, type[Strategy], Model]]:
        out = {}
        for path, spec in self.p.paths.items():
            cls = STRATEGIES[spec.strategy]
            out[path] = (parse_path(path), cls, cls.Params.model_validate(spec.params))
        return out

    def problems(self):
        out = []
        for path, spec in self.p.paths.items():
            at = f"paths.{path}"
            try:
                parse_path(path)
            except ValueError as err:
                out.append((at, str(err), "e.g. $.contact.email or $.items[*].sku"))
            cls = STRATEGIES.get(spec.strategy)
            if cls is None:
                out.append(
                    (
                        at,
                        f"unknown mask strategy {spec.strategy!r}",
                        "one of: " + ", ".join(sorted(STRATEGIES)),
                    )
                )
                continue
            try:
                params = cls.Params.model_validate(spec.params)
            except ValidationError as err:
                out += [
                    (f"{at}.{'.'.join(map(str, e['loc']))}", e["msg"], None) for e in err.errors()
                ]
                continue
            # the values' type is known only when they are read: report the problems of the type
            # the parameters suit best (e.g. generalize with step: numbers)
            found = min(
                (cls(params, self._column(path, kind), self.key).problems() for kind in cls.types),
                key=len,
            )
            out += [(f"{at}.{p}", m, h) for p, m, h in found]
        return out

    def needs(self) -> tuple[str, ...]:
        return tuple(
            dict.fromkeys(
                n
                for path, (_, cls, params) in self.inner.items()
                for n in cls(params, self._column(path, "string"), self.key).needs()
            )
        )

    def _column(self, path: str, kind: str) -> MaskColumn:
        return MaskColumn(
            self.column.table,
            f"{self.column.name}{path[1:]}",
            LogicalType(kind),
            self.column.locales,
        )

    def mask(self, values: pa.Array, batch: MaskBatch) -> pa.Array:
        texts = values.to_pylist()
        holders: list[list] = [[None] for _ in texts]  # holder[0]: the parsed document
        changed = np.zeros(len(texts), dtype=bool)
        for i, text in enumerate(texts):
            if text is not None:
                try:
                    holders[i][0] = json.loads(text)
                except ValueError:
                    texts[i], changed[i] = "null", True
        for path, (steps, cls, params) in self.inner.items():
            rows, slots = [], []
            for i, holder in enumerate(holders):
                for container, key in _slots(holder, [0, *steps]):
                    if container[key] is not None:
                        rows.append(i)
                        slots.append((container, key))
            if not slots:
                continue
            masked = self._mask_path(path, cls, params, [c[k] for c, k in slots], rows, batch)
            for (container, key), value in zip(slots, masked, strict=True):
                container[key] = value
            changed[rows] = True
        out = [
            json.dumps(h[0], ensure_ascii=False)
            if changed[i] and texts[i] is not None
            else texts[i]
            for i, h in enumerate(holders)
        ]
        return pa.array(out, values.type)

    def _mask_path(self, path, cls, params, items: list, rows: list[int], batch: MaskBatch):
        """The masked values of one path (all rows at once), as JSON values again."""
        kind, back = _kind(items), _as_list
        if kind == "json":  # objects and arrays travel as JSON text
            items, back = [json.dumps(v, ensure_ascii=False) for v in items], _parsed
        arr = None
        if kind not in cls.types and kind == "string":
            for temporal in ("date", "timestamp"):
                if temporal in cls.types:
                    try:
                        arr = pa.array(items).cast(LogicalType(temporal).arrow)
                    except pa.ArrowInvalid:
                        continue
                    kind, back = temporal, _iso_text(temporal)
                    break
        if kind not in cls.types:
            if "string" not in cls.types:
                raise TdmError(
                    f"json path {path}: its values are {kind}, mask {cls.name} works "
                    f"on {'/'.join(cls.types)}"
                )
            kind, back = "string", _as_list
            items = [v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for v in items]
        if arr is None:
            arr = pa.array(items, LogicalType(kind).arrow)
        strategy = cls(params, self._column(path, kind), self.key)
        take = pa.array(rows, pa.int64())
        inner = MaskBatch({n: batch.columns[n].take(take) for n in strategy.needs()}, batch.start)
        return back(strategy.apply(arr, inner))


def _as_list(arr: pa.Array) -> list:
    return arr.to_pylist()


def _parsed(arr: pa.Array) -> list:
    return [None if v is None else json.loads(v) for v in arr.to_pylist()]


def _iso_text(kind: str):
    """Arrow date/timestamp array -> ISO 8601 texts (timestamps in UTC, with a Z)."""
    if kind == "date":
        return lambda arr: arr.cast(pa.string()).to_pylist()
    return lambda arr: pc.strftime(arr, "%Y-%m-%dT%H:%M:%SZ").to_pylist()
