"""The suite relies on `--dist loadgroup` keeping an xdist_group on one worker (PostgreSQL
databases, ports, the CLI's shared state). pytest 9.2 with pytest-xdist 3.8 silently stopped
doing so; this proves the pinned pair does."""

from __future__ import annotations

import subprocess
import sys

GROUPED = """
import os, time, pytest

@pytest.mark.xdist_group("one")
@pytest.mark.parametrize("i", range(6))
def test_grouped(i):
    time.sleep(0.1)
    print("worker", os.environ["PYTEST_XDIST_WORKER"])
"""


def test_an_xdist_group_runs_on_one_worker(tmp_path):
    (tmp_path / "test_grouped.py").write_text(GROUPED)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-n",
            "2",
            "--dist",
            "loadgroup",
            "-q",
            "-rA",
            "-p",
            "no:cacheprovider",
            str(tmp_path / "test_grouped.py"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    workers = {line.split()[-1] for line in result.stdout.splitlines() if "worker gw" in line}
    assert len(workers) == 1, f"one group ran on {sorted(workers)}"
