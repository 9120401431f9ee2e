"""Reading a batch of a subsetted table: the chosen rows [start, stop) by row id, each checked
against the xmin it had when the subset was chosen, so every batch (in any process, at any
time) holds exactly the rows of that one snapshot, or the run fails saying the source moved."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from tdm.core.errors import TdmError
from tdm.source.names import _quote
from tdm.source.reader import SourceReader
from tdm.source.subset import Subset
from tdm.source.subset.rowids import by_ids, pieces
from tdm.spec.model import TableSpec

_ROW, _XMIN = "__tdm_row_id", "__tdm_xmin"


def read_subset(
    reader: SourceReader,
    name: str,
    table: TableSpec,
    subset: Subset,
    start: int,
    stop: int,
    schema: pa.Schema,
) -> pa.Table:
    """Chosen rows [start, stop) of `name`, in row id order, typed as `schema`."""
    ids = subset.ids[name][start:stop]
    if not len(ids):
        return schema.empty_table()
    with reader._lock:
        target = reader._target(name, table, schema.names, keyed=False)
        if target.rel.kind not in ("table", "materialized view", "partitioned table"):
            raise TdmError(f"{target.about}: a subset reads tables by row id; this is a view")
        leaves = subset.leaves.get(name, ())
        if (target.rel.kind == "partitioned table") != bool(leaves):
            raise TdmError(f"{target.about}: the source table was partitioned or unpartitioned "
                           "since the subset was chosen; run again")  # fmt: skip
        cols = "".join(f"s.{_quote(n)}, " for n in schema.names)
        [chunk] = pieces(target.rel.sql, leaves, ids, size=len(ids))  # one query
        inner, _ = by_ids(
            chunk, lambda rid: f"{cols}{rid} AS {_ROW}, s.xmin::text::int8 AS {_XMIN}", "s",
            inline=True,
        )  # fmt: skip
        sql_from = f" FROM ({inner}) AS s ORDER BY {_ROW}"
        wide = pa.schema([*schema, pa.field(_ROW, pa.int64()), pa.field(_XMIN, pa.int64())])
        out = reader._select(target, table, wide, sql_from, check_keys=False)
    got_ids = out.column(_ROW).to_numpy()
    got_xmin = out.column(_XMIN).to_numpy()
    want = subset.xmins[name][start:stop]
    if not (np.array_equal(got_ids, ids) and np.array_equal(got_xmin, want)):
        at = np.minimum(np.searchsorted(ids, got_ids), len(ids) - 1)
        same = (ids[at] == got_ids) & (want[at] == got_xmin)
        changed = len(ids) - int(same.sum())
        raise TdmError(
            f"{target.about}: {changed:,} of the {len(ids):,} chosen rows of rows "
            f"{start:,}..{stop:,} were updated, deleted or moved in the source since the "
            f"subset was chosen (snapshot {subset.fingerprint}): the version would mix two "
            "states of the source; run again (the subset is chosen anew)"
        )
    return out.select(schema.names)
