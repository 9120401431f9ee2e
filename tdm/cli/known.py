"""The names a command is given (datasets, versions, environments), checked against what exists
before any work starts: an unknown one is a usage error (exit 2) naming the closest known
name."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from tdm.core import settings
from tdm.core.errors import TdmError, did_you_mean, listed

if TYPE_CHECKING:
    from tdm.environments.config import Environment
    from tdm.store.versions import VersionStore

SHOWN = 8  # known names listed when none is close


def suggest(word: str, known: Iterable[str]) -> str:
    """'did you mean "x"?' for the closest known name (a unique prefix counts: version ids are
    long), else the known names, else that there are none."""
    names = sorted(set(known))
    prefixed = [n for n in names if n.startswith(word)]
    hint = did_you_mean(prefixed[0] if len(prefixed) == 1 else word, names)
    if hint:
        return hint
    if not names:
        return "none is known yet"
    return f"known: {listed(names, SHOWN)}"


def dataset_of(path: Path) -> str:
    """The `dataset:` a spec file names (its file name when it cannot be read)."""
    from tdm.spec.reading import read_yaml

    try:
        data, _ = read_yaml(path)
    except TdmError:
        return path.stem
    name = data.get("dataset") if isinstance(data, dict) else None
    return name if isinstance(name, str) and name else path.stem


def stored_datasets() -> list[str]:
    """Datasets with a directory in the version store."""
    from tdm.store.versions import VersionStore, store_location

    return VersionStore(store_location()).datasets()


def spec_datasets() -> list[str]:
    """Datasets with a spec in schemas/."""
    return sorted({dataset_of(p) for p in settings.spec_files()})


def check_dataset(dataset: str) -> None:
    """A dataset is known when the store holds it or a spec in schemas/ names it."""
    stored = stored_datasets()
    if dataset in stored:
        return
    specs = spec_datasets()
    if dataset not in specs:
        from tdm.store.versions import store_location

        hint = suggest(dataset, specs + stored)
        raise TdmError(
            f"unknown dataset {dataset!r}: no spec in {settings.schemas_dir()} names it and the "
            f"store {store_location()} holds no version of it; {hint}"
        )


def check_environment(name: str, dataset: str | None = None) -> Environment:
    """The environment, which must exist, receive `dataset`, and have its URL's ${VARIABLE}s set
    (checked without connecting)."""
    from tdm.environments.config import load_environments

    envs = load_environments()
    where = settings.environments_file()
    if name not in envs:
        raise TdmError(f"no environment named {name!r} in {where}; {suggest(name, envs)}")
    env = envs[name]
    if dataset is not None:
        if not env.receives(dataset):
            raise TdmError(
                f"environment {name!r} does not receive {dataset} (it receives: "
                f"{', '.join(env.spec.datasets)}); add {dataset} to its `datasets:` in {where}"
            )
        env.url(dataset)  # a TdmError naming the unset variable
    return env


KEYWORDS = ("latest", "previous")  # resolved by the store (tdm.store.versions.resolve)


def check_version(store: VersionStore, dataset: str, version: str) -> str:
    """The version id `version` (or latest, previous) stands for; an unknown id is named with
    the closest known one. A damaged version is left to the store to describe."""
    from tdm.store.manifests import MANIFEST

    if version not in KEYWORDS and not store.exists(dataset, version, MANIFEST):
        found, broken = store.listing(dataset)
        known = [m["version"] for m in found] + list(broken)
        raise TdmError(
            f"no version {version} of {dataset} in {store.root}; {suggest(version, known)} "
            f"(`tdm versions {dataset}` lists them)"
        )
    return store.resolve(dataset, version)
