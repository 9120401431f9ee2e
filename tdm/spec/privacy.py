"""The spec's `privacy:` block: quasi-identifier sets per table and the k-anonymity a version
must reach (tdm.validation.anonymity computes it; the report is privacy.json).

    privacy:
      quasi_identifiers:
        customers: [[birth_date, postcode, sex]]   # or one set: [birth_date, postcode, sex]
      k: 5
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from tdm.core.errors import Problem, did_you_mean, problem_at
from tdm.core.names import IDENTIFIER, IDENTIFIER_MAX

Name = Annotated[str, StringConstraints(pattern=IDENTIFIER, max_length=IDENTIFIER_MAX)]
QuasiSet = Annotated[list[Name], Field(min_length=1)]


class PrivacySpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # table -> its sets; a table named here is not searched for quasi-identifiers ([] = none)
    quasi_identifiers: dict[Name, list[QuasiSet]] = {}
    k: int | None = Field(None, ge=1)  # every set must have k >= this (a blocking check)

    @field_validator("quasi_identifiers", mode="before")
    @classmethod
    def _one_set(cls, v: Any) -> Any:
        """`customers: [a, b]` is the one set [[a, b]]."""
        if not isinstance(v, dict):
            return v
        return {
            t: [sets]
            if isinstance(sets, list) and sets and all(isinstance(s, str) for s in sets)
            else sets
            for t, sets in v.items()
        }


def privacy_problems(spec: Any, damage: Any) -> list[Problem]:
    """Quasi-identifier sets naming a table or column the spec does not have, or a column twice.
    `damage` (tdm.spec.salvage.Damage): tables and columns that could not be read are not named."""
    if spec.privacy is None:
        return []
    out = []
    for tname, sets in spec.privacy.quasi_identifiers.items():
        at = ("privacy", "quasi_identifiers", tname)
        table = spec.tables.get(tname)
        if table is None:
            if tname not in damage.tables:
                out.append(
                    problem_at(at, f"unknown table {tname!r}", did_you_mean(tname, spec.tables))
                )
            continue
        for i, columns in enumerate(sets):
            for c in columns:
                if c not in table.columns and not damage.lost_column(tname, c):
                    out.append(
                        problem_at(
                            (*at, i),
                            f"quasi-identifier {c!r} is not a column of {tname}",
                            did_you_mean(c, table.columns),
                        )
                    )
            if len(set(columns)) < len(columns):
                twice = sorted({c for c in columns if columns.count(c) > 1})
                out.append(problem_at((*at, i), f"{', '.join(twice)} named twice in one set", None))
    return out
