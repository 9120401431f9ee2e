"""What the asset modules share: engine errors as Dagster failures (in one place), the plan and
the production a run makes, and progress lines."""

import logging
import warnings
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from assets import names
from resources import TdmResource
from tdm.core.errors import TdmError
from tdm.plan.loading import plan_for_run
from tdm.plan.model import Plan
from tdm.produce.production import Production
from tdm.spec.digest import spec_digest

progress_log = logging.getLogger("tdm.progress")
# Dagster APIs we chose knowing their label, so nobody is warned about them at each start:
# single-run backfills over batch ranges, the spec file as an observable source (the UI's
# Observe button), and the drift check per environment partition of the load.
warnings.filterwarnings("ignore", category=dg.BetaWarning, message=".*backfill_policy.*")
warnings.filterwarnings("ignore", category=dg.BetaWarning, message=".*observable_source_asset.*")
warnings.filterwarnings(
    "ignore", category=dg.PreviewWarning, message=".*partitions_def on an AssetCheckSpec.*"
)


SEED_TAG = "tdm/seed"  # a run producing the dataset under another seed (scheduled refreshes)
REFRESH_TAG = "tdm/refresh"  # environments to load the produced version into, comma-separated


@contextmanager
def failing() -> Iterator[None]:
    """An engine error (TdmError) becomes a dagster.Failure: its message, no traceback."""
    try:
        yield
    except TdmError as e:
        raise dg.Failure(description=str(e)) from None


def run_plan(context, plan: Plan, tdm: TdmResource) -> Plan:
    """The plan this run produces (tdm.plan.loading.plan_for_run): under the run's seed tag
    (scheduled refreshes), else the seed and scale set in the launchpad (resources.tdm)."""
    tag = context.run.tags.get(SEED_TAG)
    try:
        seed = int(tag) if tag not in (None, "") else tdm.seed
    except ValueError:
        raise dg.Failure(description=f"run tag {SEED_TAG}={tag!r} is not a whole number") from None
    with failing():
        return plan_for_run(plan, seed, context.run.run_id, scale=tdm.scale)


def production(plan: Plan, tdm: TdmResource) -> Production:
    """This run's masker, source snapshot and version id."""
    with failing():
        return Production.start(plan, tdm.masking_key(plan))


OBSERVED_KEPT = 64  # (run, spec file) pairs this process remembers having observed


def observe_spec(context, plan: Plan) -> None:
    """Record the spec file the run reads as an observation of the schema asset, so the UI
    shows its data version after any run (even one that fails later), not "Never observed".
    Once per run in a process: the steps of an in-process run would each record the same one
    (7 per run of the retail example); a run whose steps are processes records one per step."""
    if plan.source is None or not plan.source.exists():
        return
    seen = (context.run.run_id, str(plan.source))
    if seen in _observed:
        return
    context.log_event(
        dg.AssetObservation(
            asset_key=names.key(plan.name, names.SCHEMA),
            tags={"dagster/data_version": spec_digest(plan.source)[:16]},
        )
    )
    _observed[seen] = None
    while len(_observed) > OBSERVED_KEPT:
        _observed.popitem(last=False)


_observed: OrderedDict[tuple[str, str], None] = OrderedDict()


def say(context, message: str, **fields: object) -> None:
    """To the run's log in the UI, and to the CLI's progress lines; `fields` (dataset, table,
    rows, ...) are the structured fields of its JSON log line (tdm.core.logs)."""
    context.log.info(message)
    progress_log.info(message, extra=fields)
