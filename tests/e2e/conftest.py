"""The command line run in-process, as the `tdm` script runs it."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tdm.cli.main import main


@dataclass
class Run:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys):
    """Runs `tdm ...` in-process and asserts what every case must hold: no traceback, and a
    message of readable length."""

    def run(*args: object) -> Run:
        capsys.readouterr()
        try:
            code = main([str(a) for a in args])
        except SystemExit as e:  # argparse's own errors
            code = e.code
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err, args
        assert len(err) < 16_000, f"a message of {len(err):,} characters"
        return Run(code, out, err)

    return run
