"""What every environment target offers: load a version all-or-nothing, say what it holds."""

from __future__ import annotations

from dataclasses import dataclass, field

from tdm.store.versions import VersionStore


@dataclass(frozen=True)
class LoadReport:
    dataset: str
    version: str
    rows: dict[str, int]
    location: str
    previous: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


class Target:
    kind: str = ""

    def load(self, store: VersionStore, dataset: str, version: str) -> LoadReport:
        raise NotImplementedError

    def current(self, dataset: str) -> dict | None:
        """{'version': ..., 'loaded_at': ..., ...} of the dataset held now, or None."""
        raise NotImplementedError
