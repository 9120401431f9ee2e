"""Environment targets, chosen by URL scheme."""

from __future__ import annotations

from tdm.core.errors import TdmError
from tdm.core.urls import scheme_of
from tdm.targets.base import LoadReport, Target

SCHEMES = ("sqlite", "postgresql", "mongodb", "file")


def open_target(
    url: str,
    schema: str | None = None,
    database: str | None = None,
    tables: str = "managed",
    statistics: str = "keys",
) -> Target:
    """The target for an environment URL; `schema`, `tables` and `statistics` (PostgreSQL) and
    `database` (MongoDB) come from the environment's settings."""
    scheme = scheme_of(url)
    postgres = scheme in ("postgresql", "postgres")
    if statistics != "keys" and (not postgres or tables != "managed"):
        raise TdmError(
            f"`statistics: {statistics}` is for the PostgreSQL tables a load creates; this "
            f"environment is {scheme}{' with `tables: existing`' if tables != 'managed' else ''}"
            ": remove `statistics`"
        )
    if tables == "existing":
        if not postgres:
            raise TdmError(
                f"`tables: existing` fills an application's PostgreSQL tables; this environment "
                f"is {scheme}: remove `tables: existing`"
            )
        from tdm.targets.postgres.existing import ExistingTablesTarget

        return ExistingTablesTarget(url, schema=schema)
    if scheme == "sqlite":
        from tdm.targets.sqlite import SqliteTarget

        return SqliteTarget(url)
    if postgres:
        from tdm.targets.postgres.target import PostgresTarget

        return PostgresTarget(url, schema=schema, analyze_all=statistics == "all")
    if scheme in ("mongodb", "mongodb+srv", "mongomock"):
        from tdm.targets.mongo.target import MongoTarget

        return MongoTarget(url, database=database)
    if scheme == "file":
        from tdm.targets.files import FilesTarget

        return FilesTarget(url)
    raise TdmError(f"no target for URL scheme {scheme!r} (supported: {', '.join(SCHEMES)})")


__all__ = ["LoadReport", "Target", "open_target"]
