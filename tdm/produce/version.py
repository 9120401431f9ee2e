"""Sealing a run's batches into an immutable version, validating the whole of it, and making it
`latest` only if it passed (environments load `latest`: never a failed version)."""

from __future__ import annotations

from dataclasses import dataclass

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


def seal_version(prod: Production, store: VersionStore, run_id: str | None = None) -> Sealed:
    plan, version = prod.plan, prod.version
    reused = store.is_sealed(plan.name, version)
    manifest = store.seal(plan, version, dagster_run_id=run_id, **prod.facts())
    report = validate_stored(store, plan, version, reuse_suites=True)
    if report["success"]:
        store.mark_latest(plan.name, version)
    return Sealed(manifest, report, reused, load_privacy(store, plan.name, version))
