"""`tdm`: the command line. Same engine and the same Dagster graph as the UI.

Dagster is imported only by the commands that run the graph (run, load), through pipelines.runner;
the rest of the engine stays free of it.
"""

from __future__ import annotations

import argparse
import json
import logging
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
        summary = run_dataset(plan, env=args.env)
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
    from tdm.spec_load import load_spec

    plan = load_spec(args.spec, seed=args.seed, scale=args.scale)
    started = time.perf_counter()
    counts = generate_to_dir(
        plan,
        args.out,
        batch_size=args.batch_size,
        workers=args.workers,
        progress=lambda t, n: print(f"  {t}: {n:,} rows", file=sys.stderr),
    )
    seconds = time.perf_counter() - started
    total = sum(counts.values())
    print(f"{total:,} rows in {len(counts)} files under {args.out} ({total / seconds:,.0f} rows/s)")
    return 0


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
    from tdm.environments import load_environments
    from tdm.targets import open_target

    out = []
    for name, env in load_environments().items():
        held = {}
        for dataset in env.spec.datasets or _known_datasets():
            try:
                current = open_target(env.url(dataset)).current(dataset)
            except TdmError:
                current = None
            held[dataset] = current["version"] if current else None
        out.append(
            {
                "name": name,
                "url": env.display_url(),
                "datasets": env.spec.datasets or "*",
                "refresh": env.spec.refresh,
                "versions": held,
                "description": env.spec.description,
            }
        )
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    for e in out:
        held = ", ".join(f"{d}={v or '-'}" for d, v in e["versions"].items()) or "-"
        print(f"{e['name']:<12} {e['url']}\n{'':<12} holds: {held}")
    return 0


def _known_datasets() -> list[str]:
    store = settings.store_root()
    return sorted(p.name for p in store.iterdir() if p.is_dir()) if store.exists() else []


def cmd_load(args: argparse.Namespace) -> int:
    from pipelines.runner import load_version
    from tdm.spec_load import load_spec

    _progress(args.quiet)
    path = Path(args.spec) if args.spec else settings.schemas_dir() / f"{args.dataset}.yaml"
    plan = load_spec(path)
    load_version(plan, args.env, args.version)
    print(f"loaded {args.dataset} {args.version} into {args.env}")
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
    r.set_defaults(func=cmd_run)

    g = sub.add_parser("generate", help="engine only: write one Parquet file per table")
    g.add_argument("spec")
    g.add_argument("--out", required=True, help="output directory")
    g.add_argument("--seed", type=int)
    g.add_argument("--scale", type=float)
    g.add_argument("--batch-size", type=int, help="rows per batch (output is the same for any)")
    g.add_argument("--workers", type=int, default=1, help="processes")
    g.set_defaults(func=cmd_generate)

    v = sub.add_parser("versions", help="list the sealed versions of a dataset")
    v.add_argument("dataset")
    v.add_argument("--json", action="store_true")
    v.set_defaults(func=cmd_versions)

    e = sub.add_parser("envs", help="list environments and the version each holds")
    e.add_argument("--json", action="store_true")
    e.set_defaults(func=cmd_envs)

    ld = sub.add_parser("load", help="load a version (default latest) into an environment")
    ld.add_argument("dataset")
    ld.add_argument("--env", required=True)
    ld.add_argument("--version", default="latest")
    ld.add_argument("--spec", help="spec file (default schemas/<dataset>.yaml)")
    ld.add_argument("--quiet", action="store_true")
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
