"""Memory freed by Arrow and numpy goes back to the system when a batch is done."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from tdm.core.memory import release_freed

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def _rss_mb() -> int:
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) // 1024


def test_freed_batch_memory_is_returned():
    release_freed()
    before = _rss_mb()
    # many mid-sized arrays, as a batch's columns and temporaries are: the allocators keep them
    arrow = [pa.array(np.arange(i, i + 30_000)) for i in range(800)]  # ~190 MB
    numpy = [np.arange(20_000) + i for i in range(1_200)]  # ~190 MB
    assert _rss_mb() - before > 300
    del arrow, numpy
    held = _rss_mb() - before
    release_freed()
    after = _rss_mb() - before
    assert after < 60 and after < held / 2, (held, after)
