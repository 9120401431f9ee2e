"""File environments: one file per table in a directory, as Parquet, CSV or JSON Lines.

URL: `file:///path/to/dir?format=parquet` (the default), `?format=csv` or `?format=jsonl`. A load
of dataset `shop` writes `<dir>/shop/<table>.<ext>` for every table plus `<dir>/shop/_tdm_meta.json`
({dataset, version, loaded_at, format, tables: {table: {file, rows}}}), which `current()` reads.

All or nothing. The files are written into a fresh directory next to the live one,
`<dir>/.tdm-<dataset>-<version>-<token>/` (data files and the meta file, each fsynced). `<dir>/shop`
is a symbolic link to the directory of the version it holds; the load points a new link at the
new directory and moves it over `<dir>/shop` with one `rename` (os.replace), which is atomic: a
reader resolving `<dir>/shop/...` gets the old version or the new one, never a mix, and never
nothing. The previous version's directory is then deleted; a reader that wants a stable snapshot
across several files resolves the link once (os.path.realpath) and reads that directory while it
lasts. A failure or a crash before the switch leaves the live link and files untouched; what it
leaves behind (`.tdm-<dataset>-*` entries not pointed at by the link) is removed by the next load
(dataset names cannot contain '-', so those names never collide between datasets). One load per
dataset and directory at a time: concurrent loads of one dataset are not coordinated. Should
`<dir>/shop` be a plain directory (made by hand, or where symbolic links are not allowed), it is
moved aside just before the switch and deleted after it: then a reader may find no `<dir>/shop`
for that instant.

Values. Parquet keeps the Arrow types of the version (decimal128, date32, timestamp[us, UTC];
uuid and json as text). CSV (pyarrow's writer, header row): decimals as exact text, dates
`2026-01-31`, timestamps `2026-01-31 12:00:00.000000Z`, booleans `true`/`false`, json as its text;
a null is an empty unquoted field and an empty string is `""`. JSON Lines, one object per row with
every column: decimals as exact JSON number literals (read them with a decimal-aware parser to
keep every digit), dates `"2026-01-31"`, timestamps `"2026-01-31T12:00:00.000000Z"`, json
columns as the parsed JSON value (not a string), nulls as `null`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import uuid
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from tdm.core.errors import TdmError
from tdm.core.files import PARQUET_OPTIONS
from tdm.core.urls import hide_password
from tdm.spec.model import DatasetSpec
from tdm.store.versions import VersionStore
from tdm.targets.base import LoadReport, Target

META = "_tdm_meta.json"
FORMATS = {"parquet": "parquet", "csv": "csv", "jsonl": "jsonl"}


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _json_texts(arr: pa.ChunkedArray, kind: str) -> list[str]:
    """One column as JSON value texts, one per row (see the module docstring)."""
    if kind in ("int", "decimal"):
        return pc.fill_null(arr.cast(pa.string()), "null").to_pylist()
    if kind == "bool":
        return pc.fill_null(pc.if_else(arr, "true", "false"), "null").to_pylist()
    if kind == "date":
        return ["null" if v is None else f'"{v}"' for v in arr.cast(pa.string()).to_pylist()]
    if kind == "timestamp":
        text = pc.strftime(arr, format="%Y-%m-%dT%H:%M:%SZ").to_pylist()
        return ["null" if v is None else f'"{v}"' for v in text]
    if kind == "json":
        return [
            "null"
            if v is None
            else json.dumps(json.loads(v), ensure_ascii=False, separators=(",", ":"))
            for v in arr.to_pylist()
        ]
    return [json.dumps(v, ensure_ascii=False) for v in arr.to_pylist()]


def url_format(url: str) -> str:
    """The `format=` a files URL asks for (parquet when it names none), lower-cased."""
    query = parse_qs(urlsplit(url).query, keep_blank_values=True)
    return (query.get("format") or ["parquet"])[-1].lower()


class FilesTarget(Target):
    kind = "files"

    def __init__(self, url: str):
        parts = urlsplit(url)
        path = unquote(parts.path)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost") or not path:
            raise TdmError(
                "a files URL looks like file:///absolute/path/to/dir?format=parquet "
                f"(or csv, jsonl), got {hide_password(url)!r}"
            )
        if not Path(path).is_absolute():
            raise TdmError(
                f"{hide_password(url)}: give an absolute directory, like file:///srv/testdata"
            )
        query = parse_qs(parts.query, keep_blank_values=True)
        unknown = sorted(set(query) - {"format"})
        if unknown:
            raise TdmError(f"{hide_password(url)}: unknown option {unknown[0]!r} (only format=...)")
        fmt = url_format(url)
        if fmt not in FORMATS:
            raise TdmError(
                f"{hide_password(url)}: unknown format {fmt!r} (use parquet, csv or jsonl)"
            )
        self.url, self.root, self.format = url, Path(path), fmt
        self.ext = FORMATS[fmt]

    def live(self, dataset: str) -> Path:
        return self.root / dataset

    def current(self, dataset: str) -> dict | None:
        path = self.live(dataset) / META
        try:
            meta = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as e:
            raise TdmError(f"cannot read {path}: {e}") from None
        return {
            "version": meta["version"],
            "loaded_at": meta["loaded_at"],
            "format": meta["format"],
            "tables": list(meta["tables"]),
            "files": {t: info["file"] for t, info in meta["tables"].items()},
            "rows": {t: info["rows"] for t, info in meta["tables"].items()},
            "path": str(self.live(dataset)),
        }

    def load(self, store: VersionStore, dataset: str, version: str) -> LoadReport:
        manifest = store.manifest(dataset, version)
        spec = DatasetSpec.model_validate(manifest["spec"])
        previous = self.current(dataset)
        token = uuid.uuid4().hex[:8]
        stage = self.root / f".tdm-{dataset}-{version}-{token}"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self._sweep(dataset)
            stage.mkdir()
            tables = {}
            for table in manifest["order"]:
                path = stage / f"{table}.{self.ext}"
                rows = self._write_table(path, store, dataset, version, table, spec, manifest)
                _fsync(path)
                tables[table] = {"file": path.name, "rows": rows}
            meta = {
                "dataset": dataset,
                "version": version,
                "loaded_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "format": self.format,
                "tables": tables,
            }
            (stage / META).write_text(json.dumps(meta, indent=2) + "\n")
            _fsync(stage / META)
            _fsync(stage)
        except BaseException as e:
            shutil.rmtree(stage, ignore_errors=True)
            if isinstance(e, OSError | pa.ArrowException):
                raise TdmError(
                    f"writing {dataset} {version} to {self.root} failed and was undone "
                    f"(the previous files are intact): {e}"
                ) from None
            raise
        try:
            self._swap(dataset, stage, token)
        except OSError as e:
            shutil.rmtree(stage, ignore_errors=True)
            raise TdmError(
                f"switching {self.live(dataset)} to {dataset} {version} failed (the previous "
                f"files are intact): {e}"
            ) from None
        return LoadReport(
            dataset,
            version,
            {t: info["rows"] for t, info in tables.items()},
            str(self.live(dataset)),
            previous["version"] if previous else None,
            extra={"format": self.format, "directory": str(stage)},
        )

    def _sweep(self, dataset: str) -> None:
        """Remove what interrupted loads of the dataset left: every `.tdm-<dataset>-*` entry but
        the directory the live link points at."""
        live = self.live(dataset)
        keep = Path(os.path.realpath(live)) if live.is_symlink() else None
        for entry in self.root.glob(f".tdm-{dataset}-*"):
            if keep is not None and entry.resolve() == keep and not entry.is_symlink():
                continue
            if entry.is_symlink() or entry.is_file():
                entry.unlink(missing_ok=True)
            else:
                shutil.rmtree(entry, ignore_errors=True)

    def _swap(self, dataset: str, stage: Path, token: str) -> None:
        live = self.live(dataset)
        link = self.root / f".tdm-{dataset}-link-{token}"
        try:
            os.symlink(stage.name, link, target_is_directory=True)
        except (OSError, NotImplementedError):
            link = None  # no symbolic links here: fall back to two renames
        old: Path | None = None
        if live.is_symlink():
            old = Path(os.path.realpath(live))
        elif live.exists():
            old = self.root / f".tdm-{dataset}-old-{token}"
            os.rename(live, old)
        try:
            if link is not None:
                os.replace(link, live)
            else:
                os.rename(stage, live)
        except OSError:
            if link is not None:
                link.unlink(missing_ok=True)
            if old is not None and not live.is_symlink() and not live.exists():
                os.rename(old, live)  # put a moved-aside plain directory back
            raise
        with contextlib.suppress(OSError):
            _fsync(self.root)
        if old is not None and old != stage:
            shutil.rmtree(old, ignore_errors=True)

    def _schema(self, spec: DatasetSpec, manifest: dict, table: str) -> pa.Schema:
        columns = spec.tables[table].columns
        return pa.schema(
            [
                pa.field(c["name"], columns[c["name"]].logical.arrow, nullable=c["nullable"])
                for c in manifest["tables"][table]["columns"]
            ]
        )

    def _write_table(
        self,
        path: Path,
        store: VersionStore,
        dataset: str,
        version: str,
        table: str,
        spec: DatasetSpec,
        manifest: dict,
    ) -> int:
        schema = self._schema(spec, manifest, table)
        batches = (b.cast(schema) for b in store.batches(dataset, version, table))
        rows = 0
        if self.format == "parquet":
            with pq.ParquetWriter(path, schema, **PARQUET_OPTIONS) as writer:
                for batch in batches:
                    writer.write_table(batch)
                    rows += batch.num_rows
        elif self.format == "csv":
            with pacsv.CSVWriter(path, schema) as writer:
                for batch in batches:
                    writer.write_table(batch)
                    rows += batch.num_rows
        else:
            kinds = {c: col.logical.kind for c, col in spec.tables[table].columns.items()}
            with path.open("w", encoding="utf-8", newline="\n") as out:
                for batch in batches:
                    columns = [
                        [f"{json.dumps(name)}:{v}" for v in _json_texts(batch.column(name), kind)]
                        for name, kind in ((n, kinds[n]) for n in batch.column_names)
                    ]
                    rows_text = zip(*columns, strict=True)
                    out.writelines("{" + ",".join(parts) + "}\n" for parts in rows_text)
                    rows += batch.num_rows
        return rows
