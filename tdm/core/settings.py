"""Where things live (the project root, the working directory .tdm/, the version store), and
`${VAR}` / `${VAR:-default}` in settings, taken from the process environment."""

from __future__ import annotations

import os
import re
from pathlib import Path

from tdm.core.errors import TdmError

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def project_root() -> Path:
    """TDM_PROJECT, else the nearest directory upwards holding schemas/, else the cwd."""
    if env := os.environ.get("TDM_PROJECT"):
        return Path(env).resolve()
    here = Path.cwd().resolve()
    for candidate in (here, *here.parents):
        if (candidate / "schemas").is_dir():
            return candidate
    return here


def home() -> Path:
    """Working state (store, embedded databases, Dagster instance): TDM_HOME or <project>/.tdm."""
    return Path(os.environ.get("TDM_HOME") or project_root() / ".tdm").resolve()


def store_root() -> Path:
    return Path(os.environ.get("TDM_STORE") or home() / "store").resolve()


def schemas_dir() -> Path:
    return Path(os.environ.get("TDM_SCHEMAS") or project_root() / "schemas").resolve()


def spec_files(directory: Path | None = None) -> list[Path]:
    """The dataset specs: every *.yaml of schemas/ but environments.yaml, sorted."""
    directory = directory or schemas_dir()
    return sorted(p for p in directory.glob("*.yaml") if p.name != "environments.yaml")


def environments_file() -> Path:
    return schemas_dir() / "environments.yaml"


def dagster_home() -> Path:
    return Path(os.environ.get("DAGSTER_HOME") or home() / "dagster").resolve()


def interpolate(text: str, where: str, defaults: dict[str, str] | None = None) -> str:
    """Replace ${VAR} / ${VAR:-default} from the process environment; `where` names the setting
    for the error message (the value itself may be secret and is never shown)."""
    defaults = {"TDM_HOME": str(home()), **(defaults or {})}

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
