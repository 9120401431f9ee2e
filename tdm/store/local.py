"""The version store on a local (or mounted) directory: paths built from checked names that must
resolve inside the store, written atomically (temporary file, then rename)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tdm.core.errors import TdmError
from tdm.core.files import PARQUET_OPTIONS, atomic_write, file_sha256
from tdm.store.manifests import MANIFEST


class LocalFiles:
    """Every path it gives out resolves inside `root`: `..`, absolute paths and symlinks pointing
    out are refused."""

    local = True

    def __init__(self, root: Path):
        self.root = root

    def _inside(self, path: Path) -> Path:
        real, root = path.resolve(), self.root.resolve()
        if not real.is_relative_to(root):
            raise TdmError(
                f"{path} leads to {real}, outside the version store {root} (a symbolic link?); "
                "the store reads and writes only inside itself: remove the link"
            )
        return path

    def path(self, *parts: str) -> Path:
        return self._inside(self.root.joinpath(*parts))  # a link anywhere on the way resolves out

    def exists(self, path: Path) -> bool:
        return path.exists()

    def is_file(self, path: Path) -> bool:
        return path.is_file()

    def size(self, path: Path) -> int:
        return path.stat().st_size

    def read_text(self, path: Path, errors: str = "strict") -> str:
        return path.read_text(encoding="utf-8", errors=errors)

    def write_text(self, path: Path, text: str) -> None:
        atomic_write(path, lambda tmp: tmp.write_text(text))

    def write_parquet(self, path: Path, data: pa.Table) -> None:
        atomic_write(path, lambda tmp: pq.write_table(data, tmp, **PARQUET_OPTIONS))

    def describe(self, path: Path) -> tuple[int, int, str]:
        """A batch file's rows, bytes and sha256."""
        return pq.ParquetFile(path).metadata.num_rows, path.stat().st_size, file_sha256(path)

    def sha256(self, path: Path) -> str:
        return file_sha256(path)

    def sealed(self, base: Path) -> list[str]:
        """The names of the directories of `base` holding a manifest, sorted."""
        return [p.parent.name for p in sorted(base.glob(f"*/{MANIFEST}"))] if base.is_dir() else []

    def children(self, base: Path) -> list[str]:
        """The names of the directories in `base`."""
        return [p.name for p in base.iterdir() if p.is_dir()] if base.is_dir() else []
