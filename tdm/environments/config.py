"""Test environments, declared in schemas/environments.yaml.

    environments:
      local:
        url: sqlite:///${TDM_HOME}/local/{dataset}.sqlite
        datasets: [retail]

`${VAR}` / `${VAR:-default}` come from the process environment (secrets stay out of the file);
`{dataset}` is replaced by the dataset being loaded, for targets that keep one file per dataset.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tdm.core import settings
from tdm.core.errors import Problem, SpecError, TdmError, did_you_mean
from tdm.core.settings import interpolate
from tdm.core.urls import hide_password, scheme_of
from tdm.spec.model import Identifier
from tdm.spec.problems import pydantic_problems
from tdm.spec.reading import read_yaml
from tdm.targets import Target, open_target

DEFAULT_URL = "sqlite:///${TDM_HOME}/local/{dataset}.sqlite"


class EnvironmentSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    url: str
    datasets: list[Identifier] = []  # empty: every dataset
    description: str | None = None
    refresh: str | None = None  # cron for scheduled refreshes

    @field_validator("refresh")
    @classmethod
    def _cron(cls, v: str | None) -> str | None:
        return None if v is None else check_cron(v.strip())

    seed: int | None = None  # pin the seed of refreshes; otherwise it changes per refresh
    db_schema: Identifier | None = Field(None, alias="schema")  # PostgreSQL schema
    database: Identifier | None = None  # MongoDB database
    # PostgreSQL: `managed` (tdm creates the dataset's tables and swaps new versions in) or
    # `existing` (the application's tables in `schema`, filled in place; tdm creates nothing there)
    tables: Literal["managed", "existing"] = "managed"
    # PostgreSQL (managed tables): the columns a load ANALYZEs: those of keys, unique constraints,
    # foreign keys and indexes (the rest by autovacuum, where it runs), or `all` of them
    statistics: Literal["keys", "all"] = "keys"


_CRON_FIELD = re.compile(
    r"^(\*|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(/[0-9]+)?"
    r"(,(\*|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(/[0-9]+)?)*$"
)
_CRON_BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_MONTHS = {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}
_DAYS = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"}
_CRON_NAMES = (set(), set(), set(), _MONTHS, _DAYS)


def check_cron(text: str) -> str:
    """A standard five-field cron expression (minute hour day month weekday) or @daily etc."""
    if text in ("@hourly", "@daily", "@weekly", "@monthly", "@yearly", "@annually"):
        return text
    fields = text.split()
    bad = len(fields) != 5 or not all(_CRON_FIELD.match(f) for f in fields)
    for i, value in enumerate(fields[:5]):
        (low, high), names = _CRON_BOUNDS[i], _CRON_NAMES[i]
        for part in value.split(","):
            base, _, step = part.partition("/")
            if step and not (step.isdigit() and int(step) > 0):
                bad = True
            for token in [] if base == "*" else base.split("-"):
                bad |= (
                    not (low <= int(token) <= high)
                    if token.isdigit()
                    else (token.lower() not in names)
                )
    if bad:
        raise ValueError(
            f"{text!r} is not a cron expression; write five fields, minute hour "
            "day month weekday, e.g. '0 6 * * 1-5' for 06:00 on weekdays"
        )
    return text


class EnvironmentsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    environments: dict[Identifier, EnvironmentSpec] = Field(min_length=1)


@dataclass(frozen=True)
class Environment:
    name: str
    spec: EnvironmentSpec
    file: Path | None

    @property
    def scheme(self) -> str:
        """postgresql, sqlite, mongodb, file ... ('unknown' while its ${VARIABLE} is unset)."""
        try:
            url = self.url()
        except TdmError:
            url = self.spec.url
        scheme = scheme_of(url)
        return scheme if re.fullmatch(r"[a-z][a-z0-9]*", scheme) else "unknown"

    def receives(self, dataset: str) -> bool:
        return not self.spec.datasets or dataset in self.spec.datasets

    def url(self, dataset: str | None = None) -> str:
        """The URL with ${VAR}s resolved (may hold secrets: never log it, use display_url)."""
        where = f"{self.file or 'environments'}: environments.{self.name}.url"
        url = interpolate(self.spec.url, where)
        return url.replace("{dataset}", dataset) if dataset else url

    def display_url(self, dataset: str | None = None) -> str:
        """The URL as it is safe to show: password hidden, variables unresolved if missing."""
        try:
            return hide_password(self.url(dataset))
        except TdmError:
            return hide_password(self.spec.url)

    def refresh_seed(self, dataset: str, when: dt.datetime) -> int:
        """The seed of a scheduled refresh: the pinned one, else a new one per tick (derived from
        the tick's time, so a refresh can be reproduced)."""
        if self.spec.seed is not None:
            return self.spec.seed
        digest = hashlib.sha256(f"{self.name}/{dataset}/{when.isoformat()}".encode()).digest()
        return int.from_bytes(digest[:4], "little")

    def target(self, dataset: str) -> Target:
        """Where `dataset` goes in this environment (no connection is made yet)."""
        return open_target(
            self.url(dataset),
            schema=self.spec.db_schema,
            database=self.spec.database,
            tables=self.spec.tables,
            statistics=self.spec.statistics,
        )


def load_environments(path: str | Path | None = None) -> dict[str, Environment]:
    path = Path(path) if path else settings.environments_file()
    if not path.exists():
        return {"local": Environment("local", EnvironmentSpec(url=DEFAULT_URL), None)}
    data, lines = read_yaml(path)
    try:
        parsed = EnvironmentsFile.model_validate(data)
    except ValidationError as err:
        raise SpecError(str(path), pydantic_problems(err, EnvironmentsFile, lines)) from None
    return {name: Environment(name, spec, path) for name, spec in parsed.environments.items()}


def get_environment(name: str, path: str | Path | None = None) -> Environment:
    envs = load_environments(path)
    if name not in envs:
        raise SpecError(
            str(path or settings.environments_file()),
            [
                Problem(
                    f"environments.{name}",
                    f"no environment named {name!r}",
                    did_you_mean(name, envs) or f"known: {', '.join(envs)}",
                )
            ],
        )
    return envs[name]
