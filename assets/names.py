"""Asset keys, job names and metadata keys, in one place."""

from __future__ import annotations

import dagster as dg

SCHEMA, GENERATE, EXTRACT, VERSION, LOAD = "schema", "generate", "extract", "version", "load"
PII_SCAN = "pii_scan"
VERSION_META = "tdm/version"
STORE_META = "tdm/store_path"
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


def key(dataset: str, stage: str, table: str | None = None) -> dg.AssetKey:
    return dg.AssetKey([dataset, stage, table] if table else [dataset, stage])


def stage(plan, table: str) -> str:
    """A table's first stage: extracted from the source, or generated."""
    return EXTRACT if plan.extracted(table) else GENERATE


def batches(plan, table: str) -> dg.AssetKey:
    """A table's batch asset. The UI labels a node by its key's last part, so the batches of
    `orders` are `orders_batches` and the sealed table beside them plain `orders`."""
    return key(plan.name, stage(plan, table), f"{table}_batches")


def generate_job(dataset: str) -> str:
    return f"{dataset}_generate"


def observe_job(dataset: str) -> str:
    return f"{dataset}_observe_schema"


def load_job(dataset: str) -> str:
    return f"{dataset}_load"
