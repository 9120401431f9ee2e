"""The dataset version: seal the batches into an immutable version, then prove it.

Sealing writes manifest.json; validation then runs the dataset-level checks (row counts, keys
across all batches, PII on the final data), merges them with the per-batch suites, and stores the
full report as validation.json beside the manifest. Loads refuse versions that did not pass.
"""

import dagster as dg

from assets import names
from assets.checks import INTEGRITY, check_result
from assets.common import production, run_plan, say
from assets.metadata import column_schema
from resources import TdmResource
from tdm.plan import Plan
from tdm.validation import validate_version
from tdm.validation_results import CheckResult, load_batch_results


def version_asset(plan: Plan) -> dg.AssetsDefinition:
    ds = plan.name
    specs = [
        dg.AssetSpec(
            names.key(ds, names.VERSION, t),
            deps=[names.key(ds, names.stage(plan, t), t)],
            group_name=ds,
            kinds={"parquet"},
            description=f"{t} in the sealed dataset version (immutable Parquet + manifest.json "
            "+ validation.json); its history is the version history.",
            metadata={"dagster/column_schema": column_schema(plan, t)},
        )
        for t in plan.order
    ]
    checks = [
        dg.AssetCheckSpec(
            INTEGRITY,
            asset=names.key(ds, names.VERSION, t),
            blocking=True,
            description=f"Everything about {t} in the version: row count, keys "
            "unique across all batches, every foreign key resolving to a parent "
            "row, PII re-checked on the final data, and the batch suites.",
        )
        for t in plan.order
    ]

    @dg.multi_asset(specs=specs, check_specs=checks, name=f"{ds}_version", can_subset=False)
    def _version(context: dg.AssetExecutionContext, tdm: TdmResource):
        run = run_plan(context, plan)
        prod = production(run, tdm)
        store, version = tdm.store(), prod.version
        reused = store.is_sealed(ds, version)
        manifest = store.seal(run, version, dagster_run_id=context.run.run_id, **prod.facts())
        report = validate(store, run, version)
        if report["success"]:  # `latest` is what environments may load: never a failed one
            store.mark_latest(ds, version)
        verdict = "passed" if report["success"] else f"FAILED ({len(report['failed'])} checks)"
        say(
            context,
            f"version {version} of {ds} "
            f"{'reused (already sealed)' if reused else 'sealed'}; validation {verdict}",
        )
        for t in run.order:
            info = manifest["tables"][t]
            yield dg.MaterializeResult(
                asset_key=names.key(ds, names.VERSION, t),
                metadata={
                    names.VERSION_META: version,
                    "dagster/row_count": info["rows"],
                    "dagster/column_schema": column_schema(run, t),
                    names.STORE_META: dg.MetadataValue.path(str(store.dir(ds, version))),
                    "spec_hash": manifest["spec_hash"],
                    "seed": manifest["seed"],
                    "created_at": manifest["created_at"],
                    "reused": reused,
                    "masking_key": manifest.get("key_fingerprint") or "",
                    "validation": "passed" if report["success"] else "failed",
                },
            )
        for t in run.order:
            mine = [CheckResult.from_dict(c) for c in report["checks"] if c["table"] == t]
            yield check_result(INTEGRITY, mine, asset_key=names.key(ds, names.VERSION, t))

    return _version


def validate(store, plan: Plan, version: str) -> dict:
    """The version's full report, reusing what the per-batch checks already computed."""
    ds, keys = plan.name, plan.batch_keys()
    suites, masking = {}, []
    for t in plan.order:
        mine = keys[: plan.table_batches(t)]
        found = load_batch_results(store, ds, version, t, mine)
        if found is not None:
            suites[t] = found
        if plan.extracted(t):
            masking += load_batch_results(store, ds, version, t, mine, kind="masking") or []
    return validate_version(store, plan, ds, version, extra=masking, batch_results=suites)
