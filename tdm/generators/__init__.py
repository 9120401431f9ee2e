"""Vectorised, seeded generators, registered by name for specs to use.

Importing this package registers every built-in generator in REGISTRY.
"""

from tdm.generators import (  # noqa: F401  (imported to register)
    arrays,
    business,
    choice,
    clock,
    extracted,
    location,
    native,
    network,
    numeric,
    person,
    ranges,
    reference,
    regex,
    temporal,
    text,
)
from tdm.generators.base import REGISTRY, ColumnInfo, GenContext, Generator, register

__all__ = ["REGISTRY", "ColumnInfo", "GenContext", "Generator", "register"]
