"""What a version's manifest.json must hold before anything trusts it.

A manifest names the files of a version; a damaged or edited one must not send a reader to a
path outside its version, nor fail later with a KeyError. `manifest_problem` says what is wrong.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from tdm.core.errors import shorten
from tdm.core.names import is_name
from tdm.store.ids import ENGINE, full_spec, spec_hash

MANIFEST = "manifest.json"
MAX_MANIFEST_BYTES = 256 * 2**20
_SHA256 = re.compile(r"[0-9a-f]{64}")
# MaskingKey.fingerprint (tdm.masking.keys): listings print it, so nothing else may pass for one
_FINGERPRINT = re.compile(r"(dev-)?[0-9a-f]{16}")


def columns(plan: Any, table: str) -> list[dict]:
    """The columns of `table` as a manifest lists them."""
    logical = plan.spec.tables[table].columns
    return [
        {"name": f.name, "type": str(logical[f.name].logical), "nullable": f.nullable}
        for f in plan.schema(table)
    ]


def new_manifest(plan: Any, version: str, tables: dict, facts: dict) -> dict:
    """The manifest sealing `version` of `plan`'s dataset, whose files `tables` lists."""
    return {
        "format": 1,
        "dataset": plan.name,
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


def manifest_problem(data: Any, dataset: str, version: str) -> str | None:
    """Why `data` is not the manifest of `version` of `dataset`, or None when it is."""
    if not isinstance(data, dict):
        return f"{MANIFEST} is not a JSON object"
    for field, expected in (("dataset", dataset), ("version", version)):
        if data.get(field) != expected:
            return f"{MANIFEST} names {field} {shorten(data.get(field))}, its directory {expected}"
    for field, kind in (("created_at", str), ("seed", int), ("spec", dict), ("tables", dict)):
        if not isinstance(data.get(field), kind):
            return f"{MANIFEST} has no valid {field!r}"
    fingerprint = data.get("key_fingerprint")
    if fingerprint is not None and not (
        isinstance(fingerprint, str) and _FINGERPRINT.fullmatch(fingerprint)
    ):
        return f"{MANIFEST} names key fingerprint {shorten(fingerprint)}, not a fingerprint"
    for table, info in data["tables"].items():
        if not is_name("table", table):
            return f"{MANIFEST} lists a table named {shorten(table)}"
        problem = _table_problem(table, info)
        if problem:
            return f"{MANIFEST}: table {table}: {problem}"
    return None


def _table_problem(table: str, info: Any) -> str | None:
    if not isinstance(info, dict) or not isinstance(info.get("files"), list):
        return "no list of files"
    if not _count(info.get("rows")):
        return "no row count"
    for entry in info["files"]:
        if not isinstance(entry, dict):
            return "a file entry is not an object"
        batch = entry.get("batch")
        if not is_name("batch", batch) or entry.get("path") != f"{table}/{batch}.parquet":
            return f"file entry {shorten(entry.get('path'))} is not <table>/<batch>.parquet"
        if not _count(entry.get("rows")) or not _SHA256.fullmatch(str(entry.get("sha256"))):
            return f"file entry {entry['path']} has no valid rows or sha256"
    return None


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
