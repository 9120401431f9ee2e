"""`tdm`: the command line. Same engine and the same Dagster graph as the UI.

Dagster is imported only by the commands that run the graph (run, load), through pipelines.runner;
the rest of the engine stays free of it.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

from tdm import settings
from tdm.errors import TdmError


def _spec_paths(spec: str | None) -> list[Path]:
    if spec:
        return [Path(spec)]
    paths = sorted(
        p for p in settings.schemas_dir().glob("*.yaml") if p.name != "environments.yaml"
    )
    if not paths:
        raise TdmError(f"no specs in {settings.schemas_dir()}; pass a spec file")
    return paths


def _progress(quiet: bool) -> None:
    if quiet:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("  %(message)s"))
    log = logging.getLogger("tdm.progress")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def cmd_run(args: argparse.Namespace) -> int:
    from pipelines.runner import run_dataset
    from tdm.masking.apply import Masker
    from tdm.masking.keys import key_from_env
    from tdm.spec_load import load_spec

    _progress(args.quiet)
    for path in _spec_paths(args.spec):
        plan = load_spec(path, seed=args.seed, scale=args.scale)
        print(
            f"{plan.name}: {sum(plan.rows.values()):,} rows in {len(plan.order)} tables, "
            f"{plan.batches} batches (seed {plan.spec.seed})",
            file=sys.stderr,
        )
        started = time.perf_counter()
        if Masker.active(plan):  # fail before starting anything when the key is missing
            key_from_env(allow_dev=args.dev_key)
            _warn_dev_key(args.dev_key)
        summary = run_dataset(plan, env=args.env, dev_key=args.dev_key)
        seconds = time.perf_counter() - started
        width = max(len(t) for t in summary.rows)
        for table, rows in summary.rows.items():
            print(f"  {table:<{width}}  {rows:>10,}")
        total = sum(summary.rows.values())
        print(f"  {'total':<{width}}  {total:>10,}  ({total / seconds:,.0f} rows/s)")
        print(f"version {summary.version}")
        if summary.loaded_into:
            print(f"loaded into {summary.loaded_into}")
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from tdm.generate import generate_to_dir
    from tdm.masking.apply import Masker
    from tdm.masking.keys import key_from_env
    from tdm.produce import Production
    from tdm.spec_load import load_spec

    plan = load_spec(args.spec, seed=args.seed, scale=args.scale)
    key = key_from_env(allow_dev=args.dev_key) if Masker.active(plan) else None
    _warn_dev_key(args.dev_key and key is not None)
    if any(plan.extracted(t) for t in plan.order):
        Production.start(plan, key)  # the PII gate on samples, before anything is written
    started = time.perf_counter()
    counts = generate_to_dir(
        plan,
        args.out,
        batch_size=args.batch_size,
        workers=args.workers,
        key=key,
        progress=lambda t, n: print(f"  {t}: {n:,} rows", file=sys.stderr),
    )
    seconds = time.perf_counter() - started
    total = sum(counts.values())
    print(f"{total:,} rows in {len(counts)} files under {args.out} ({total / seconds:,.0f} rows/s)")
    return 0


def _warn_dev_key(enabled: bool) -> None:
    if enabled and not os.environ.get("TDM_MASKING_KEY"):
        print(
            "WARNING: --dev-key: masking with the PUBLIC demo key; anyone can reverse it. "
            "Never use it on real data; set TDM_MASKING_KEY instead.",
            file=sys.stderr,
        )


def cmd_scan(args: argparse.Namespace) -> int:
    """The PII report of a spec: what each column is and what happens to it. Runs nothing."""
    from tdm.masking.policy import detect, gate, report, resolve_masks
    from tdm.spec_load import load_spec

    plan = load_spec(args.spec, gate_pii=False)
    samples = None
    if any(plan.extracted(t) for t in plan.order):
        samples = {
            t: plan.reader().sample(t, plan.spec.tables[t], plan.schema(t), args.sample)
            for t in plan.order
            if plan.extracted(t)
        }
    findings = detect(plan, samples)
    plan.masks, problems = resolve_masks(plan, findings)
    reports = report(plan, findings)
    problems += gate(reports)
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
    from tdm.masking.detect import suggestion

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
    from tdm.masking.detect import suggestion

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
    from tdm.versions import VersionStore

    store = VersionStore(settings.store_root())
    found = store.versions(args.dataset)
    latest = store.latest(args.dataset) if found else None
    rows = [
        {
            "version": m["version"],
            "created_at": m["created_at"],
            "seed": m["seed"],
            "rows": {t: info["rows"] for t, info in m["tables"].items()},
            "latest": m["version"] == latest,
            "path": str(store.dir(args.dataset, m["version"])),
        }
        for m in found
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
    elif not rows:
        print(f"no versions of {args.dataset} in {store.root}")
    for r in [] if args.json else rows:
        mark = "*" if r["latest"] else " "
        print(
            f"{mark} {r['version']}  {r['created_at']}  seed {r['seed']:<6} "
            f"{sum(r['rows'].values()):>10,} rows"
        )
    return 0


def cmd_envs(args: argparse.Namespace) -> int:
    """Environments and the version each holds (asking each target; unreachable ones say so)."""
    from tdm.environments import load_environments
    from tdm.targets import open_target

    out = []
    for name, env in load_environments().items():
        held, errors = {}, {}
        for dataset in env.spec.datasets or _known_datasets():
            try:
                target = open_target(
                    env.url(dataset), schema=env.spec.db_schema, database=env.spec.database
                )
                current = target.current(dataset)
            except TdmError as e:
                current, errors[dataset] = None, str(e).splitlines()[0]
            held[dataset] = current["version"] if current else None
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
    specs = [p.stem for p in settings.schemas_dir().glob("*.yaml") if p.name != "environments.yaml"]
    store = settings.store_root()
    stored = [p.name for p in store.iterdir() if p.is_dir()] if store.exists() else []
    return sorted(set(specs) or set(stored))


def cmd_validate(args: argparse.Namespace) -> int:
    """Show a version's stored validation report, or run it again (--rerun, or when missing)."""
    from tdm.spec_load import plan_from_manifest
    from tdm.validation import load_batch_results, load_report, validate_version
    from tdm.versions import VersionStore

    store = VersionStore(settings.store_root())
    version = store.resolve(args.dataset, args.version)
    report = None if args.rerun else load_report(store, args.dataset, version)
    if report is None:
        plan = plan_from_manifest(store.manifest(args.dataset, version))
        masking = []  # compared with the raw rows while extracting; those are gone now
        for table in plan.order:
            if plan.extracted(table):
                keys = plan.batch_keys()[: plan.table_batches(table)]
                masking += (
                    load_batch_results(store, args.dataset, version, table, keys, kind="masking")
                    or []
                )
        report = validate_version(store, plan, args.dataset, version, extra=masking)
    if args.json:
        print(json.dumps(report, indent=2))
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
    return 0 if report["success"] else 1


def cmd_diff(args: argparse.Namespace) -> int:
    from tdm.diff import diff_versions
    from tdm.versions import VersionStore

    store = VersionStore(settings.store_root())
    old, new = store.resolve(args.dataset, args.old), store.resolve(args.dataset, args.new)
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


def cmd_load(args: argparse.Namespace) -> int:
    """Load a sealed version; the plan comes from the spec file, or from the version's manifest
    when the file no longer loads (a rollback must not depend on today's spec)."""
    from pipelines.runner import load_version
    from tdm.environments import get_environment
    from tdm.errors import SpecError
    from tdm.spec_load import load_spec, plan_from_manifest
    from tdm.versions import MANIFEST, VersionStore

    _progress(args.quiet)
    env = get_environment(args.env)
    if not env.receives(args.dataset):
        raise TdmError(
            f"environment {args.env!r} does not receive {args.dataset} (its "
            f"datasets: {', '.join(env.spec.datasets)})"
        )
    store = VersionStore(settings.store_root())
    version = store.resolve(args.dataset, args.version)
    path = Path(args.spec) if args.spec else settings.schemas_dir() / f"{args.dataset}.yaml"
    try:
        plan = load_spec(path)
    except SpecError as e:
        print(
            f"note: {path} does not load ({len(e.problems)} problem(s)); using the plan "
            f"recorded in version {version}",
            file=sys.stderr,
        )
        plan = plan_from_manifest(store.manifest(args.dataset, version))
        plan.source = store.dir(args.dataset, version) / MANIFEST
    if plan.name != args.dataset:
        raise TdmError(f"{path} describes dataset {plan.name}, not {args.dataset}")
    load_version(plan, args.env, version, force=args.force)  # checks validation, checksums
    print(f"loaded {args.dataset} {version} into {args.env}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tdm", description="Test data management on Dagster.")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="generate a dataset version through Dagster, optionally load it")
    r.add_argument("spec", nargs="?", help="spec file (default: every spec in schemas/)")
    r.add_argument("--env", help="environment to load the new version into")
    r.add_argument("--seed", type=int, help="override the spec's seed")
    r.add_argument("--scale", type=float, help="multiply absolute row counts")
    r.add_argument("--quiet", action="store_true", help="no progress lines")
    r.add_argument(
        "--dev-key",
        action="store_true",
        help="mask with the public demo key if TDM_MASKING_KEY is unset (INSECURE)",
    )
    r.set_defaults(func=cmd_run)

    g = sub.add_parser("generate", help="engine only: write one Parquet file per table")
    g.add_argument("spec")
    g.add_argument("--out", required=True, help="output directory")
    g.add_argument("--seed", type=int)
    g.add_argument("--scale", type=float)
    g.add_argument("--batch-size", type=int, help="rows per batch (output is the same for any)")
    g.add_argument("--workers", type=int, default=1, help="processes")
    g.add_argument(
        "--dev-key",
        action="store_true",
        help="mask with the public demo key if TDM_MASKING_KEY is unset (INSECURE)",
    )
    g.set_defaults(func=cmd_generate)

    s = sub.add_parser("scan", help="report PII detection and masking per column; runs nothing")
    s.add_argument("spec")
    s.add_argument("--json", action="store_true")
    s.add_argument("--sample", type=int, default=1000, help="rows sampled per extracted table")
    s.set_defaults(func=cmd_scan)

    v = sub.add_parser("versions", help="list the sealed versions of a dataset")
    v.add_argument("dataset")
    v.add_argument("--json", action="store_true")
    v.set_defaults(func=cmd_versions)

    va = sub.add_parser("validate", help="show (or re-run) a version's validation report")
    va.add_argument("dataset")
    va.add_argument("--version", default="latest")
    va.add_argument("--rerun", action="store_true", help="validate again instead of showing")
    va.add_argument("--json", action="store_true")
    va.set_defaults(func=cmd_validate)

    df = sub.add_parser("diff", help="row counts, schema and content differences of versions")
    df.add_argument("dataset")
    df.add_argument("old", help="version id (or latest)")
    df.add_argument("new", help="version id (or latest)")
    df.add_argument("--json", action="store_true")
    df.set_defaults(func=cmd_diff)

    e = sub.add_parser("envs", help="list environments and the version each holds")
    e.add_argument("--json", action="store_true")
    e.set_defaults(func=cmd_envs)

    ld = sub.add_parser("load", help="load a version (default latest) into an environment")
    ld.add_argument("dataset")
    ld.add_argument("--env", required=True)
    ld.add_argument("--version", default="latest")
    ld.add_argument("--spec", help="spec file (default schemas/<dataset>.yaml)")
    ld.add_argument("--quiet", action="store_true")
    ld.add_argument(
        "--force",
        action="store_true",
        help="load although the environment's schema drifted (rebuilds it)",
    )
    ld.set_defaults(func=cmd_load)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except TdmError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
