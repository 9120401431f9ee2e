"""Drift between an environment's live schema and the version loaded into it.

The drift sensor records what it found here (under TDM_HOME); loads into a drifted environment
are refused until the drift disappears or a forced load rebuilds the schema.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tdm.core import settings
from tdm.core.errors import TdmError
from tdm.environments.config import Environment

DRIFTING = ("postgresql", "postgres")  # targets whose live schema can drift from a version


class DriftState:
    def __init__(self, environment: str, dataset: str, home: Path | None = None):
        self.path = (home or settings.home()) / "drift" / environment / f"{dataset}.json"

    def blocked(self) -> bool:
        return self.path.exists()

    def record(self, differences: list[dict], version: str | None) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(
            json.dumps(
                {
                    "found_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    "version": version,
                    "differences": differences,
                },
                indent=2,
            )
        )

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)

    def describe(self) -> str:
        if not self.blocked():
            return "no drift"
        found = json.loads(self.path.read_text())
        return "\n  ".join(d.get("message", str(d)) for d in found["differences"])


@dataclass(frozen=True)
class Drift:
    environment: str
    dataset: str
    version: str  # the version the environment holds
    differences: list[dict]  # each with a `message`; empty: no drift


def check_drift(held: Iterable[tuple[Environment, str]]) -> tuple[list[Drift], list[str]]:
    """Compare the live schema of each (environment, dataset) whose target can drift with the
    version it holds, and record the result for the load gate. Returns the comparisons and a
    note for each environment that could not be asked."""
    found, notes = [], []
    for env, dataset in held:
        if env.scheme not in DRIFTING:
            continue
        try:
            target = env.target(dataset)
            current = target.current(dataset)
            differences = target.drift(dataset) if current else []
        except TdmError as e:
            notes.append(f"{env.name}/{dataset}: {str(e).splitlines()[0]}")
            continue
        if current is None:
            continue  # nothing loaded there yet
        state = DriftState(env.name, dataset)
        state.record(differences, current["version"]) if differences else state.clear()
        found.append(Drift(env.name, dataset, current["version"], differences))
    return found, notes
