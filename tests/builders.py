"""Building sealed versions for tests: every batch of a plan written to a store, then sealed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow as pa

from tdm.plan.loading import load_spec
from tdm.plan.model import Plan
from tdm.store.ids import version_id
from tdm.store.versions import VersionStore

Corrupt = Callable[[str, int, pa.Table], pa.Table | None]


def write_all(
    store: VersionStore, plan: Plan, version: str, corrupt: Corrupt | None = None
) -> None:
    """Every non-empty batch of every table; `corrupt(table, batch, data)` may replace one."""
    for table in plan.order:
        for i, key in enumerate(plan.batch_keys()):
            start, stop = plan.block(table, i)
            if start < stop:
                data = plan.generate(table, start, stop)
                data = (corrupt(table, i, data) if corrupt else None) or data
                store.write_batch(plan.name, version, table, key, data)


def seal_version(
    store: VersionStore, spec: Path, corrupt: Corrupt | None = None, **overrides
) -> tuple[Plan, str]:
    """The spec (with load_spec's seed/scale overrides) generated and sealed in `store`."""
    plan = load_spec(spec, **overrides)
    version = version_id(plan.spec)
    write_all(store, plan, version, corrupt)
    store.seal(plan, version)
    return plan, version


def put(data: pa.Table, column: str, row: int, value) -> pa.Table:
    """`data` with one value replaced (the field made nullable for a None)."""
    i = data.schema.get_field_index(column)
    values = data.column(column).to_pylist()
    values[row] = value
    field = data.schema.field(i)
    field = field.with_nullable(True) if value is None else field
    return data.set_column(i, field, pa.array(values, field.type))
