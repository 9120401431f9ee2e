"""Dagster resources: where the version store is, which environments exist, the masking key."""

from __future__ import annotations

import os

import dagster as dg
from pydantic import Field

from tdm.environments.config import Environment, get_environment
from tdm.masking.apply import Masker
from tdm.masking.keys import ENV_VAR, MaskingKey, key_from_env
from tdm.store.versions import VersionStore, store_location


class TdmResource(dg.ConfigurableResource):
    """The engine's settings as a resource; empty fields fall back to TDM_* env vars / .tdm/.

    The masking key is never configuration: it is read from $TDM_MASKING_KEY when a run needs
    it. `allow_dev_key` (or TDM_ALLOW_DEV_KEY=1) permits the public, insecure demo key instead.
    """

    seed: int | None = Field(
        default=None,
        description="Produce the dataset under this seed instead of the spec's (empty: the "
        "spec's seed; scheduled refreshes set their own).",
    )
    scale: float | None = Field(
        default=None,
        description="Multiply every absolute row count by this factor, e.g. 0.1 for a quick "
        "try or 10 for a load test (empty: the spec's counts).",
    )
    store_root: str = Field(
        default="",
        description="Version store: a directory or s3://bucket/prefix (empty: $TDM_STORE or "
        ".tdm/store).",
    )
    environments_file: str = Field(
        default="",
        description="environments.yaml to read (empty: the one beside the specs, schemas/).",
    )
    allow_dev_key: bool = Field(
        default=False,
        description="Mask with the PUBLIC demo key when TDM_MASKING_KEY is unset (insecure; "
        "demos only; also TDM_ALLOW_DEV_KEY=1).",
    )

    def store(self) -> VersionStore:
        return VersionStore(self.store_root or store_location())

    def environment(self, name: str) -> Environment:
        return get_environment(name, self.environments_file or None)

    def masking_key(self, plan) -> MaskingKey | None:
        if not Masker.active(plan):
            return None
        allow = self.allow_dev_key or os.environ.get("TDM_ALLOW_DEV_KEY") == "1"
        return key_from_env(allow_dev=allow, env=ENV_VAR)
