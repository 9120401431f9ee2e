"""Building Definitions from spec files (or ready plans): assets, jobs, schedules, sensors."""

from __future__ import annotations

import logging
from pathlib import Path

import dagster as dg

from assets import names
from assets.dataset import DatasetAssets, broken_dataset_definitions, dataset_assets
from pipelines.automation import (
    drift_sensor,
    load_after_refresh,
    refresh_schedule,
    schema_sensor,
)
from pipelines.executor import executor_from_env
from resources import TdmResource
from tdm.core import settings
from tdm.core.errors import TdmError
from tdm.plan.loading import load_spec

log = logging.getLogger(__name__)


def dataset_definitions(graph: DatasetAssets) -> dg.Definitions:
    ds = graph.plan.name
    generate = dg.define_asset_job(
        names.generate_job(ds),
        selection=[*graph.gate, *graph.tables, graph.version],  # their checks run with them
        description=f"Produce every batch of {ds}, check it, seal and validate a version.",
    )
    observe = dg.define_asset_job(
        names.observe_job(ds),
        selection=[names.key(ds, names.SCHEMA)],
        description=f"Record the hash of {ds}'s spec file.",
    )
    jobs, schedules, sensors = [generate, observe], [], []
    if graph.plan.source is not None:
        sensors.append(schema_sensor(graph.plan, list(graph.environments)))
    if graph.load is not None:
        load = dg.define_asset_job(
            names.load_job(ds),
            selection=[graph.load],
            description=f"Load a version of {ds} into an environment.",
        )
        jobs.append(load)
        sensors.append(load_after_refresh(graph.plan, generate, load))
        schedules += [
            refresh_schedule(graph.plan, env)
            for env in graph.environments.values()
            if env.spec.refresh
        ]
    return dg.Definitions(
        assets=graph.assets,
        jobs=jobs,
        schedules=schedules,
        sensors=sensors,
    )


def build_definitions(
    paths: list[Path] | None = None, plans: list | None = None, tdm: TdmResource | None = None
) -> dg.Definitions:
    parts, graphs = [], []
    for path in paths if paths is not None else settings.spec_files():
        try:
            graphs.append(dataset_assets(load_spec(path), path))
        except TdmError as e:
            log.warning("spec %s does not load:\n%s", path, e)
            parts.append(broken_dataset_definitions(path, str(e)))
    graphs += [dataset_assets(plan, plan.source) for plan in plans or []]
    parts += [dataset_definitions(graph) for graph in graphs]
    shared = dg.Definitions(
        resources={"tdm": tdm or TdmResource()},
        sensors=[drift_sensor(graphs)] if graphs else [],
        executor=executor_from_env(),  # TDM_EXECUTOR: every job's steps (pipelines/executor.py)
    )
    return dg.Definitions.merge(*parts, shared)
