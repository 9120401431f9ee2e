"""Dataset versions: an immutable Parquet store with manifests.

Layout: <store>/<dataset>/<version>/<table>/<batch>.parquet plus manifest.json. A version is
complete ("sealed") once its manifest exists; sealed versions are never written again.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tdm.core.errors import TdmError, shorten
from tdm.core.files import atomic_write, file_sha256
from tdm.core.names import check_name, is_name
from tdm.store.ids import ENGINE, full_spec, spec_hash
from tdm.store.manifests import MANIFEST, MAX_MANIFEST_BYTES, manifest_problem


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
    path: Path
    rows: int


class VersionStore:
    """Every path it reads or writes is built from checked names (tdm.core.names) and must resolve
    inside the store: `..`, absolute paths and symlinks pointing out are refused."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def _inside(self, path: Path) -> Path:
        real, root = path.resolve(), self.root.resolve()
        if not real.is_relative_to(root):
            raise TdmError(
                f"{path} leads to {real}, outside the version store {root} (a symbolic link?); "
                "the store reads and writes only inside itself: remove the link"
            )
        return path

    def dataset_dir(self, dataset: str) -> Path:
        return self._inside(self.root / check_name("dataset", dataset))

    def path(self, dataset: str, version: str, *parts: str) -> Path:
        """A path in a version's directory (parts come from the code or a checked manifest)."""
        base = self.root / check_name("dataset", dataset) / check_name("version", version)
        return self._inside(base.joinpath(*parts))  # a link anywhere on the way resolves out

    def dir(self, dataset: str, version: str) -> Path:
        return self.path(dataset, version)

    def batch_path(self, dataset: str, version: str, table: str, batch: str) -> Path:
        return self.path(
            dataset, version, check_name("table", table), f"{check_name('batch', batch)}.parquet"
        )

    def is_sealed(self, dataset: str, version: str) -> bool:
        return self.path(dataset, version, MANIFEST).exists()

    def write_batch(
        self, dataset: str, version: str, table: str, batch: str, data: pa.Table
    ) -> BatchFile:
        """Write one batch file atomically; a sealed version is left untouched."""
        path = self.batch_path(dataset, version, table, batch)
        if not self.is_sealed(dataset, version):
            atomic_write(path, lambda tmp: pq.write_table(data, tmp, compression="zstd"))
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
                if not path.exists():
                    raise TdmError(
                        f"version {version} of {dataset} is incomplete: {path} is "
                        "missing; materialise every batch partition before sealing"
                    )
                count = pq.ParquetFile(path).metadata.num_rows
                files.append(
                    {
                        "batch": batch,
                        "path": f"{table}/{batch}.parquet",
                        "rows": count,
                        "bytes": path.stat().st_size,
                        "sha256": file_sha256(path),
                    }
                )
                rows += count
            if rows != plan.rows[table]:
                raise TdmError(
                    f"version {version}: {table} holds {rows} rows, the plan "
                    f"says {plan.rows[table]}; regenerate its batches"
                )
            schema = plan.schema(table)
            tables[table] = {
                "rows": rows,
                "columns": [
                    {
                        "name": f.name,
                        "type": str(plan.spec.tables[table].columns[f.name].logical),
                        "nullable": f.nullable,
                    }
                    for f in schema
                ],
                "files": files,
            }
        manifest = {
            "format": 1,
            "dataset": dataset,
            "version": version,
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "engine": ENGINE,
            "spec_hash": spec_hash(plan.spec),
            "seed": plan.spec.seed,
            "reference_date": str(plan.spec.today),
            "batches": plan.batches,
            "order": plan.order,
            "tables": tables,
            "spec": full_spec(plan.spec),
            **facts,
        }
        atomic_write(
            self.path(dataset, version, MANIFEST),
            lambda tmp: tmp.write_text(json.dumps(manifest, indent=2) + "\n"),
        )
        return manifest

    def manifest(self, dataset: str, version: str) -> dict:
        """The version's manifest, checked (BrokenVersion when damaged)."""
        path = self.path(dataset, version, MANIFEST)
        if not path.exists():
            known = ", ".join(m["version"] for m in self.versions(dataset)) or "none"
            raise TdmError(
                f"no version {version} of dataset {dataset} in {self.root} (known: {known})"
            )
        try:
            if path.stat().st_size > MAX_MANIFEST_BYTES:
                raise ValueError(f"larger than {MAX_MANIFEST_BYTES:,} bytes")
            data = json.loads(path.read_text(encoding="utf-8"))
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
        for path in sorted(base.glob(f"*/{MANIFEST}")) if base.is_dir() else []:
            version = path.parent.name
            if not is_name("version", version):
                broken[shorten(version)] = "not a version directory name"
                continue
            try:
                good.append(self.manifest(dataset, version))
            except BrokenVersion as e:
                broken[version] = e.reason
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
        pointer = self.dataset_dir(dataset) / "LATEST"
        atomic_write(pointer, lambda tmp: tmp.write_text(version + "\n"))

    def latest(self, dataset: str) -> str:
        pointer = self.dataset_dir(dataset) / "LATEST"
        if pointer.exists():
            named = pointer.read_text(encoding="utf-8", errors="replace").strip()
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
                if not path.is_file():
                    changed.append(f"{f['path']} vanished")
                elif file_sha256(path) != f["sha256"]:
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
        (the rest is not read); BrokenVersion if unreadable."""
        path = self.path(dataset, version, entry["path"])
        try:
            if rows is None:
                return pq.read_table(path, columns=columns)
            first = next(pq.ParquetFile(path).iter_batches(batch_size=rows, columns=columns), None)
        except (OSError, pa.ArrowException) as e:
            reason = f"{entry['path']} cannot be read ({shorten(str(e), 200)})"
            raise BrokenVersion(dataset, version, reason) from None
        return pa.Table.from_batches([first]) if first is not None else pa.table({})

    def batches(self, dataset: str, version: str, table: str):
        """The table's batches in row order, one pyarrow Table at a time."""
        manifest = self.manifest(dataset, version)
        for f in manifest["tables"][table]["files"]:
            yield self.read_file(dataset, version, f)

    def read_table(self, dataset: str, version: str, table: str) -> pa.Table:
        parts = list(self.batches(dataset, version, table))
        return pa.concat_tables(parts) if parts else pa.table({})
