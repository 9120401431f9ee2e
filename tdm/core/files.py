"""Files: streaming SHA-256 and atomic writes (a reader never sees half a file)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from collections.abc import Callable
from pathlib import Path

from tdm.core.errors import TdmError


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Write through `write(tmp)` beside `path`, then rename into place; OSError -> TdmError."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(tmp)
        os.replace(tmp, path)
    except OSError as e:
        raise TdmError(
            f"cannot write {path}: {e.strerror or e}; check that its directory is writable and "
            "has free space"
        ) from None
    finally:
        with contextlib.suppress(OSError):  # where the write failed, there may be no tmp
            tmp.unlink(missing_ok=True)
