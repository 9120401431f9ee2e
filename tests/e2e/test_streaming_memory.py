"""`tdm generate` streams any row count in constant memory: a 10^12-row table is written for a
while, and the process's resident memory does not grow with the rows written."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("cli")]

SPEC = """\
dataset: huge
seed: 1
tables:
  customers:
    rows: 1000000000000
    primary_key: id
    columns:
      id: {type: int, generator: sequence}
      name: {type: string, generator: first_name}
      score: {type: float, generator: float, distribution: normal, mean: 5, std: 2}
"""


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def written(out: Path) -> int:
    return sum(p.stat().st_size for p in out.rglob("*.tmp"))


def wait_for(out: Path, size: int, proc: subprocess.Popen, limit: float = 300) -> None:
    started = time.monotonic()
    while written(out) < size:
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() - started < limit, "the output stopped growing"
        time.sleep(0.2)


def test_generate_streams_a_trillion_rows_in_constant_memory(tmp_path):
    spec, out = tmp_path / "huge.yaml", tmp_path / "out"
    spec.write_text(SPEC)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tdm.cli", "generate", str(spec), "--out", str(out)],
        cwd=ROOT,
        env={**os.environ, "TDM_HOME": str(tmp_path / "home")},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(out, 20 * 2**20, proc)  # past start-up: pools built, writer open
        first = rss_kib(proc.pid)
        wait_for(out, 120 * 2**20, proc)  # ~5x as many rows written
        second = rss_kib(proc.pid)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    print(f"RSS {first / 1024:.0f} MiB at 20 MiB written, {second / 1024:.0f} MiB at 120 MiB")
    assert second - first < 48 * 1024, (first, second)
    assert list(out.iterdir()) == []  # interrupted: staging removed, nothing half-written
