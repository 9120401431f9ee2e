"""Everything a PostgreSQL schema declares about its tables, read from pg_catalog in a few
queries: columns with their full types (enums, domains, arrays, ranges), identity, generated
columns and defaults, keys, unique indexes (partial ones too), foreign keys with their actions
(those declared only on partitions lifted to the partitioned parent), CHECK and exclusion
constraints, partitioning, triggers and comments. What `tdm introspect` writes a spec from and
what `tables: existing` loads compare with.

The dataclasses are in tdm.targets.postgres.catalog.model, the queries that fill them in
tdm.targets.postgres.catalog.reading; everything is importable from here."""

from tdm.targets.postgres.catalog.model import (
    PgColumn,
    PgForeignKey,
    PgSchema,
    PgTable,
    PgType,
    PgUnique,
)
from tdm.targets.postgres.catalog.reading import read_catalog, referencing

__all__ = [
    "PgColumn",
    "PgForeignKey",
    "PgSchema",
    "PgTable",
    "PgType",
    "PgUnique",
    "read_catalog",
    "referencing",
]
