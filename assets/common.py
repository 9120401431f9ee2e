"""Small helpers shared by the asset modules."""

import logging
import warnings

import dagster as dg

from resources import TdmResource
from tdm.errors import TdmError
from tdm.plan import Plan
from tdm.produce import Production

progress_log = logging.getLogger("tdm.progress")
# Single-run backfills over batch ranges are what we want; Dagster labels the parameter beta.
warnings.filterwarnings("ignore", category=dg.BetaWarning, message=".*backfill_policy.*")


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
