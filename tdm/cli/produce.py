"""Commands that produce or load data: `tdm run`, `tdm generate`, `tdm load`.

Every argument is checked before any work starts (tdm.cli.known). `run` and `load` go through
the Dagster graph (pipelines.runner), imported only here, inside the commands, so the rest of
the engine stays free of Dagster. Results go to stdout once, progress to stderr
(tdm.cli.progress); Ctrl-C says what state was left (tdm.cli.state).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from tdm.cli.exits import tell
from tdm.cli.known import check_dataset, check_environment, check_version
from tdm.cli.progress import Progress, RunWatch
from tdm.cli.state import (
    files,
    generate_state,
    held_before,
    load_state,
    on_interrupt,
    run_state,
    sealed,
)
from tdm.core import settings
from tdm.core.errors import TdmError

if TYPE_CHECKING:
    from tdm.environments.config import Environment
    from tdm.plan.model import Plan


def _spec_paths(spec: str | None) -> list[Path]:
    if spec:
        return [Path(spec)]
    paths = settings.spec_files()
    if not paths:
        raise TdmError(f"no specs in {settings.schemas_dir()}; pass a spec file")
    return paths


def _warn_dev_key(enabled: bool) -> None:
    if enabled and not os.environ.get("TDM_MASKING_KEY"):
        tell(
            "WARNING: --dev-key: masking with the PUBLIC demo key; anyone can reverse it. "
            "Never use it on real data; set TDM_MASKING_KEY instead."
        )


def cmd_run(args: argparse.Namespace) -> int:
    from tdm.masking.apply import Masker
    from tdm.masking.keys import key_from_env
    from tdm.plan.loading import load_spec

    plans = [load_spec(p, seed=args.seed, scale=args.scale) for p in _spec_paths(args.spec)]
    env = None
    for plan in plans:  # all of them, before the first one runs
        plan.check_batches()
        env = check_environment(args.env, plan.name) if args.env else None
        if Masker.active(plan):  # a missing key stops it before anything starts
            key_from_env(allow_dev=args.dev_key)
    _warn_dev_key(args.dev_key and any(Masker.active(p) for p in plans))
    for plan in plans:
        _run(plan, env, args)
    return 0


def _run(plan: Plan, env: Environment | None, args: argparse.Namespace) -> None:
    from pipelines.runner import run_dataset
    from tdm.store.versions import VersionStore, store_location

    store = VersionStore(store_location())
    before, holds = sealed(store, plan.name), held_before(env, plan.name)
    results = ("version ", f"loaded {plan.name} ")
    started = time.perf_counter()
    with (
        on_interrupt(lambda: run_state(store, plan.name, before, env, holds)),
        Progress(args.quiet, results) as progress,
    ):
        progress.line(
            f"{plan.name}: {sum(plan.rows.values()):,} rows in {len(plan.order)} tables, "
            f"{plan.batches} batches (seed {plan.spec.seed})"
        )
        for line in plan.subset.describe() if plan.subset is not None else []:
            progress.line(f"  subset {line}")
        watch = RunWatch(progress, plan, args.env)
        summary = run_dataset(plan, env=args.env, dev_key=args.dev_key, listen=watch)
    seconds = time.perf_counter() - started
    width = max(len(t) for t in summary.rows)
    for table, rows in summary.rows.items():
        print(f"  {table:<{width}}  {rows:>10,}")
    total = sum(summary.rows.values())
    print(f"  {'total':<{width}}  {total:>10,}  ({total / seconds:,.0f} rows/s)")
    kept = progress.results
    if not any(r.startswith("version ") for r in kept):
        kept.insert(0, f"version {summary.version}")
    if summary.loaded_into and not any(r.startswith("loaded ") for r in kept):
        kept.append(f"loaded {plan.name} {summary.version} into {summary.loaded_into}")
    print("\n".join(kept), flush=True)


def cmd_generate(args: argparse.Namespace) -> int:
    from tdm.source.snapshot import one_snapshot

    # One process plans and outlives every read: the plan's source snapshot (a subset's, or
    # the whole tables') is held open and shared with every reader, workers too, until the end.
    with one_snapshot():
        return _generate(args)


def _generate(args: argparse.Namespace) -> int:
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
    out = Path(args.out)
    before = files(out, plan.order)
    started = time.perf_counter()
    with (
        on_interrupt(lambda: generate_state(out, plan.order, before)),
        Progress(args.quiet) as progress,
    ):
        for line in plan.subset.describe() if plan.subset is not None else []:
            progress.line(f"  subset {line}")
        progress.step(f"{plan.name}: generating", sum(plan.rows.values()) or 1, announce=False)
        done = 0

        def table_done(table: str, rows: int) -> None:
            nonlocal done
            done += plan.rows[table]
            progress.line(f"  {table}: {rows:,} rows")
            progress.update(done)

        counts = generate_to_dir(
            plan,
            out,
            batch_size=args.batch_size,
            workers=args.workers,
            key=key,
            progress=table_done,
        )
    seconds = time.perf_counter() - started
    total = sum(counts.values())
    print(f"{total:,} rows in {len(counts)} files under {out} ({total / seconds:,.0f} rows/s)")
    return 0


def cmd_load(args: argparse.Namespace) -> int:
    """Load a sealed version. The plan comes from the version's own manifest, so a rollback
    depends neither on today's spec file nor on the source database being reachable."""
    from tdm.store.manifests import MANIFEST
    from tdm.store.versions import VersionStore, store_location

    env = check_environment(args.env)
    check_dataset(args.dataset)
    check_environment(args.env, args.dataset)
    store = VersionStore(store_location())
    version = check_version(store, args.dataset, args.version)

    from pipelines.runner import load_version  # Dagster: once the arguments are known good
    from tdm.plan.loading import plan_from_manifest

    plan = plan_from_manifest(store.manifest(args.dataset, version))
    plan.source = store.dir(args.dataset, version) / MANIFEST
    holds = held_before(env, args.dataset)
    with (
        tempfile.TemporaryDirectory(prefix="tdm-load-") as tmp,
        on_interrupt(lambda: load_state(env, args.dataset, version, holds)),
        Progress(args.quiet, (f"loaded {args.dataset} ",)) as progress,
    ):
        if not store.local:  # the graph reads its plan's file: the manifest, copied from the bucket
            plan.source = Path(tmp) / MANIFEST
            plan.source.write_text(store.read_text(args.dataset, version, MANIFEST) or "")
        progress.step(f"loading {args.dataset} {version} into {args.env}")
        load_version(plan, args.env, version, force=args.force)  # checks validation, checksums
    print("\n".join(progress.results) or f"loaded {args.dataset} {version} into {args.env}")
    return 0
