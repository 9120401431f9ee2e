"""Environment targets, chosen by URL scheme."""

from __future__ import annotations

from tdm.errors import TdmError
from tdm.targets.base import LoadReport, Target


def open_target(url: str) -> Target:
    scheme = url.split(":", 1)[0].split("+", 1)[0]
    if scheme == "sqlite":
        from tdm.targets.sqlite import SqliteTarget

        return SqliteTarget(url)
    raise TdmError(f"no target for URL scheme {scheme!r} (supported: sqlite)")


__all__ = ["LoadReport", "Target", "open_target"]
