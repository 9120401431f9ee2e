"""The dataset version: seal the batches into an immutable version, then prove it.

Sealing writes manifest.json; validation then runs the dataset-level checks (row counts, keys
across all batches, PII on the final data, k-anonymity), merges them with the per-batch suites,
and stores the full report as validation.json beside the manifest, after the privacy report
(privacy.json). Loads refuse versions that did not pass.
"""

import dagster as dg

from assets import names
from assets.checks import INTEGRITY, check_result
from assets.common import failing, observe_spec, production, run_plan, say
from assets.metadata import column_schema, preview, privacy, subset_of, version_description
from assets.metrics import version_figures
from resources import TdmResource
from tdm.plan.model import Plan
from tdm.produce.version import seal_version
from tdm.validation.results import CheckResult

PREVIEW_ROWS = 5  # of the sealed version: generated or masked values only


def version_asset(plan: Plan) -> dg.AssetsDefinition:
    ds = plan.name
    specs = [
        dg.AssetSpec(
            names.key(ds, names.VERSION, t),
            deps=[names.batches(plan, t)],
            group_name=ds,
            kinds={"parquet", "great_expectations"},
            description=version_description(plan, t),
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
            "row, PII re-checked on the final data, the batch suites, and (with `privacy.k` in "
            "the spec) the k-anonymity of every quasi-identifier set.",
        )
        for t in plan.order
    ]

    @dg.multi_asset(specs=specs, check_specs=checks, name=f"{ds}_version", can_subset=False)
    def _version(context: dg.AssetExecutionContext, tdm: TdmResource):
        prod = production(run_plan(context, plan, tdm), tdm)
        prod.plan.kept.clear()  # the batches are made: their kept rows are no use to sealing
        store, version = tdm.store(), prod.version
        with failing():
            sealed = seal_version(prod, store, context.run.run_id)
        manifest, report = sealed.manifest, sealed.report
        verdict = "passed" if report["success"] else f"FAILED ({len(report['failed'])} checks)"
        say(
            context,
            f"version {version} of {ds} "
            f"{'reused (already sealed)' if sealed.reused else 'sealed'}; validation {verdict}",
            dataset=ds,
            version=version,
            rows=sum(info["rows"] for info in manifest["tables"].values()),
        )
        observe_spec(context, plan)
        figures = version_figures(ds, sealed)  # bytes, checks passed/failed, validation seconds
        for t in prod.plan.order:
            info = manifest["tables"][t]
            yield dg.MaterializeResult(
                asset_key=names.key(ds, names.VERSION, t),
                metadata={
                    names.VERSION_META: version,
                    "dagster/row_count": info["rows"],
                    "dagster/column_schema": column_schema(prod.plan, t),
                    names.STORE_META: dg.MetadataValue.path(str(store.dir(ds, version))),
                    "spec_hash": manifest["spec_hash"],
                    "seed": manifest["seed"],
                    "created_at": manifest["created_at"],
                    "reused": sealed.reused,
                    "masking_key": manifest.get("key_fingerprint") or "",
                    "validation": "passed" if report["success"] else "failed",
                    "preview": preview(
                        store.read_file(ds, version, info["files"][0], rows=PREVIEW_ROWS)
                        if info["files"]
                        else None
                    ),
                    **privacy(sealed.privacy, t),
                    **subset_of(manifest, t),
                    **figures.metadata[t],
                },
            )
        figures.push(context)
        for t in prod.plan.order:
            mine = [CheckResult.from_dict(c) for c in report["checks"] if c["table"] == t]
            yield check_result(INTEGRITY, mine, asset_key=names.key(ds, names.VERSION, t))

    return _version
