"""Differences between two versions of a dataset: row counts, schemas, content."""

from __future__ import annotations

import hashlib

import pyarrow as pa

from tdm.store.versions import VersionStore

SLICE = 65_536


def content_checksum(store: VersionStore, dataset: str, version: str, table: str) -> str:
    """sha256 of the table's values in row order, whatever its batch layout: fixed slices of
    freshly laid-out arrays, serialised with Arrow IPC."""
    digest = hashlib.sha256()
    pending: list[pa.Table] = []
    buffered = 0

    def feed(data: pa.Table) -> None:
        batch = pa.RecordBatch.from_arrays(
            [
                pa.concat_arrays(data.column(i).chunks)
                if data.column(i).num_chunks
                else pa.array([], data.schema.field(i).type)
                for i in range(data.num_columns)
            ],
            schema=data.schema,
        )
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, batch.schema) as writer:
            writer.write_batch(batch)
        digest.update(sink.getvalue().to_pybytes())

    for part in store.batches(dataset, version, table):
        pending.append(part)
        buffered += part.num_rows
        while buffered >= SLICE:
            data = pa.concat_tables(pending)
            feed(data.slice(0, SLICE))
            pending, buffered = [data.slice(SLICE)], buffered - SLICE
    if buffered:
        feed(pa.concat_tables(pending))
    return digest.hexdigest()


def _columns(manifest: dict, table: str) -> dict[str, str]:
    return {
        c["name"]: c["type"] + ("" if c["nullable"] else " not null")
        for c in manifest["tables"][table]["columns"]
    }


def diff_versions(store: VersionStore, dataset: str, old: str, new: str) -> dict:
    a, b = store.manifest(dataset, old), store.manifest(dataset, new)
    tables = {}
    for table in dict.fromkeys([*a["order"], *b["order"]]):
        if table not in b["tables"] or table not in a["tables"]:
            tables[table] = {"status": "removed" if table not in b["tables"] else "added"}
            continue
        ca, cb = _columns(a, table), _columns(b, table)
        schema = {
            "added": [c for c in cb if c not in ca],
            "removed": [c for c in ca if c not in cb],
            "changed": [
                {"column": c, "from": ca[c], "to": cb[c]} for c in ca if c in cb and ca[c] != cb[c]
            ],
        }
        rows = [a["tables"][table]["rows"], b["tables"][table]["rows"]]
        same_files = [f["sha256"] for f in a["tables"][table]["files"]] == [
            f["sha256"] for f in b["tables"][table]["files"]
        ]
        same = same_files or (
            not any(schema.values())
            and rows[0] == rows[1]
            and content_checksum(store, dataset, old, table)
            == content_checksum(store, dataset, new, table)
        )
        tables[table] = {
            "status": "same" if same and not any(schema.values()) else "changed",
            "rows": {"from": rows[0], "to": rows[1], "delta": rows[1] - rows[0]},
            "schema": schema,
            "content": "same" if same else "different",
        }
    return {
        "dataset": dataset,
        "from": old,
        "to": new,
        "seed": [a["seed"], b["seed"]],
        "tables": tables,
    }
