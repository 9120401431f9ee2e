"""Dataset versions: an immutable Parquet store with manifests.

Layout: <store>/<dataset>/<version>/<table>/<batch>.parquet plus manifest.json. A version is
complete ("sealed") once its manifest exists; sealed versions are never written again. The store
is a directory (tdm.store.local) or s3://bucket/prefix (tdm.store.objects, docs/store.md).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tdm.core.errors import TdmError, listed, shorten
from tdm.core.names import check_name, is_name
from tdm.store.local import LocalFiles
from tdm.store.manifests import (
    MANIFEST,
    MAX_MANIFEST_BYTES,
    columns,
    manifest_problem,
    new_manifest,
)
from tdm.store.objects import ObjectStoreError, S3Files, S3Path, is_url, store_location

__all__ = ["BatchFile", "BrokenVersion", "StorePath", "VersionStore", "store_location"]

StorePath = Path | S3Path  # a local path, or an object's key shown as s3://bucket/...
KNOWN_SHOWN = 5  # versions an unknown version's message names (the newest)


class BrokenVersion(TdmError):
    """A version directory whose manifest or files cannot be trusted."""

    def __init__(self, dataset: str, version: str, reason: str):
        self.version, self.reason = version, reason
        super().__init__(
            f"version {version} of {dataset} is damaged: {reason}; versions are immutable: "
            f"produce it again (`tdm run`) or use another (`tdm versions {dataset}`)"
        )


@dataclass(frozen=True)
class BatchFile:
    table: str
    batch: str
    path: StorePath
    rows: int


class VersionStore:
    """Every path it reads or writes is built from checked names (tdm.core.names) and must resolve
    inside the store: `..`, absolute paths and symlinks pointing out are refused.

    `root` is a directory or s3://bucket/prefix; paths are Paths or S3Paths accordingly."""

    def __init__(self, root: str | Path):
        self.files = S3Files(root) if is_url(root) else LocalFiles(Path(root))
        self.root = self.files.root

    @property
    def local(self) -> bool:
        return self.files.local

    def dataset_dir(self, dataset: str) -> StorePath:
        return self.files.path(check_name("dataset", dataset))

    def path(self, dataset: str, version: str, *parts: str) -> StorePath:
        """A path in a version's directory (parts come from the code or a checked manifest)."""
        return self.files.path(
            check_name("dataset", dataset), check_name("version", version), *parts
        )

    def dir(self, dataset: str, version: str) -> StorePath:
        return self.path(dataset, version)

    def batch_path(self, dataset: str, version: str, table: str, batch: str) -> StorePath:
        return self.path(
            dataset, version, check_name("table", table), f"{check_name('batch', batch)}.parquet"
        )

    def exists(self, dataset: str, version: str, *parts: str) -> bool:
        return self.files.exists(self.path(dataset, version, *parts))

    def read_text(self, dataset: str, version: str, *parts: str) -> str | None:
        """A text file kept beside a version (validation.json, ...), or None when absent."""
        path = self.path(dataset, version, *parts)
        return self.files.read_text(path) if self.files.exists(path) else None

    def write_text(self, dataset: str, version: str, *parts: str, text: str) -> None:
        """Write a text file beside a version, whole (atomically), replacing any before it."""
        self.files.write_text(self.path(dataset, version, *parts), text)

    def datasets(self) -> list[str]:
        """Datasets with a directory in the store."""
        return sorted(n for n in self.files.children(self.root) if is_name("dataset", n))

    def is_sealed(self, dataset: str, version: str) -> bool:
        return self.exists(dataset, version, MANIFEST)

    def write_batch(
        self, dataset: str, version: str, table: str, batch: str, data: pa.Table
    ) -> BatchFile:
        """Write one batch file atomically; a sealed version is left untouched."""
        path = self.batch_path(dataset, version, table, batch)
        if not self.is_sealed(dataset, version):
            self.files.write_parquet(path, data)
        return BatchFile(table, batch, path, data.num_rows)

    def seal(self, plan: Any, version: str, **facts: Any) -> dict:
        """Check every batch of every table is present, then write the manifest (once)."""
        dataset = plan.name
        if self.is_sealed(dataset, version):
            return self.manifest(dataset, version)
        tables = {}
        for table in plan.order:
            files, rows = [], 0
            for batch in plan.batch_keys()[: plan.table_batches(table)]:
                path = self.batch_path(dataset, version, table, batch)
                if not self.files.exists(path):
                    raise TdmError(
                        f"version {version} of {dataset} is incomplete: {path} is "
                        "missing; materialise every batch partition before sealing"
                    )
                count, size, sha256 = self.files.describe(path)
                files.append(
                    {
                        "batch": batch,
                        "path": f"{table}/{batch}.parquet",
                        "rows": count,
                        "bytes": size,
                        "sha256": sha256,
                    }
                )
                rows += count
            if rows != plan.rows[table]:
                raise TdmError(
                    f"version {version}: {table} holds {rows} rows, the plan "
                    f"says {plan.rows[table]}; regenerate its batches"
                )
            tables[table] = {"rows": rows, "columns": columns(plan, table), "files": files}
        if self.is_sealed(dataset, version):  # sealed meanwhile by another run: keep that one
            return self.manifest(dataset, version)
        manifest = new_manifest(plan, version, tables, facts)
        # last, and only once: the manifest seals the version
        self.write_text(dataset, version, MANIFEST, text=json.dumps(manifest, indent=2) + "\n")
        return manifest

    def manifest(self, dataset: str, version: str) -> dict:
        """The version's manifest, checked (BrokenVersion when damaged)."""
        path = self.path(dataset, version, MANIFEST)
        if not self.files.exists(path):
            found = [m["version"] for m in self.versions(dataset)]
            lists = f": `tdm versions {dataset}` lists them"
            known = listed(found[::-1], KNOWN_SHOWN, lists) or "none"
            raise TdmError(
                f"no version {version} of dataset {dataset} in {self.root} "
                f"(known, newest first: {known})"
            )
        try:
            if self.files.size(path) > MAX_MANIFEST_BYTES:
                raise ValueError(f"larger than {MAX_MANIFEST_BYTES:,} bytes")
            data = json.loads(self.files.read_text(path))
        except (OSError, ValueError, RecursionError) as e:
            reason = f"{MANIFEST} is not readable JSON ({e})"
            raise BrokenVersion(dataset, version, reason) from None
        problem = manifest_problem(data, dataset, version)
        if problem:
            raise BrokenVersion(dataset, version, problem)
        return data

    def listing(self, dataset: str) -> tuple[list[dict], dict[str, str]]:
        """The sealed versions (oldest first) and the damaged ones (version -> what is wrong):
        one broken manifest does not hide the others."""
        base = self.dataset_dir(dataset)
        good, broken = [], {}
        for version in self.files.sealed(base):
            if not is_name("version", version):
                broken[shorten(version)] = "not a version directory name"
                continue
            try:
                good.append(self.manifest(dataset, version))
            except BrokenVersion as e:
                broken[version] = e.reason
            except ObjectStoreError:  # unreachable: no verdict on the version
                raise
            except TdmError as e:  # e.g. a symbolic link out of the store
                broken[version] = str(e)
        good.sort(key=lambda m: (m["created_at"], m["version"]))
        return good, broken

    def versions(self, dataset: str) -> list[dict]:
        """Sealed versions that are intact, oldest first."""
        return self.listing(dataset)[0]

    def mark_latest(self, dataset: str, version: str) -> None:
        """Remember the version most recently produced (which may be an older, reused one)."""
        check_name("version", version)
        self.files.write_text(self.dataset_dir(dataset) / "LATEST", version + "\n")

    def latest(self, dataset: str) -> str:
        pointer = self.dataset_dir(dataset) / "LATEST"
        if self.files.exists(pointer):
            named = self.files.read_text(pointer, errors="replace").strip()
            if not is_name("version", named):
                raise TdmError(
                    f"{pointer} is damaged (it names {shorten(named)}); pass --version with an "
                    f"id from `tdm versions {dataset}`, or remove the file"
                )
            return named
        found = self.versions(dataset)
        if not found:
            raise TdmError(
                f"dataset {dataset} has no version in {self.root}; run "
                f"`tdm run schemas/{dataset}.yaml` first"
            )
        return found[-1]["version"]

    def resolve(self, dataset: str, version: str | None) -> str:
        """'latest' (or None) -> the latest version id; 'previous' -> the one sealed before it
        (to roll back or diff); an id is checked to exist."""
        if version in (None, "", "latest"):
            return self.latest(dataset)
        if version == "previous":
            latest = self.latest(dataset)
            ids = [m["version"] for m in self.versions(dataset)]
            before = ids[: ids.index(latest)] if latest in ids else []
            if not before:
                raise TdmError(
                    f"dataset {dataset} has no version sealed before {latest}; "
                    f"`tdm versions {dataset}` lists them"
                )
            return before[-1]
        self.manifest(dataset, check_name("version", version))
        return version

    def verify(self, dataset: str, version: str) -> None:
        """Every file of the version still has the checksum it was sealed with."""
        manifest = self.manifest(dataset, version)
        changed = []
        for info in manifest["tables"].values():
            for f in info["files"]:
                path = self.path(dataset, version, f["path"])
                if not self.files.is_file(path):
                    changed.append(f"{f['path']} vanished")
                elif self.files.sha256(path) != f["sha256"]:
                    changed.append(f"{f['path']} changed (sha256 differs from the manifest)")
        if changed:
            more = f"; and {len(changed) - 5} more" if len(changed) > 5 else ""
            reason = "since it was sealed, " + "; ".join(changed[:5]) + more
            raise BrokenVersion(dataset, version, f"{reason} in {self.dir(dataset, version)}")

    def read_file(
        self,
        dataset: str,
        version: str,
        entry: dict,
        columns: list[str] | None = None,
        rows: int | None = None,
    ) -> pa.Table:
        """One batch file of a manifest's `files`, as a table, or only its first `rows` rows
        (the rest is not read); BrokenVersion if unreadable. From object storage, the whole object
        is fetched and checked against the manifest's sha256 first."""
        path = self.path(dataset, version, entry["path"])
        source = path if self.local else self._fetch(dataset, version, entry, path)
        try:
            if rows is None:
                return pq.read_table(source, columns=columns)
            first = next(
                pq.ParquetFile(source).iter_batches(batch_size=rows, columns=columns), None
            )
        except (OSError, pa.ArrowException) as e:
            reason = f"{entry['path']} cannot be read ({shorten(str(e), 200)})"
            raise BrokenVersion(dataset, version, reason) from None
        return pa.Table.from_batches([first]) if first is not None else pa.table({})

    def _fetch(self, dataset: str, version: str, entry: dict, path: S3Path) -> pa.BufferReader:
        try:
            data = self.files.read_bytes(path)
        except FileNotFoundError:
            raise BrokenVersion(dataset, version, f"{entry['path']} vanished") from None
        if "sha256" in entry and hashlib.sha256(data).hexdigest() != entry["sha256"]:
            reason = f"{entry['path']} changed (sha256 differs from the manifest) in {path}"
            raise BrokenVersion(dataset, version, reason)
        return pa.BufferReader(data)

    def batches(self, dataset: str, version: str, table: str, columns: list[str] | None = None):
        """The table's batches in row order, one pyarrow Table at a time (only `columns`)."""
        manifest = self.manifest(dataset, version)
        for f in manifest["tables"][table]["files"]:
            yield self.read_file(dataset, version, f, columns)

    def read_table(
        self, dataset: str, version: str, table: str, columns: list[str] | None = None
    ) -> pa.Table:
        """The table's batches (only `columns`) as one table; without batches, `columns` empty."""
        parts = list(self.batches(dataset, version, table, columns))
        if not parts:
            return pa.table({c: pa.array([], pa.null()) for c in columns or []})
        return pa.concat_tables(parts, promote_options="default")
