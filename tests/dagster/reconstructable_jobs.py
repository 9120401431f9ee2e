"""Module-level job factories, so Dagster can rebuild jobs in subprocesses (multiprocess)."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from assets import names
from pipelines.build import build_definitions


def generate_job() -> dg.JobDefinition:
    spec = Path(os.environ["TDM_TEST_SPEC"])
    defs = build_definitions(paths=[spec])
    return defs.resolve_job_def(names.generate_job(spec.stem))
