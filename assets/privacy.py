"""The PII gate of extracted datasets, as an asset every extraction waits for."""

import dagster as dg

from assets import names
from assets.common import run_plan
from resources import TdmResource
from tdm.plan.model import Plan


def pii_scan_asset(plan: Plan) -> dg.AssetsDefinition:
    ds = plan.name

    @dg.asset(
        key=names.key(ds, names.PII_SCAN),
        deps=[names.key(ds, names.SCHEMA)],
        group_name=ds,
        kinds={"python"},
        description="Samples every extracted table and classifies each column (masked, allowed, "
        "clean, or PII). Any PII column without a mask or an `allow:` fails here, before any "
        "row is extracted. The report names columns and reasons, never values.",
    )
    def _scan(context: dg.AssetExecutionContext, tdm: TdmResource) -> dg.MaterializeResult:
        run = run_plan(context, plan, tdm)
        from tdm.masking.gate import scan

        reports, problems = scan(run)
        rows = [
            dg.TableRecord(
                {
                    "table": r.table,
                    "column": r.column,
                    "status": r.status,
                    "mask": r.mask.spec.strategy if r.mask else "",
                    "why": (r.findings[0].reason if r.findings else "") or (r.allow or ""),
                }
            )
            for r in reports
        ]
        metadata = {
            "columns": dg.MetadataValue.table(
                rows,
                schema=dg.TableSchema(
                    columns=[
                        dg.TableColumn(n) for n in ("table", "column", "status", "mask", "why")
                    ]
                ),
            ),
            **{
                f"{s}_columns": sum(r.status == s for r in reports)
                for s in ("masked", "allowed", "pii", "clean")
            },
        }
        if problems:
            text = "\n".join(p.render(str(run.source)) for p in problems)
            raise dg.Failure(
                description=f"unmasked PII, nothing was extracted:\n{text}", metadata=metadata
            )
        return dg.MaterializeResult(metadata=metadata)

    return _scan
