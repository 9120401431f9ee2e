"""Writing small specs and collecting the problems they are refused with, for spec-error tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tdm.core.errors import Problem, SpecError
from tdm.plan.loading import load_spec

# Lines 1-7; columns added after it start on line 8, tables added after it on line 8.
CUSTOMERS = """\
dataset: t
tables:
  customers:
    rows: 10
    primary_key: id
    columns:
      id: {type: int, generator: sequence}
"""


def write(tmp_path: Path, text: str, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def problems_of(path: Path) -> list[Problem]:
    with pytest.raises(SpecError) as info:
        load_spec(path)
    err = info.value
    assert err.file == str(path)
    assert err.problems, "a SpecError must carry at least one problem"
    return err.problems
