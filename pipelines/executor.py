"""Which executor the code location's jobs run their steps with, chosen by TDM_EXECUTOR.

    (unset) or multiprocess  Dagster's default: a process per step on the run's machine
    celery                   dagster-celery: each step is a task on a Celery worker, anywhere
                             the broker reaches (TDM_CELERY_BROKER, TDM_CELERY_BACKEND,
                             TDM_CELERY_QUEUE)
    k8s                      dagster-k8s: each step in its own Kubernetes pod (the run's image)

The broker and backend URLs may hold passwords: the jobs name the variables, and every process
of a run (the run worker and each Celery worker) reads them from its own environment. Runs the
CLI starts (`tdm run`) execute in-process whatever is chosen here. docs/deploy-scale.md says what
the workers must share.
"""

from __future__ import annotations

import os

import dagster as dg

from tdm.core.errors import TdmError

CHOICES = ("multiprocess", "celery", "k8s")
DEFAULT_QUEUE = "dagster"  # dagster-celery's own queue name, which its workers listen on


def executor_from_env() -> dg.ExecutorDefinition | None:
    """The executor named by TDM_EXECUTOR; None keeps Dagster's default (multiprocess)."""
    choice = os.environ.get("TDM_EXECUTOR", "").strip().lower() or "multiprocess"
    if choice == "multiprocess":
        return None
    if choice == "celery":
        from dagster_celery import celery_executor

        config: dict = {
            "config_source": {
                "task_default_queue": os.environ.get("TDM_CELERY_QUEUE") or DEFAULT_QUEUE
            }
        }
        for key, var in (("broker", "TDM_CELERY_BROKER"), ("backend", "TDM_CELERY_BACKEND")):
            if os.environ.get(var):
                config[key] = {"env": var}  # read at run time, never stored in the job
        return celery_executor.configured(config, name="celery")
    if choice == "k8s":
        from dagster_k8s import k8s_job_executor

        return k8s_job_executor
    raise TdmError(f"TDM_EXECUTOR={choice!r} is not an executor; use one of {', '.join(CHOICES)}")
