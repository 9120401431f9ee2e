"""Memory freed by a batch goes back to the system when the batch is done."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest

from tdm.core.memory import release_freed

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def _rss_mb() -> int:
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) // 1024


def test_freed_heap_memory_is_returned():
    release_freed()
    before = _rss_mb()
    # a batch's temporaries under glibc's mmap threshold (100 KB each) come from the heap; a
    # small array kept after each (as a batch's results are) pins the heap around them, so
    # glibc cannot shrink it by itself when they are freed
    temporaries, pins = [], []
    for i in range(3_000):
        temporaries.append(np.full(12_500, i, dtype=np.float64))
        pins.append(np.full(16, i, dtype=np.int64))
    del temporaries
    held = _rss_mb() - before
    assert held > 200, held
    release_freed()
    after = _rss_mb() - before
    assert after < held / 3, (held, after)
    assert len(pins) == 3_000
