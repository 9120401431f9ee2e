"""A run of a dataset's generate job over a range of batches, in a process of its own, as the
code server's run process would make it: the job from the code location (pipelines.definitions,
so TDM_EXECUTOR decides the executor), the instance of DAGSTER_HOME. Prints the run's id and
outcome as JSON; the test bounds how long this process may take.

    python -m tests.celery.orchestrate DATASET FIRST_BATCH LAST_BATCH
"""

from __future__ import annotations

import json
import os
import sys

import dagster as dg
from dagster._core.definitions.reconstruct import ReconstructableRepository

from assets import names


def main(dataset: str, first: str, last: str) -> int:
    repo = ReconstructableRepository.for_module(
        "pipelines.definitions", "defs", working_directory=os.getcwd()
    )
    job = repo.get_reconstructable_job(names.generate_job(dataset))
    with dg.DagsterInstance.get() as instance:
        result = dg.execute_job(
            job,
            instance=instance,
            tags={names.RANGE_START: first, names.RANGE_END: last},
            raise_on_error=False,
        )
    print(json.dumps({"run_id": result.run_id, "success": result.success}))
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
