"""How the `tdm` script behaves with a user at a terminal or in a shell pipeline: a closed pipe
ends quietly, names are checked before any work, one exit-code convention, each result printed
once, Ctrl-C stops cleanly and says what was left, a progress bar on a terminal only.

Every case runs the installed script in a process of its own, as a user runs it."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import pytest

from tdm.store.versions import VersionStore
from tdm.validation.runner import validate_version
from tests.builders import seal_version
from tests.conftest import ROOT, SMALL

pytestmark = pytest.mark.xdist_group("cli")

TDM = str(Path(sys.executable).with_name("tdm"))
INTERRUPTED = re.compile(r"^interrupted: .+$", re.MULTILINE)


def tdm(*args: object, stdout: object = subprocess.PIPE, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [TDM, *map(str, args)],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, **env},
        timeout=300,
    )


@pytest.fixture(scope="module")
def sealed_store(tmp_path_factory) -> tuple[Path, list[str]]:
    """A store with two sealed and validated versions of `shop` (made once)."""
    root = tmp_path_factory.mktemp("manners")
    spec = root / "shop.yaml"
    spec.write_text(SMALL.lstrip())
    store = VersionStore(root / "store")
    versions = []
    for seed in (11, 12):
        plan, version = seal_version(store, spec, seed=seed)
        validate_version(store, plan, "shop", version)
        versions.append(version)
    store.mark_latest("shop", version)
    return store.root, versions


@pytest.fixture
def shop(sealed_store, tdm_home) -> list[str]:
    """This test's own copy of the store (TDM_HOME/store): the version ids, oldest first."""
    shutil.copytree(sealed_store[0], tdm_home / "store")
    return sealed_store[1]


def test_help_documents_the_exit_codes():
    result = tdm("--help")
    assert result.returncode == 0 and result.stderr == ""
    codes = result.stdout.split("exit codes")[1]
    for code, meaning in [("0", "success"), ("1", "check failed"), ("2", "usage or input")]:
        assert re.search(rf"^  {code} +.*{meaning}", codes, re.MULTILINE), codes
    assert "130  interrupted" in codes and "141" in codes


@pytest.mark.parametrize(
    "args",
    [
        ["envs"],
        ["envs", "--json"],
        ["versions", "shop", "--json"],
        ["validate", "shop", "--json"],
        ["diff", "shop", "OLD", "latest", "--json"],
        ["scan", "WIDE", "--json"],  # 70 KB: more than a pipe holds
        ["--help"],
    ],
    ids=lambda a: " ".join(a),
)
def test_a_closed_pipe_ends_quietly(args, shop, tmp_path):
    """`tdm ... | head -1` and `| true` (the reader gone before the first byte), with Python's
    output buffered and not: stderr stays empty, the exit code is 0 or 141 (SIGPIPE's)."""
    wide = tmp_path / "wide.yaml"
    columns = "".join(
        f"      c{i}: {{type: int, generator: integer, min: 0, max: 9}}\n" for i in range(400)
    )
    wide.write_text(f"dataset: wide\ntables:\n  t:\n    rows: 10\n    columns:\n{columns}")
    command = " ".join(str({"OLD": shop[0], "WIDE": wide}.get(a, a)) for a in args)
    for reader, unbuffered in (("head -1", "1"), ("true", "")):
        env = {**os.environ, "PYTHONUNBUFFERED": unbuffered}
        shell = (
            f"'{TDM}' {command} 2>'{tmp_path}/err' | {reader} >/dev/null; echo ${{PIPESTATUS[0]}}"
        )
        done = subprocess.run(
            ["bash", "-c", shell], capture_output=True, text=True, cwd=ROOT, env=env
        )
        err = (tmp_path / "err").read_text()
        assert err == "" and done.stdout.strip() in ("0", "141"), (reader, done.stdout, err)


def test_run_checks_the_environment_before_generating(small_spec, tdm_home):
    for env, said in [
        ("nosuch", "no environment named 'nosuch'"),
        ("locl", 'did you mean "local"?'),
        ("catalog", "environment 'catalog' does not receive shop"),
    ]:
        started = time.perf_counter()
        result = tdm("run", small_spec, "--env", env)
        assert result.returncode == 2 and said in result.stderr, result.stderr
        assert "Traceback" not in result.stderr and result.stdout == ""
        assert time.perf_counter() - started < 20
        assert not (tdm_home / "store").exists() and not (tdm_home / "dagster").exists()


def test_names_are_checked_with_the_closest_known_one(shop):
    old, new = shop
    cases = [
        (["versions", "nosuch"], "unknown dataset 'nosuch'"),
        (["versions", "shp"], 'did you mean "shop"?'),
        (["validate", "nosuch"], "unknown dataset 'nosuch'"),
        (["validate", "shop", "--version", new[:6]], f'did you mean "{new}"?'),
        (["diff", "shop", "v1", "v2"], "no version v1 of shop"),
        (["load", "shop", "--env", "locl"], 'did you mean "local"?'),
        (["load", "shp", "--env", "local"], 'did you mean "shop"?'),
        (["load", "shop", "--env", "local", "--version", "vnope"], "no version vnope of shop"),
        (["validate", "retail"], "dataset retail has no version"),  # a spec, no version yet
        (["run", "nonexistent.yaml"], "nonexistent.yaml"),
        ([], "the following arguments are required"),
        (["envs", "--bogus"], "unrecognized arguments"),
    ]
    for args, said in cases:
        result = tdm(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert said in result.stderr and "Traceback" not in result.stderr, (args, result.stderr)
    assert tdm("versions", "shop").returncode == 0
    assert tdm("diff", "shop", old, new).returncode == 0


def test_checks_that_fail_exit_1(write_spec, shop):
    failing = write_spec(
        "dataset: failing\ntables:\n  t:\n    rows: 40\n    columns:\n"
        "      x: {type: int, generator: integer, min: 0, max: 100, expect: [{type: "
        "expect_column_values_to_be_between, min_value: 0, max_value: 10}]}\n",
        "failing.yaml",
    )
    result = tdm("run", failing)
    assert result.returncode == 1, result.stderr
    assert "expect_column_values_to_be_between FAILED" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unwritable_home_or_output_is_an_input_error(small_spec, shop, tmp_path):
    taken = tmp_path / "file"
    taken.write_text("")
    result = tdm("run", small_spec, TDM_HOME=str(taken / "home"))
    assert result.returncode == 2 and "Not a directory" in result.stderr, result.stderr
    for unbuffered in ("1", ""):  # a full disk under stdout: written by print, or at the end
        with open("/dev/full", "w") as full:
            done = tdm("versions", "shop", stdout=full, PYTHONUNBUFFERED=unbuffered)
        assert done.returncode == 2 and "No space left on device" in done.stderr, done.stderr
        assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr


def on_a_terminal(*args: object) -> tuple[int, str, str]:
    """`tdm ...` with stderr on a pseudo-terminal (100 columns) and stdout on a pipe."""
    main, side = pty.openpty()
    fcntl.ioctl(side, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    env = {**os.environ, "TERM": "xterm"}
    proc = subprocess.Popen(
        [TDM, *map(str, args)], stdout=subprocess.PIPE, stderr=side, cwd=ROOT, env=env
    )
    os.close(side)
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(main, 65536)
            except OSError:  # EIO: the terminal's other side closed
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain)
    reader.start()
    out, _ = proc.communicate(timeout=300)
    reader.join(10)
    os.close(main)
    return proc.returncode, out.decode(), b"".join(chunks).decode(errors="replace")


def test_a_progress_bar_on_a_terminal_lines_in_a_pipe_none_when_quiet(small_spec, tmp_path):
    code, out, err = on_a_terminal("generate", small_spec, "--out", tmp_path / "a")
    assert code == 0 and out.startswith("17,254 rows in 4 files"), (out, err)
    assert "━" in err and "shop: generating" in err and "customers: 1,500 rows" in err
    piped = tdm("generate", small_spec, "--out", tmp_path / "b")
    assert piped.returncode == 0 and piped.stdout.startswith("17,254 rows in 4 files")
    assert "\x1b[" not in piped.stderr and "━" not in piped.stderr
    lines = [json.loads(line) for line in piped.stderr.splitlines()]  # JSON lines in a pipe
    assert {"logger": "tdm.cli", "message": "customers: 1,500 rows"}.items() <= lines[0].items()
    quiet = tdm("generate", small_spec, "--out", tmp_path / "c", "--quiet")
    assert quiet.returncode == 0 and quiet.stderr == "" and quiet.stdout.startswith("17,254")


def test_load_says_its_result_once(shop):
    old, new = shop
    code, out, err = on_a_terminal("load", "shop", "--env", "local")
    assert code == 0 and re.fullmatch(rf"loaded shop {new} into local: [\d,]+ rows\n", out), out
    assert "━" in err and f"loading shop {new} into local" in err and "loaded shop" not in err
    piped = tdm("load", "shop", "--env", "local", "--version", old)
    assert piped.returncode == 0 and piped.stdout.count("loaded shop") == 1, piped.stdout
    assert json.loads(piped.stderr)["message"] == f"loading shop {old} into local"


def interrupt(*args: object, when: str) -> tuple[int, str, str]:
    """Ctrl-C as a terminal sends it (SIGINT to the whole process group), as soon as `when`
    shows on stderr."""
    proc = subprocess.Popen(
        [TDM, *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env=os.environ.copy(),
        start_new_session=True,
    )
    err = b""
    try:
        deadline = time.monotonic() + 240
        while when.encode() not in err:
            assert proc.poll() is None and time.monotonic() < deadline, err.decode()
            if select.select([proc.stderr], [], [], 1)[0]:
                err += os.read(proc.stderr.fileno(), 65536)
        os.killpg(proc.pid, signal.SIGINT)
        out, rest = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode, out.decode(), (err + rest).decode()


def said_when_interrupted(code: int, err: str) -> str:
    assert code == 130 and "Traceback" not in err, err
    lines = INTERRUPTED.findall(err)
    assert len(lines) == 1, err
    return lines[0]


def test_ctrl_c_during_run_says_no_version_was_sealed(small_spec, tdm_home):
    code, _, err = interrupt("run", small_spec, "--env", "local", "--scale", "5", when="customers:")
    line = said_when_interrupted(code, err)
    sealed = VersionStore(tdm_home / "store").versions("shop")
    if sealed:  # the signal came late: the version was sealed, not loaded
        assert f"version {sealed[0]['version']} of shop was sealed and" in line, line
    else:
        assert line.startswith("interrupted: no new version of shop was sealed"), line
    assert line.endswith("; local still holds no shop"), line


def test_ctrl_c_during_load_says_what_the_environment_holds(shop):
    new = shop[1]
    code, _, err = interrupt("load", "shop", "--env", "local", when="loading shop")
    line = said_when_interrupted(code, err)
    holds = tdm("envs", "--json").stdout
    if f'"shop": "{new}"' in holds:  # the signal came late: the load was done
        assert line == f"interrupted: local now holds shop {new}: the load had completed"
    else:
        assert line == (
            "interrupted: local still holds no shop; loads are all or nothing: "
            f"load {new} again when ready"
        )


def test_ctrl_c_stops_generate_and_its_workers_quietly(small_spec, tmp_path):
    out = tmp_path / "out"
    args = ("generate", small_spec, "--out", out, "--workers", "2", "--scale", "20")
    code, _, err = interrupt(*args, when="customers:")
    line = said_when_interrupted(code, err)
    assert (
        line
        == f"interrupted: nothing was written to {out} (tables are moved in only when all are done)"
    )
    assert not list(out.glob("*.parquet"))
