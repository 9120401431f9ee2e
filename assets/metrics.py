"""A run's figures, once: as numeric materialisation metadata (the UI plots each key over the
materialisations of an asset) and, when $TDM_PROMETHEUS_PUSHGATEWAY is set, as `tdm_*` metrics on
the Pushgateway (tdm.core.metrics). docs/deploy.md ("Monitoring") lists the keys and metrics."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import dagster as dg

from tdm.core import metrics
from tdm.core.metrics import Sample
from tdm.produce.batches import TableBatches
from tdm.produce.version import Sealed

Number = int | float


@dataclass
class Figures:
    """Metadata per asset (by table, or "" for a single asset) and the group's samples."""

    group: dict[str, str]
    metadata: dict[str, dict[str, dg.MetadataValue]] = field(default_factory=dict)
    samples: list[Sample] = field(default_factory=list)

    def add(self, asset: str, key: str, value: Number, metric: str = "", **labels: str) -> None:
        """One figure: metadata `key` of the asset (a table, "" for the asset of a single-asset
        step) if named, and the `metric` sample with `labels` if named."""
        if key:
            self.metadata.setdefault(asset, {})[key] = (
                dg.MetadataValue.int(value)
                if isinstance(value, int)
                else dg.MetadataValue.float(round(float(value), 3))
            )
        if metric:
            self.samples.append(Sample(metric, float(value), labels))

    def push(self, context: dg.AssetExecutionContext) -> bool:
        """Push the samples if a Pushgateway is set; a failure is a warning in the run's log (and
        the tdm.metrics logger), never a failed step."""
        if not self.samples:
            return True
        samples = [*self.samples, Sample("tdm_materialized_timestamp_seconds", time.time())]

        def warn(message: str) -> None:
            context.log.warning(message)
            metrics.log.warning(message, extra=self.group)

        return metrics.push(self.group, samples, warn=warn)


def per_second(rows: int, seconds: float) -> int:
    return round(rows / seconds) if seconds > 0 else rows


def batch_figures(dataset: str, table: str, made: TableBatches) -> Figures:
    """A table's batch asset: rows, rows/s, bytes written, seconds per stage."""
    stage = next((s for s in ("extract", "generate") if s in made.stages), "generate")
    fig = Figures({"dataset": dataset, "stage": stage, "table": table})
    fig.add("", "rows", made.rows, "tdm_rows_total")
    fig.add("", "rows_per_second", per_second(made.rows, made.seconds), "tdm_rows_per_second")
    fig.add("", "bytes", made.bytes, "tdm_bytes")
    fig.add("", "seconds", round(made.seconds + made.validation_seconds, 3))
    for phase, seconds in made.stages.items():
        key = "validation_seconds" if phase == "validate" else f"{phase}_seconds"
        fig.add("", key, seconds, "tdm_stage_seconds", phase=phase)
    return fig


def version_figures(dataset: str, sealed: Sealed) -> Figures:
    """Each table of a sealed version: rows (dagster/row_count, kept where it is), bytes, checks
    passed and failed; the version's validation seconds, on every table's asset."""
    fig = Figures({"dataset": dataset, "stage": "version"})
    validated = sealed.seconds.get("validate", 0.0)
    for table, info in sealed.manifest["tables"].items():
        checks = [c for c in sealed.report["checks"] if c["table"] == table]
        passed = sum(1 for c in checks if c["success"])
        fig.add(table, "", info["rows"], "tdm_rows_total", table=table)
        fig.add(table, "bytes", sum(f["bytes"] for f in info["files"]), "tdm_bytes", table=table)
        fig.add(table, "checks_passed", passed, "tdm_checks_passed", table=table)
        fig.add(table, "checks_failed", len(checks) - passed, "tdm_checks_failed", table=table)
        fig.add(table, "validation_seconds", validated)
    fig.add("", "", validated, "tdm_validation_seconds")
    return fig


def load_figures(dataset: str, environment: str, rows: dict[str, int], seconds: float) -> Figures:
    """A load: rows loaded (dagster/row_count, kept where it is), seconds, rows/s."""
    fig = Figures({"dataset": dataset, "stage": "load", "environment": environment})
    total = sum(rows.values())
    for table, n in rows.items():
        fig.add("", "", n, "tdm_rows_total", table=table)
    fig.add("", "load_seconds", seconds, "tdm_load_seconds")
    fig.add("", "rows_per_second", per_second(total, seconds), "tdm_rows_per_second")
    return fig
