"""The spec's own `expect:` entries: GX expectation names checked (GX's package files are read,
GX is not imported), each problem with its place and a did-you-mean."""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path
from typing import Any

from tdm.core.errors import Problem, did_you_mean, dotted


@cache
def known_expectations() -> tuple[str, ...]:
    """Names of GX's core expectations, read from its package files (GX is not imported)."""
    found = importlib.util.find_spec("great_expectations")
    roots = found.submodule_search_locations if found else []
    return tuple(
        sorted(
            p.stem
            for root in roots
            for p in (Path(root) / "expectations" / "core").glob("expect_*.py")
        )
    )


def entries(owner: Any) -> list:
    found = getattr(owner, "expect", None)
    if found is None:
        found = (getattr(owner, "model_extra", None) or {}).get("expect")
    return list(found or [])


def expectation_problems(spec, only: str | None = None) -> list[Problem]:
    """Malformed or unknown `expect:` entries, each with its place and a did-you-mean."""
    out = []
    known = known_expectations()
    for tname, table in spec.tables.items():
        if only is not None and tname != only:
            continue
        owners = [(("tables", tname), table)]
        owners += [(("tables", tname, "columns", c), col) for c, col in table.columns.items()]
        for at, owner in owners:
            for i, entry in enumerate(entries(owner)):
                where = (*at, "expect", i)
                path = dotted(where)
                kind = entry.get("type") if isinstance(entry, dict) else None
                if not isinstance(kind, str):
                    out.append(
                        Problem(
                            path,
                            "an expectation is {type: expect_..., <arguments>}",
                            "e.g. {type: expect_column_values_to_match_regex, regex: '^[A-Z]'}",
                            at=where,
                        )
                    )
                elif known and kind not in known:
                    hint = did_you_mean(kind, known) or "see the GX expectation gallery"
                    label = f"{tname}.{at[3]}" if len(at) > 2 else tname
                    out.append(
                        Problem(path, f"{label}: unknown expectation {kind!r}", hint, at=where)
                    )
    return out
