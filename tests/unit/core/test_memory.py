"""Memory freed by a batch goes back to the system when the batch is done."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc, /proc")

# In a fresh interpreter (a test worker's heap is already fragmented by earlier tests), with
# glibc told to keep what is freed (no automatic trimming; 100 KB blocks from the heap, not
# mmap), as a long run's fragmented heap does: only release_freed gives it back.
PROBE = textwrap.dedent(
    """
    import ctypes, re, time
    from pathlib import Path
    import numpy as np
    from tdm.core.memory import release_freed

    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    libc = ctypes.CDLL("libc.so.6")
    libc.mallopt(M_TRIM_THRESHOLD, 2**30)
    libc.mallopt(M_MMAP_THRESHOLD, 2**25)

    def rss():
        status = Path("/proc/self/status").read_text()
        return int(re.search(r"VmRSS:\\s+(\\d+)", status).group(1)) // 1024

    before = rss()
    temporaries = [np.full(12_500, i, dtype=np.float64) for i in range(3_000)]  # ~290 MB
    del temporaries
    held = rss() - before
    release_freed()  # by a thread of its own: the caller goes on
    deadline = time.monotonic() + 10
    while rss() - before > held / 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    print(held, rss() - before)
    """
)


def _fresh(probe: str, **env: str) -> subprocess.CompletedProcess:
    """`probe` run by a fresh interpreter in the repository (tdm importable), with `env` added
    to the environment."""
    return subprocess.run(
        [sys.executable, "-c", probe],
        cwd=Path(__file__).resolve().parents[3],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **env},
    )


def test_freed_heap_memory_is_returned():
    out = _fresh(PROBE).stdout
    held, after = map(int, out.split())
    assert held > 200, held  # the allocator kept it
    assert after < held / 3, (held, after)


def test_hand_backs_are_spaced_and_in_the_background_unless_forced(monkeypatch):
    """At most one hand-back per MIN_INTERVAL: a small run's short batches do not pay a few ms
    each; a big run's batches, seconds apart, hand back after every one. The caller does not
    wait for it, unless it forces one."""
    from tdm.core import memory

    done, clock, caller = [], [1000.0], threading.get_ident()
    handed = threading.Semaphore(0)

    def release():
        done.append(threading.get_ident())
        handed.release()

    monkeypatch.setattr(memory, "_release", release)
    monkeypatch.setattr(memory.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(memory, "_last", [-memory.MIN_INTERVAL])
    memory.release_freed()
    assert handed.acquire(timeout=10)
    memory.release_freed()  # right after: skipped
    clock[0] += memory.MIN_INTERVAL / 2
    memory.release_freed()  # still too soon
    clock[0] += memory.MIN_INTERVAL
    memory.release_freed()
    assert handed.acquire(timeout=10)
    assert not handed.acquire(timeout=0.2)  # nothing more was asked for
    assert len(done) == 2 and caller not in done
    memory.release_freed(force=True)
    assert done[2:] == [caller]


FORKED = textwrap.dedent(
    """
    import os
    from tdm.core import memory

    memory.release_freed()  # the parent's thread
    pid = os.fork()
    if pid == 0:  # a forked worker (Celery's prefork pool): the parent's thread is not here
        memory._last[0] = -1e9
        memory.release_freed()
        mine = memory._hand_back[0]
        os._exit(0 if mine.pid == os.getpid() and mine.thread.is_alive() else 3)
    print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
    """
)


def test_a_forked_process_hands_back_with_its_own_thread():
    assert _fresh(FORKED).stdout.split() == ["0"]


FREEZE = textwrap.dedent(
    """
    import gc
    from tdm.core.memory import keep_loaded

    loaded = [[i] for i in range(50_000)]  # what a process loads before its runs
    keep_loaded()
    frozen = gc.get_freeze_count()
    keep_loaded()  # once per process
    again = gc.get_freeze_count()

    class Cycle:
        pass

    for _ in range(100):  # garbage a run makes: still collected
        c = Cycle()
        c.me = c
    del c
    print(frozen, again, len(gc.get_objects()), gc.collect())
    """
)


def test_what_a_process_loaded_is_left_out_of_collections():
    """A full collection walks only what came after keep_loaded(), and still reclaims it."""
    out = _fresh(FREEZE).stdout
    frozen, again, tracked, collected = map(int, out.split())
    assert frozen > 50_000 and again == frozen
    assert tracked < 1_000  # what a collection walks now
    assert collected >= 100


LEFT_AT_EXIT = textwrap.dedent(
    """
    import duckdb
    from tdm.core.memory import keep_loaded

    class Holder:
        pass

    garbage = Holder()  # a cycle holding native objects, frozen with the rest
    garbage.me, garbage.types = garbage, [duckdb.sqltype("INTEGER") for _ in range(3)]
    del garbage
    keep_loaded()
    """
)


def test_frozen_objects_are_freed_when_the_process_ends():
    """Native extensions (DuckDB's nanobind types) report objects never freed at exit."""
    done = _fresh(LEFT_AT_EXIT)
    assert "leaked" not in done.stderr, done.stderr[:300]


POOL = textwrap.dedent(
    """
    import pyarrow as pa
    from tdm.core.memory import use_jemalloc

    before = pa.default_memory_pool().backend_name
    use_jemalloc()
    print(before, pa.default_memory_pool().backend_name)
    """
)


def test_arrow_allocates_with_jemalloc_unless_the_environment_chooses():
    """mimalloc hands freed pages back within ms: the next batch's are cleared by the kernel."""
    import pyarrow as pa

    try:
        pa.jemalloc_memory_pool()
    except NotImplementedError:
        pytest.skip("this pyarrow has no jemalloc")
    assert _fresh(POOL).stdout.split()[1] == "jemalloc"
    chosen = _fresh(POOL, ARROW_DEFAULT_MEMORY_POOL="system").stdout.split()
    assert chosen == ["system", "system"]
