"""TDM_EXECUTOR chooses the executor of every job of the code location (pipelines/executor.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.build import build_definitions
from tdm.core.errors import TdmError


def executors(spec: Path) -> set[str]:
    defs = build_definitions(paths=[spec])
    return {job.executor_def.name for job in defs.get_repository_def().get_all_jobs()}


@pytest.mark.parametrize(
    ("choice", "executor"),
    [
        ("", "multi_or_in_process_executor"),
        ("multiprocess", "multi_or_in_process_executor"),
        ("celery", "celery"),
        ("Celery", "celery"),
        ("k8s", "k8s"),
    ],
)
def test_every_job_runs_on_the_chosen_executor(monkeypatch, small_spec, choice, executor):
    monkeypatch.setenv("TDM_EXECUTOR", choice)
    assert executors(small_spec) == {executor}


def test_an_unknown_executor_is_refused(monkeypatch, small_spec):
    monkeypatch.setenv("TDM_EXECUTOR", "threads")
    with pytest.raises(TdmError, match="TDM_EXECUTOR='threads' is not an executor"):
        build_definitions(paths=[small_spec])
