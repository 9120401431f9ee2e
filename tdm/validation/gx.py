"""Running expectation configs with great_expectations 1.x, fast enough for every batch.

One ephemeral context per process, created on first use (importing GX costs seconds). Each
table's GX-run expectations are one suite, validated in one call per group of rows. These keep
GX's cost near that of the checks themselves:
- GX fingerprints every pandas batch it is given (an md5 over pd.util.hash_pandas_object, only
  for batch markers), which costs more than all our expectations together: we raise GX's own
  "too big to fingerprint" threshold (HASH_THRESHOLD) to skip it;
- GX copies its whole batch frame for every metric of every expectation, so the frame holds
  just the columns the expectations read;
- GX's SUMMARY result format computes example row positions even when every row passes: a
  suite runs with BASIC (counts), and again with SUMMARY only when some row is unexpected;
- GX computes ranges vectorised only for numpy numbers and datetimes (pd.ArrowDtype numbers and
  dates take one Python call a row), so `frame` hands it those dtypes;
- GX rebuilds an expectation's configuration (a pydantic dict()) ~170 times while validating it,
  ~3 of its ~8 ms: while one of our validations runs, each is built once (_memo_configuration).
"""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from tdm.core.errors import TdmError
from tdm.validation.suite import columns_of, is_own, label

_lock = threading.Lock()
_running = threading.Lock()  # one GX validation at a time: the batch definition is shared
_state: dict[str, Any] = {}
_suites: dict[tuple, tuple[weakref.ref, dict]] = {}


def runtime():
    """(great_expectations, batch definition) of this process's ephemeral context."""
    with _lock:
        if not _state:
            import great_expectations as gx
            from great_expectations.data_context.types.base import ProgressBarsConfig
            from great_expectations.execution_engine import pandas_execution_engine

            pandas_execution_engine.HASH_THRESHOLD = 0  # skip the per-batch md5 fingerprint
            _memo_configuration()
            context = gx.get_context(mode="ephemeral")
            context.variables.progress_bars = ProgressBarsConfig(globally=False)
            asset = context.data_sources.add_pandas("tdm").add_dataframe_asset("batch")
            _state.update(gx=gx, batches=asset.add_batch_definition_whole_dataframe("whole"))
        return _state["gx"], _state["batches"]


# id(expectation) -> (expectation, its configuration), while a validation runs; holding the
# expectation keeps its id from being reused by the copies GX makes and drops.
_configs: dict[int, tuple[Any, Any]] | None = None


def _memo_configuration() -> None:
    """Expectation.configuration built once per expectation and validation (expectations are not
    changed while they are validated; outside `run` GX's own property runs as before)."""
    from great_expectations.expectations.expectation import Expectation

    build = Expectation.configuration.fget

    def configuration(self):
        if _configs is None:
            return build(self)
        found = _configs.get(id(self))
        if found is None:
            found = _configs[id(self)] = (self, build(self))
        return found[1]

    Expectation.configuration = property(configuration, doc=Expectation.configuration.__doc__)


def _kwargs(plan, table: str, kwargs: dict) -> dict:
    """Date bounds and sets as UTC timestamps, matching how `frame` hands dates to GX."""
    column = kwargs.get("column")
    spec = plan.spec.tables[table].columns.get(column) if column else None
    if spec is None or spec.logical.kind != "date":
        return kwargs
    import pandas as pd

    def stamp(v: Any) -> Any:
        return pd.Timestamp(v, tz="UTC") if isinstance(v, str | dt.date) else v

    out = dict(kwargs)
    for k in ("min_value", "max_value", "value"):
        if k in out:
            out[k] = stamp(out[k])
    if "value_set" in out:
        out["value_set"] = [stamp(v) for v in out["value_set"]]
    return out


def suite(plan, table: str, configs: list[dict]) -> tuple[tuple[str, ...] | None, Any] | None:
    """(the columns they read, or None for all; the suite) of the GX-run configs, cached per
    plan; each expectation's meta.tdm_index is its position in `configs`. None: nothing to run."""
    key = (id(plan), id(plan.spec), table, repr(configs))
    hit = _suites.get(key)
    if hit is not None and hit[0]() is plan:
        return hit[1]
    if all(is_own(c) for c in configs):
        return None  # nothing for GX: no need to import it (seconds, once per process)
    gx, _ = runtime()
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    built = gx.ExpectationSuite(name=f"{plan.name}.{table}")
    read: list[tuple[str, ...] | None] = []
    for i, c in enumerate(configs):
        if is_own(c):
            continue
        try:
            kwargs = _kwargs(plan, table, c["kwargs"])
            conf = ExpectationConfiguration(type=c["type"], kwargs=kwargs, meta={"tdm_index": i})
            built.add_expectation(conf.to_domain_obj())
        except Exception as e:  # GX raises its own and pydantic errors for bad arguments
            where = label(table, c)[1]
            raise TdmError(f"{where}: expectation {c['type']} cannot be built: {e}") from None
        read.append(columns_of(c))
    columns = None if None in read else tuple(dict.fromkeys(c for cols in read for c in cols))
    out = (columns, built) if read else None
    for stale in [k for k, (ref, _) in _suites.items() if ref() is None]:
        del _suites[stale]
    _suites[key] = (weakref.ref(plan), out)
    return out


def frame(data: pa.Table):
    """The batch as pandas in dtypes GX checks vectorised: numpy ints and floats (decimals of up
    to 15 digits and ints with nulls below 2**53 as float64, exact there), dates as UTC
    timestamps, tz-aware timestamps, pyarrow-backed strings; the rest as pd.ArrowDtype."""
    import pandas as pd

    columns = {}
    for name, col in zip(data.column_names, data.columns, strict=True):
        t = col.type
        keep = pa.types.is_boolean(t)
        if pa.types.is_decimal(t):
            keep = t.precision > 15
            # through the decimal text: Arrow's direct cast is not correctly rounded
            # (29.99 -> 29.990000000000002, which then fails a check of <= 29.99)
            col = col if keep else col.cast(pa.string()).cast(pa.float64())
        elif pa.types.is_integer(t) and col.null_count:
            low, high = (v.as_py() or 0 for v in pc.min_max(col).values())
            keep = max(abs(low), abs(high)) >= 2**53
        elif pa.types.is_date(t):
            col = col.cast(pa.timestamp("s")).cast(pa.timestamp("s", tz="UTC"))
        if keep:
            columns[name] = pd.Series(pd.arrays.ArrowExtensionArray(col.combine_chunks()))
        else:
            columns[name] = col.to_pandas()
    return pd.DataFrame(columns)


def _error(info: dict) -> str | None:
    """GX's exception message: at the top, or per metric that failed."""
    nested = [v for v in info.values() if isinstance(v, dict)]
    for i in [info] if "raised_exception" in info else nested:
        if i.get("raised_exception"):
            return str(i.get("exception_message"))[:300]
    return None


def _validate(batches, rows, expectations, result_format: dict) -> list:
    global _configs
    with _running:
        _configs = {}
        try:
            batch = batches.get_batch(batch_parameters={"dataframe": rows})
            return batch.validate(expectations, result_format=result_format).results
        finally:
            _configs = None


def run(plan, table: str, configs: list[dict], data: pa.Table, examples: int) -> dict[int, dict]:
    """GX's verdict per config index (the GX-run ones): success, unexpected_count,
    element_count, index_list (positions in `data`), error, observed_value (numbers only: never
    data values). Empty data: {}."""
    found = suite(plan, table, configs)
    if not data.num_rows or found is None:
        return {}
    columns, expectations = found
    _, batches = runtime()
    if columns is not None and all(c in data.column_names for c in columns):
        data = data.select(list(columns))  # GX copies its whole frame for every metric
    rows = frame(data)
    # BASIC has the counts; only when some row is unexpected is the suite run again for
    # SUMMARY's example row positions (its index lists cost ~20% of a clean validation)
    results = _validate(batches, rows, expectations, {"result_format": "BASIC"})
    if any((r.result or {}).get("unexpected_count") for r in results):
        fmt = {"result_format": "SUMMARY", "partial_unexpected_count": examples}
        results = _validate(batches, rows, expectations, fmt)
    out = {}
    for r in results:
        res = r.result or {}
        observed = res.get("observed_value")
        out[r.expectation_config.meta["tdm_index"]] = {
            "success": bool(r.success),
            "unexpected_count": int(res.get("unexpected_count") or 0),
            "element_count": int(res.get("element_count") or data.num_rows),
            "index_list": [
                j for j in res.get("partial_unexpected_index_list") or [] if isinstance(j, int)
            ],
            "error": _error(r.exception_info or {}),
            "observed_value": observed if isinstance(observed, bool | int | float) else None,
        }
    return out
