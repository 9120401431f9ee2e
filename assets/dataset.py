"""The asset graph of one dataset spec.

    [ds, schema] ─► ([ds, pii_scan]) ─► [ds, generate|extract, <table>] ─► [ds, version, <table>]
                                          batch partitions, masked            sealed, validated
                                                                                  └─► [ds, load]
                                                                                  per environment

Batches are generated (or extracted) and masked in memory, then written straight into the version
store; each batch asset runs its blocking expectation suite on them in its own step; the version
step seals the manifest and validates the whole version; the load puts a valid version into an
environment, all or nothing.
"""

from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from assets import names
from assets.batches import batch_asset
from assets.load import load_asset
from assets.metadata import dataset_description
from assets.privacy import pii_scan_asset
from assets.version import version_asset
from tdm.environments.config import Environment, load_environments
from tdm.plan.model import Plan
from tdm.spec.digest import spec_digest
from tdm.spec.library import template_of
from tdm.spec.templates import templates_used
from tdm.targets.files import url_format

KINDS = {"postgresql": "postgres"}  # Dagster's kind where it differs from the URL scheme


def load_kinds(envs: dict[str, Environment]) -> set[str]:
    """The systems a load writes to; files by their format. An environment whose URL is still
    an unset ${VARIABLE} adds nothing rather than an 'unknown' kind."""
    kinds = set()
    for env in envs.values():
        scheme = env.scheme
        if scheme == "file":
            kinds.add({"csv": "csv", "jsonl": "json"}.get(url_format(env.spec.url), "parquet"))
        elif scheme != "unknown":
            kinds.add(KINDS.get(scheme, scheme))
    return kinds


def schema_asset(
    dataset: str, path: Path, error: str | None = None, about: str | None = None
) -> dg.SourceAsset:
    about = about or (
        f"The spec file {path.name}. Its data version is the file's hash, so editing it marks "
        "everything downstream stale."
    )

    @dg.observable_source_asset(
        key=names.key(dataset, names.SCHEMA),
        group_name=dataset,
        tags={"dagster/kind/yaml": ""},  # observable source assets take no kinds= argument
        description=about + (f"\n\nINVALID:\n\n{error}" if error else ""),
        metadata={"path": dg.MetadataValue.path(str(path)), **template_metadata(path)},
    )
    def _schema() -> dg.DataVersion:
        if error:
            raise dg.Failure(description=error)
        return dg.DataVersion(spec_digest(path)[:16])

    return _schema


def template_metadata(path: Path) -> dict[str, dg.MetadataValue]:
    """Which template the spec was created from (`tdm init`) and which library templates it
    `use:`s (docs/templates.md); nothing for a spec with neither."""
    out: dict[str, dg.MetadataValue] = {}
    if (name := template_of(path)) is not None:
        out["tdm/template"] = dg.MetadataValue.text(name)
    if used := templates_used(path):
        text = ", ".join(f"{name} ({file})" for name, file in used.items())
        out["tdm/templates_used"] = dg.MetadataValue.text(text)
    return out


@dataclass
class DatasetAssets:
    """Everything the graph of one dataset is made of; pipelines/ adds jobs and automation."""

    plan: Plan
    schema: dg.SourceAsset
    gate: list[dg.AssetsDefinition]
    tables: list[dg.AssetsDefinition]
    version: dg.AssetsDefinition
    load: dg.AssetsDefinition | None
    environments: dict[str, Environment]

    @property
    def assets(self) -> list:
        return [
            self.schema,
            *self.gate,
            *self.tables,
            self.version,
            *([self.load] if self.load else []),
        ]


def dataset_assets(plan: Plan, path: Path) -> DatasetAssets:
    batches = dg.StaticPartitionsDefinition(plan.batch_keys())
    envs = {n: e for n, e in load_environments().items() if e.receives(plan.name)}
    load = load_asset(plan, list(envs), load_kinds(envs)) if envs else None
    return DatasetAssets(
        plan=plan,
        schema=schema_asset(plan.name, path, about=dataset_description(plan, path)),
        gate=[pii_scan_asset(plan)] if any(plan.extracted(t) for t in plan.order) else [],
        tables=[batch_asset(plan, t, batches) for t in plan.order],
        version=version_asset(plan),
        load=load,
        environments=envs,
    )


def broken_dataset_definitions(path: Path, error: str) -> dg.Definitions:
    """A spec that does not load still shows up, with its error, instead of hiding the rest."""
    return dg.Definitions(assets=[schema_asset(path.stem, path, error)])
