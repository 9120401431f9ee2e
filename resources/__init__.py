"""Dagster resources: where the version store is and which environments exist."""

from __future__ import annotations

import dagster as dg

from tdm import settings
from tdm.environments import Environment, get_environment
from tdm.versions import VersionStore


class TdmResource(dg.ConfigurableResource):
    """The engine's settings as a resource; empty fields fall back to TDM_* env vars / .tdm/."""

    store_root: str = ""
    environments_file: str = ""

    def store(self) -> VersionStore:
        return VersionStore(self.store_root or settings.store_root())

    def environment(self, name: str) -> Environment:
        return get_environment(name, self.environments_file or None)
