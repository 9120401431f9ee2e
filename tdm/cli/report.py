"""Commands that report without producing data: scan, versions, envs, validate, diff."""

from __future__ import annotations

import argparse
import json
import sys

from tdm.cli.known import check_dataset, check_version, spec_datasets, stored_datasets
from tdm.core.errors import TdmError


def cmd_scan(args: argparse.Namespace) -> int:
    """The PII report of a spec: what each column is and what happens to it. Runs nothing."""
    from tdm.masking.gate import scan
    from tdm.plan.loading import load_spec

    reports, problems = scan(load_spec(args.spec, gate_pii=False), sample_rows=args.sample)
    if args.json:
        print(json.dumps([_scan_json(r) for r in reports], indent=2))
    else:
        for r in reports:
            print(_scan_line(r))
    if problems:
        print(
            f"\n{len(problems)} problem(s): a run would stop before writing anything:",
            file=sys.stderr,
        )
        for p in problems:
            print("  " + p.render(args.spec), file=sys.stderr)
        return 1
    return 0


def _scan_json(r) -> dict:
    from tdm.masking.pii.detect import suggestion

    return {
        "table": r.table,
        "column": r.column,
        "status": r.status,
        "mask": r.mask.spec.strategy if r.mask else None,
        "mask_origin": r.mask.origin if r.mask else None,
        "allow": r.allow,
        "findings": [
            {
                "category": f.category,
                "confidence": round(f.confidence, 2),
                "reason": f.reason,
                "by": f.by,
            }
            for f in r.findings
        ],
        "suggestion": suggestion(r.findings[0]) if r.status == "pii" else None,
    }


def _scan_line(r) -> str:
    from tdm.masking.pii.detect import suggestion

    what = {
        "masked": f"masked: {r.mask.spec.strategy} ({r.mask.origin})" if r.mask else "",
        "allowed": f"allowed: {r.allow or 'mask: keep'}",
        "synthetic": "synthetic (generated)",
        "clean": "no PII found",
        "pii": "PII WITHOUT MASK",
    }[r.status]
    top = r.findings[0] if r.findings else None
    line = f"{r.table}.{r.column:<24} {what}"
    if top:
        line += f"  [{top.category} {top.confidence:.2f}: {top.reason}]"
    if r.status == "pii":
        line += f"\n{'':<26}add: {suggestion(top)}   or: allow: <reason>"
    return line


def cmd_versions(args: argparse.Namespace) -> int:
    """Sealed versions with the fingerprint of the key each was masked under, and the damaged
    ones (listed apart, with what is wrong; exit 1)."""
    from tdm.store.versions import VersionStore, store_location

    check_dataset(args.dataset)
    store = VersionStore(store_location())
    found, broken = store.listing(args.dataset)
    latest = store.latest(args.dataset) if found else None
    rows = [
        {
            "version": m["version"],
            "created_at": m["created_at"],
            "seed": m["seed"],
            "rows": {t: info["rows"] for t, info in m["tables"].items()},
            "latest": m["version"] == latest,
            "key_fingerprint": m.get("key_fingerprint"),  # None: nothing masked
            "path": str(store.dir(args.dataset, m["version"])),
        }
        for m in found
    ]
    if args.json:
        damaged = [{"version": v, "broken": reason} for v, reason in broken.items()]
        print(json.dumps(rows + damaged, indent=2))
    elif not rows and not broken:
        print(f"no versions of {args.dataset} in {store.root}")
    for r in [] if args.json else rows:
        mark = "*" if r["latest"] else " "
        key = f"key {r['key_fingerprint']}" if r["key_fingerprint"] else "unmasked"
        print(
            f"{mark} {r['version']}  {r['created_at']}  seed {r['seed']:<6} "
            f"{sum(r['rows'].values()):>10,} rows  {key}"
        )
    for version, reason in [] if args.json else broken.items():
        print(f"! {version}  BROKEN: {reason}")
    return 1 if broken else 0


def cmd_envs(args: argparse.Namespace) -> int:
    """Environments and the version each holds (asking each target; unreachable ones say so)."""
    from tdm.environments.config import load_environments

    out = []
    for name, env in load_environments().items():
        held, errors = {}, {}
        for dataset in env.spec.datasets or _known_datasets():
            try:
                current = env.target(dataset).current(dataset)
            except TdmError as e:
                current, errors[dataset] = None, str(e).splitlines()[0]
            held[dataset] = current["version"] if current else None
            swapping = (current or {}).get("swap_in_progress")
            if swapping:  # MongoDB: a load died mid-swap; collections may mix two versions
                errors[dataset] = (
                    f"swap to {swapping.get('version')} in progress since "
                    f"{swapping.get('started_at')}: the next load completes it"
                )
        out.append(
            {
                "name": name,
                "url": env.display_url(),
                "datasets": env.spec.datasets or "*",
                "refresh": env.spec.refresh,
                "seed": env.spec.seed,
                # the version held: one id when the environment receives one dataset
                "version": next(iter(held.values())) if len(held) == 1 else held,
                "versions": held,
                "errors": errors,
                "description": env.spec.description,
            }
        )
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    for e in out:
        held = ", ".join(f"{d}={v or '-'}" for d, v in e["versions"].items()) or "-"
        refresh = f"  refresh: {e['refresh']}" if e["refresh"] else ""
        print(f"{e['name']:<12} {e['url']}{refresh}\n{'':<12} holds: {held}")
        for dataset, error in e["errors"].items():
            print(f"{'':<12} {dataset}: {error}")
    return 0


def _known_datasets() -> list[str]:
    """Datasets with a spec in schemas/ (or, without specs, with versions in the store)."""
    return spec_datasets() or stored_datasets()


def cmd_validate(args: argparse.Namespace) -> int:
    """Show a version's stored validation report, or run it again (--rerun, or when missing)."""
    from tdm.store.versions import VersionStore, store_location
    from tdm.validation.privacy_report import load_privacy, summary
    from tdm.validation.results import load_report

    check_dataset(args.dataset)
    store = VersionStore(store_location())
    version = check_version(store, args.dataset, args.version)
    report = None if args.rerun else load_report(store, args.dataset, version)
    if report is None:
        from tdm.plan.loading import plan_from_manifest
        from tdm.validation.runner import validate_stored

        store.verify(args.dataset, version)  # a changed file is named, not validated
        plan = plan_from_manifest(store.manifest(args.dataset, version))
        report = validate_stored(store, plan, version, reuse_suites=False)
    privacy = load_privacy(store, args.dataset, version)  # None: validated before it existed
    if args.json:
        print(json.dumps({**report, "privacy": privacy}, indent=2))
    else:
        stats = report["stats"]
        verdict = "passed" if report["success"] else "FAILED"
        print(
            f"{args.dataset} {version}: validation {verdict} ({stats['checks']} checks, "
            f"{stats['failed']} failed, {stats['rows']:,} rows, validated "
            f"{report['validated_at']})"
        )
        for message in report["failed"]:
            print(f"  {message}")
        for table, lines in summary(privacy).items():
            print(f"privacy of {table}:" + "".join(f"\n  {line}" for line in lines))
    return 0 if report["success"] else 1


def cmd_diff(args: argparse.Namespace) -> int:
    from tdm.store.diff import diff_versions
    from tdm.store.versions import VersionStore, store_location

    check_dataset(args.dataset)
    store = VersionStore(store_location())
    old, new = (check_version(store, args.dataset, v) for v in (args.old, args.new))
    report = diff_versions(store, args.dataset, old, new)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"{args.dataset}: {old} (seed {report['seed'][0]}) -> {new} (seed {report['seed'][1]})")
    for table, d in report["tables"].items():
        if d["status"] in ("added", "removed"):
            print(f"  {table:<20} {d['status']}")
            continue
        rows = d["rows"]
        line = f"  {table:<20} rows {rows['from']:,} -> {rows['to']:,} ({rows['delta']:+,})"
        line += f", content {d['content']}"
        schema = d["schema"]
        for c in schema["added"]:
            line += f"\n{'':<24}+ column {c}"
        for c in schema["removed"]:
            line += f"\n{'':<24}- column {c}"
        for c in schema["changed"]:
            line += f"\n{'':<24}~ column {c['column']}: {c['from']} -> {c['to']}"
        print(line)
    return 0
