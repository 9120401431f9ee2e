"""Commands that produce or load data: `tdm run`, `tdm generate`, `tdm load`.

`run` and `load` go through the Dagster graph (pipelines.runner), imported only here, inside the
commands, so the rest of the engine stays free of Dagster.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

from tdm.core import settings
from tdm.core.errors import TdmError


def _spec_paths(spec: str | None) -> list[Path]:
    if spec:
        return [Path(spec)]
    paths = settings.spec_files()
    if not paths:
        raise TdmError(f"no specs in {settings.schemas_dir()}; pass a spec file")
    return paths


def _progress(quiet: bool) -> None:
    log = logging.getLogger("tdm.progress")
    for old in [h for h in log.handlers if getattr(h, "tdm_cli", False)]:
        log.removeHandler(old)  # a handler per command, on the stderr of this command
    if quiet:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.tdm_cli = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter("  %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def _warn_dev_key(enabled: bool) -> None:
    if enabled and not os.environ.get("TDM_MASKING_KEY"):
        print(
            "WARNING: --dev-key: masking with the PUBLIC demo key; anyone can reverse it. "
            "Never use it on real data; set TDM_MASKING_KEY instead.",
            file=sys.stderr,
        )


def cmd_run(args: argparse.Namespace) -> int:
    from pipelines.runner import run_dataset
    from tdm.masking.apply import Masker
    from tdm.masking.keys import key_from_env
    from tdm.plan.loading import load_spec

    _progress(args.quiet)
    for path in _spec_paths(args.spec):
        plan = load_spec(path, seed=args.seed, scale=args.scale)
        plan.check_batches()
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
    from tdm.masking.apply import Masker
    from tdm.masking.keys import key_from_env
    from tdm.plan.loading import load_spec
    from tdm.produce.parquet_files import generate_to_dir
    from tdm.produce.production import Production

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


def cmd_load(args: argparse.Namespace) -> int:
    """Load a sealed version. The plan comes from the version's own manifest, so a rollback
    depends neither on today's spec file nor on the source database being reachable."""
    from pipelines.runner import load_version
    from tdm.environments.config import get_environment
    from tdm.plan.loading import plan_from_manifest
    from tdm.store.manifests import MANIFEST
    from tdm.store.versions import VersionStore

    _progress(args.quiet)
    env = get_environment(args.env)
    if not env.receives(args.dataset):
        raise TdmError(
            f"environment {args.env!r} does not receive {args.dataset} (its "
            f"datasets: {', '.join(env.spec.datasets)})"
        )
    store = VersionStore(settings.store_root())
    version = store.resolve(args.dataset, args.version)
    plan = plan_from_manifest(store.manifest(args.dataset, version))
    plan.source = store.dir(args.dataset, version) / MANIFEST
    load_version(plan, args.env, version, force=args.force)  # checks validation, checksums
    print(f"loaded {args.dataset} {version} into {args.env}")
    return 0
