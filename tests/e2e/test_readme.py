"""README.md's tour, run verbatim: every ```bash block, in order, as a user would paste it
into a terminal in the checkout (after `make install`, which `make test` has done). A block
that starts a server (`make ui`) runs until the server answers, then is stopped."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.e2e.dagster_ui import free_port

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("cli")]
SERVERS = ("make ui",)  # blocks that run until stopped
RUNNING_THIS_TEST = "make test"  # the command that is running this very test


def blocks(text: str) -> list[str]:
    return re.findall(r"^```bash\n(.*?)^```", text, flags=re.S | re.M)


def run_server(block: str, env: dict[str, str], log: Path) -> None:
    port = free_port()
    with log.open("w") as out:
        server = subprocess.Popen(
            ["bash", "-c", block],
            cwd=ROOT,
            env={**env, "UI_PORT": str(port)},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert server.poll() is None, f"{block.strip()} exited:\n{log.read_text()[-3000:]}"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=3):
                    break
            except OSError:
                time.sleep(1)
        else:
            pytest.fail(f"{block.strip()} did not serve on port {port}")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
    text = log.read_text()
    assert "warning" not in text.lower(), f"warnings at start:\n{text[-3000:]}"
    assert "Traceback" not in text


def test_every_readme_command_block_runs_verbatim(tmp_path):
    found = blocks((ROOT / "README.md").read_text())
    assert len(found) >= 3, "the README's tour has gone"
    env = {
        **os.environ,
        "TDM_HOME": str(tmp_path / "home"),
        "DAGSTER_HOME": str(tmp_path / "dagster"),
        "PATH": os.environ["PATH"].replace(str(ROOT / ".venv" / "bin") + os.pathsep, ""),
    }
    env.pop("TDM_MASKING_KEY", None)
    env.pop("VIRTUAL_ENV", None)
    for number, block in enumerate(found):
        if any(line.strip().startswith(SERVERS) for line in block.splitlines()):
            run_server(block, env, tmp_path / f"server{number}.log")
            continue
        lines = [
            line for line in block.splitlines() if not line.strip().startswith(RUNNING_THIS_TEST)
        ]
        result = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", "\n".join(lines)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        said = f"README block {number + 1}:\n{block}\nstdout:\n{result.stdout[-3000:]}"
        assert result.returncode == 0, f"{said}\nstderr:\n{result.stderr[-3000:]}"
        assert "Traceback" not in result.stdout + result.stderr, said
    versions = (tmp_path / "home" / "store" / "retail").glob("v*")
    assert len(list(versions)) == 2  # make demo's, and the tour's second one
