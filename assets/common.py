"""Small helpers shared by the asset modules."""

import logging
import warnings

import dagster as dg

from resources import TdmResource
from tdm.errors import TdmError
from tdm.plan import Plan
from tdm.produce import Production
from tdm.spec_load import file_hash, replan

progress_log = logging.getLogger("tdm.progress")
# Single-run backfills over batch ranges are what we want; Dagster labels the parameter beta.
warnings.filterwarnings("ignore", category=dg.BetaWarning, message=".*backfill_policy.*")


SEED_TAG = "tdm/seed"  # a run producing the dataset under another seed (scheduled refreshes)
REFRESH_TAG = "tdm/refresh"  # environments to load the produced version into, comma-separated
_PLANS: dict[tuple, Plan] = {}


def run_plan(context, plan: Plan) -> Plan:
    """The plan this run produces: the definitions' one, or the same dataset under the run's
    seed tag, or re-read when the spec file changed since the code location loaded."""
    tag = context.run.tags.get(SEED_TAG)
    try:
        seed = int(tag) if tag not in (None, "") else None
    except ValueError:
        raise dg.Failure(description=f"run tag {SEED_TAG}={tag!r} is not a whole number") from None
    current = file_hash(plan.source) if plan.source is not None and plan.source.exists() else None
    edited = current is not None and current != plan.source_hash
    extracted = any(plan.extracted(t) for t in plan.order)
    if seed in (None, plan.spec.seed) and not edited and not extracted:
        return plan
    # extracted datasets count the source again for every run (it may have grown)
    key = (
        id(plan),
        seed,
        current if edited else None,
        context.run.run_id if extracted else None,
    )
    if key not in _PLANS:
        try:
            _PLANS[key] = replan(plan, seed=seed, reread=edited)
        except TdmError as e:
            raise dg.Failure(description=str(e)) from None
    return _PLANS[key]


def say(context, message: str) -> None:
    """To the run's log in the UI, and to the CLI's progress lines."""
    context.log.info(message)
    progress_log.info(message)


def production(plan: Plan, tdm: TdmResource) -> Production:
    """This run's masker, source snapshot and version id; engine errors become clear failures."""
    try:
        return Production.start(plan, tdm.masking_key(plan))
    except TdmError as e:
        raise dg.Failure(description=str(e)) from None
