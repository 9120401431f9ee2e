"""Sealing a run's batches into an immutable version, validating the whole of it, and making it
`latest` only if it passed (environments load `latest`: never a failed version)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from tdm.produce.production import Production
from tdm.store.versions import VersionStore
from tdm.validation.privacy_report import load_privacy
from tdm.validation.runner import validate_stored


@dataclass(frozen=True)
class Sealed:
    manifest: dict
    report: dict  # the version's validation report (validation.json)
    reused: bool  # an earlier run had sealed the same version
    privacy: dict | None = None  # its privacy report (privacy.json)
    seconds: dict[str, float] = field(default_factory=dict)  # "seal", "validate"


def seal_version(
    prod: Production, store: VersionStore, run_id: str | None = None, **made_by: Any
) -> Sealed:
    """Seal the run's batches and validate the version. `run_id`: the Dagster run that made it;
    `made_by`: other facts of what made it for the manifest (the Airflow DAG run)."""
    plan, version = prod.plan, prod.version
    started = time.perf_counter()
    reused = store.is_sealed(plan.name, version)
    manifest = store.seal(plan, version, dagster_run_id=run_id, **prod.facts(), **made_by)
    sealed = time.perf_counter()
    report = validate_stored(store, plan, version, reuse_suites=True)
    seconds = {"seal": sealed - started, "validate": time.perf_counter() - sealed}
    if report["success"]:
        store.mark_latest(plan.name, version)
    privacy = load_privacy(store, plan.name, version)
    return Sealed(manifest, report, reused, privacy, seconds)
