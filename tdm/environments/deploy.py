"""Putting a sealed version into an environment, all or nothing, behind the load gate: the
version passed validation, its files still have their checksums, and the environment's live
schema has not drifted (unless the load is forced, which rebuilds it)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from tdm.core.errors import TdmError
from tdm.environments.config import Environment
from tdm.environments.drift import DriftState
from tdm.store.versions import VersionStore
from tdm.targets import LoadReport
from tdm.validation.results import load_report


@dataclass(frozen=True)
class Deployed:
    version: str
    report: LoadReport
    seconds: float


def require_valid(store: VersionStore, dataset: str, version: str) -> None:
    """A TdmError unless the version's validation report exists and passed."""
    report = load_report(store, dataset, version)
    if report is None:
        raise TdmError(
            f"version {version} of {dataset} has no validation report; run "
            f"`tdm validate {dataset} --version {version}` first"
        )
    if not report["success"]:
        failed = "\n  ".join(report["failed"][:10])
        raise TdmError(
            f"version {version} of {dataset} failed validation, so it is not loaded:\n  {failed}"
        )


def deploy(
    env: Environment,
    store: VersionStore,
    dataset: str,
    version: str = "latest",
    *,
    force: bool = False,
) -> Deployed:
    """Load `version` (an id or latest) of `dataset` into `env` once the gate lets it through."""
    drift = DriftState(env.name, dataset)
    version = store.resolve(dataset, version)
    require_valid(store, dataset, version)
    store.verify(dataset, version)
    if drift.blocked() and not force:
        raise TdmError(
            f"{env.name} is blocked: its live schema drifted from the loaded version:\n  "
            f"{drift.describe()}\nrevert the change, or load with `force: true` to rebuild it"
        )
    started = time.perf_counter()
    report = env.target(dataset).load(store, dataset, version)
    drift.clear()
    return Deployed(version, report, time.perf_counter() - started)
