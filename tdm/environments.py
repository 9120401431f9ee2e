"""Test environments, declared in schemas/environments.yaml.

    environments:
      local:
        url: sqlite:///${TDM_HOME}/local/{dataset}.sqlite
        datasets: [retail]

`${VAR}` / `${VAR:-default}` come from the process environment (secrets stay out of the file);
`{dataset}` is replaced by the dataset being loaded, for targets that keep one file per dataset.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tdm import settings, urls
from tdm.errors import Problem, SpecError, TdmError
from tdm.spec import Identifier
from tdm.spec_load import pydantic_problems, read_yaml

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
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


def interpolate(text: str, where: str, defaults: dict[str, str] | None = None) -> str:
    """Replace ${VAR} / ${VAR:-default} from the process environment; `where` names the setting
    for the error message (the value itself may be secret and is never shown)."""
    defaults = {"TDM_HOME": str(settings.home()), **(defaults or {})}

    def sub(m: re.Match) -> str:
        name, default = m.group(1), m.group(2)
        value = os.environ.get(name) or defaults.get(name)
        if not value:  # as in the shell, ${VAR:-default} also applies when VAR is empty
            value = default if default is not None else os.environ.get(name)
        if value is None:
            raise TdmError(
                f"{where} needs the environment variable {name}; set it or write "
                f"${{{name}:-default}}"
            )
        return value

    return _VAR.sub(sub, text)


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
        scheme = url.split(":", 1)[0].split("+", 1)[0]
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


def hide_password(url: str) -> str:
    """`url` with its password replaced by `***` (parsed: see tdm.urls)."""
    return urls.hide_password(url)


def without_secret(text: str, url_or_password: str) -> str:
    """`text` (a URL or a driver's message) with the password hidden wherever it appears.

    Pass the URL (anything with `://`): then every form of its password is scrubbed, see
    tdm.urls.secrets_of. A bare password is still accepted (its plain and decoded forms).
    """
    if "://" in url_or_password:
        text = text.replace(url_or_password, urls.hide_password(url_or_password))
        secrets = urls.secrets_of(url_or_password)
    else:
        secrets = {url_or_password, unquote(url_or_password)} - {""}
    # Longest first, so no tail of a long secret survives a shorter one's replacement. Short
    # secrets are replaced only as the userinfo of a URL (`:pw@`): anywhere else they would
    # mangle the message, and a 1-2 character password is no secret worth that. Case is
    # ignored: drivers lowercase host names, and a misparsed URL puts password text there.
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(f":{secret}@", f":{urls.MASK}@")
        if len(secret) >= urls.MIN_SECRET:
            text = re.sub(re.escape(secret), urls.MASK, text, flags=re.IGNORECASE)
    return text


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
        from tdm.errors import did_you_mean

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
