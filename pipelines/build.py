"""Building Definitions from spec files (or ready plans), without side effects at import."""

from __future__ import annotations

import logging
from pathlib import Path

import dagster as dg

from assets.dataset import broken_dataset_definitions, dataset_definitions
from resources import TdmResource
from tdm import settings
from tdm.errors import TdmError
from tdm.spec_load import load_spec

log = logging.getLogger(__name__)
NOT_SPECS = {"environments.yaml"}


def spec_files(directory: Path | None = None) -> list[Path]:
    directory = directory or settings.schemas_dir()
    return sorted(p for p in directory.glob("*.yaml") if p.name not in NOT_SPECS)


def build_definitions(
    paths: list[Path] | None = None, plans: list | None = None, tdm: TdmResource | None = None
) -> dg.Definitions:
    parts = []
    for path in paths if paths is not None else spec_files():
        try:
            parts.append(dataset_definitions(load_spec(path), path))
        except TdmError as e:
            log.warning("spec %s does not load:\n%s", path, e)
            parts.append(broken_dataset_definitions(path, str(e)))
    for plan in plans or []:
        parts.append(dataset_definitions(plan, plan.source))
    return dg.Definitions.merge(*parts, dg.Definitions(resources={"tdm": tdm or TdmResource()}))
