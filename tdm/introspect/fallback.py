"""The safety net of `tdm introspect`: the written spec must plan as it is. Where the planner
still finds a problem (a guess that does not fit, a key it cannot make unique), the column or
key it names falls back to a plain choice that always plans, with a warning, and the spec is
checked again. Never an abort for a schema PostgreSQL accepts."""

from __future__ import annotations

import copy
import re
import tempfile
from pathlib import Path

from tdm.core.errors import SpecError
from tdm.core.types import parse_type
from tdm.plan.loading import load_spec

ROUNDS = 8


def _plain(entry: dict, unique: bool) -> dict:
    """A generator every column of this type can take."""
    kind = parse_type(entry["type"])
    keep = {k: entry[k] for k in ("type", "sql_type", "null_ratio", "description") if k in entry}
    if kind.kind == "int":
        gen = {"generator": "sequence"} if unique else {"generator": "integer", "min": 0, "max": 9}
    elif kind.kind == "decimal":
        gen = {"generator": "decimal", "min": 0, "max": 1}
    elif kind.kind == "float":
        gen = {"generator": "float", "min": 0, "max": 1}
    elif kind.kind in ("date", "timestamp"):
        wide = {"start": "1800-01-01", "end": "2199-12-31"} if unique else {"start": "-1y"}
        gen = {"generator": kind.kind, "end": "today", **wide}
    elif kind.kind in ("uuid", "bool", "json"):
        gen = {"generator": {"uuid": "uuid", "bool": "boolean", "json": "json"}[kind.kind]}
        if kind.kind == "json":
            gen["fields"] = {"n": {"type": "int", "generator": "integer", "min": 0, "max": 9}}
    else:
        gen = {"generator": "pattern", "pattern": "?" * 8}
    if unique and gen["generator"] not in ("sequence", "uuid"):
        gen["unique"] = True
    return {**keep, **gen}


def _mend(spec: dict, problem, warnings: list[str]) -> bool:
    """Change what `problem` points at so it plans; False when it points at nothing known."""
    at = problem.at or tuple(problem.path.replace("[", ".").replace("]", "").split("."))
    if len(at) < 2 or at[0] != "tables" or at[1] not in spec["tables"]:
        return False
    table = spec["tables"][at[1]]
    where = f"{at[1]}: {problem.message}"
    few = re.search(r"can take only ([\d,]+) distinct values", problem.message)
    if few and len(at) >= 4 and at[2] == "columns":  # a short unique key: fewer rows, same key
        limit = int(few.group(1).replace(",", ""))
        if limit and table.get("rows") != limit:
            table["rows"] = limit
            warnings.append(f"{where}; {at[1]} gets {limit:,} rows")
            return True
    if len(at) >= 4 and at[2] == "columns" and at[3] in table["columns"]:
        entry = table["columns"][at[3]]
        if "generator" not in entry:  # a foreign-key column: leave the key out of the spec
            fks = [fk for fk in table.get("foreign_keys", []) if at[3] in fk["columns"]]
            for fk in fks:
                table["foreign_keys"].remove(fk)
            for c in {c for fk in fks for c in fk["columns"]}:
                table["columns"][c] = _plain(table["columns"][c], False)
            warnings.append(f"{where}; its foreign key is not generated (fill it by hand)")
            return bool(fks)
        plain = _plain(entry, bool(entry.get("unique")))
        if plain == entry:
            return False
        table["columns"][at[3]] = plain
        warnings.append(f"{where}; {at[3]} falls back to generator {plain['generator']}")
        return True
    if len(at) >= 3 and at[2] == "foreign_keys" and table.get("foreign_keys"):
        index = int(at[3]) if len(at) > 3 and str(at[3]).isdigit() else 0
        fk = table["foreign_keys"][min(index, len(table["foreign_keys"]) - 1)]
        if fk.pop("distinct_per_parent", None):
            warnings.append(f"{where}; distinct_per_parent dropped")
            return True
        table["foreign_keys"].remove(fk)
        for c in fk["columns"]:
            table["columns"][c] = _plain(table["columns"][c], False)
        warnings.append(f"{where}; the foreign key is not generated (fill it by hand)")
        return True
    if len(at) >= 3 and at[2] == "unique" and table.get("unique"):
        table.pop("unique")
        warnings.append(f"{where}; the composite unique keys are left to the database")
        return True
    if len(at) >= 3 and at[2] == "rows":
        most = re.search(r"at most ([\d,]+) rows", problem.message)
        limit = int(most.group(1).replace(",", "")) if most else 1000
        if table.get("rows") == limit:
            return False
        table["rows"] = limit
        warnings.append(f"{where}; {at[1]} gets {limit:,} rows")
        return True
    return False


def planned(spec: dict, render, warnings: list[str]) -> tuple[dict, str]:
    """(spec, its text) once the text plans; render(spec) -> YAML text; what had to fall back
    is added to `warnings`."""
    spec = copy.deepcopy(spec)
    for _ in range(ROUNDS):
        text = render(spec)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "spec.yaml"
            path.write_text(text, encoding="utf-8")
            try:
                load_spec(path)
                return spec, text
            except SpecError as e:
                last = e
                if not any([_mend(spec, p, warnings) for p in e.problems]):
                    break
    raise SpecError(
        "the introspected spec (a bug in tdm introspect: please report it)", last.problems
    )
