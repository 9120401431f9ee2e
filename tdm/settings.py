"""Where things live: the project root, the working directory .tdm/, the version store."""

from __future__ import annotations

import os
from pathlib import Path


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


def environments_file() -> Path:
    return schemas_dir() / "environments.yaml"


def dagster_home() -> Path:
    return Path(os.environ.get("DAGSTER_HOME") or home() / "dagster").resolve()
