"""Columns of tables extracted from a source database: read, not generated."""

from __future__ import annotations

import pyarrow as pa

from tdm.core.types import KINDS
from tdm.generators.base import GenContext, Generator, register


@register
class Extracted(Generator):
    """Values read from the source database (the plan reads whole batches, then masks them)."""

    name = "extracted"
    types = KINDS
    internal = True
    summary = "read from the source database"

    def generate(self, ctx: GenContext) -> pa.Array:
        raise RuntimeError("extracted columns are read by Plan.generate, not generated")
