"""Drift between an environment's live schema and the version loaded into it.

The drift sensor records what it found here (under TDM_HOME); loads into a drifted environment
are refused until the drift disappears or a forced load rebuilds the schema.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from tdm import settings


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
