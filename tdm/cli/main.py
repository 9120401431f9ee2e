"""`tdm`: the command line. Same engine and the same Dagster graph as the UI.

Dagster is imported only by the commands that run the graph (run, load), through pipelines.runner;
the rest of the engine stays free of it.
"""

from __future__ import annotations

import argparse
import os
import sys

from tdm.cli.args import (
    batch_size,
    dataset_name,
    environment_name,
    row_count,
    sample_size,
    scale,
    seed,
    version_name,
    workers,
)
from tdm.cli.exits import EPILOG, finish, guarded, interrupts
from tdm.cli.introspect import cmd_introspect
from tdm.cli.produce import cmd_generate, cmd_load, cmd_run
from tdm.cli.report import cmd_diff, cmd_envs, cmd_scan, cmd_validate, cmd_versions
from tdm.cli.templates import cmd_init, cmd_templates
from tdm.core.logs import configure as configure_logs
from tdm.core.memory import use_jemalloc


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show the traceback of an unexpected error (also TDM_DEBUG=1)",
    )
    masking = argparse.ArgumentParser(add_help=False)
    masking.add_argument(
        "--dev-key",
        action="store_true",
        help="mask with the public demo key if TDM_MASKING_KEY is unset (INSECURE)",
    )
    p = argparse.ArgumentParser(
        prog="tdm",
        description="Test data management on Dagster.",
        parents=[common],
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser(
        "run",
        parents=[common, masking],
        help="generate a dataset version through Dagster, optionally load it",
    )
    r.add_argument("spec", nargs="?", help="spec file (default: every spec in schemas/)")
    r.add_argument("--env", type=environment_name, help="environment to load the new version into")
    r.add_argument("--seed", type=seed, help="override the spec's seed")
    r.add_argument("--scale", type=scale, help="multiply absolute row counts")
    r.add_argument("--quiet", action="store_true", help="no progress lines")
    r.set_defaults(func=cmd_run)

    g = sub.add_parser(
        "generate", parents=[common, masking], help="engine only: write one Parquet file per table"
    )
    g.add_argument("spec")
    g.add_argument("--out", required=True, help="output directory")
    g.add_argument("--seed", type=seed)
    g.add_argument("--scale", type=scale)
    g.add_argument(
        "--batch-size", type=batch_size, help="rows per batch (output is the same for any)"
    )
    g.add_argument("--workers", type=workers, default=1, help="processes")
    g.add_argument("--quiet", action="store_true", help="no progress lines")
    g.set_defaults(func=cmd_generate)

    s = sub.add_parser(
        "scan", parents=[common], help="report PII detection and masking per column; runs nothing"
    )
    s.add_argument("spec")
    s.add_argument("--json", action="store_true")
    s.add_argument(
        "--sample", type=sample_size, default=1000, help="rows sampled per extracted table"
    )
    s.set_defaults(func=cmd_scan)

    v = sub.add_parser("versions", parents=[common], help="list the sealed versions of a dataset")
    v.add_argument("dataset", type=dataset_name)
    v.add_argument("--json", action="store_true")
    v.set_defaults(func=cmd_versions)

    va = sub.add_parser(
        "validate", parents=[common], help="show (or re-run) a version's validation report"
    )
    va.add_argument("dataset", type=dataset_name)
    va.add_argument(
        "--version", type=version_name, default="latest", help="version id, latest or previous"
    )
    va.add_argument("--rerun", action="store_true", help="validate again instead of showing")
    va.add_argument("--json", action="store_true")
    va.set_defaults(func=cmd_validate)

    df = sub.add_parser(
        "diff", parents=[common], help="row counts, schema and content differences of versions"
    )
    df.add_argument("dataset", type=dataset_name)
    df.add_argument("old", type=version_name, help="version id, latest or previous")
    df.add_argument("new", type=version_name, help="version id, latest or previous")
    df.add_argument("--json", action="store_true")
    df.set_defaults(func=cmd_diff)

    e = sub.add_parser(
        "envs", parents=[common], help="list environments and the version each holds"
    )
    e.add_argument("--json", action="store_true")
    e.set_defaults(func=cmd_envs)

    ld = sub.add_parser(
        "load", parents=[common], help="load a version (default latest) into an environment"
    )
    ld.add_argument("dataset", type=dataset_name)
    ld.add_argument("--env", type=environment_name, required=True)
    ld.add_argument(
        "--version", type=version_name, default="latest", help="version id, latest or previous"
    )
    ld.add_argument("--quiet", action="store_true", help="no progress lines")
    ld.add_argument(
        "--force",
        action="store_true",
        help="load although the environment's schema drifted (rebuilds it)",
    )
    ld.set_defaults(func=cmd_load)

    it = sub.add_parser(
        "introspect",
        parents=[common],
        help="write a spec from a live PostgreSQL schema (runs unedited)",
    )
    it.add_argument("url", help="PostgreSQL URL, e.g. postgresql://user@host/db (or ${VAR})")
    it.add_argument("--schema", default="public", help="schema to read (default public)")
    it.add_argument("--tables", nargs="+", help="only these tables (and the tables they reference)")
    it.add_argument("--rows", type=row_count, default=1000, help="rows of tables without parents")
    it.add_argument("--name", type=dataset_name, help="dataset name (default: the database's)")
    it.add_argument(
        "--profile",
        action="store_true",
        help="read the rows too (one read-only snapshot): counts, null rates, values, ranges",
    )
    it.add_argument(
        "--min-count",
        type=sample_size,
        metavar="K",
        help="with --profile: copy a value only if at least K rows hold it (default 10)",
    )
    it.add_argument(
        "--source",
        action="store_true",
        help="a spec that extracts every table (masked where the PII scan says so), with a "
        "commented subset: example",
    )
    it.add_argument("-o", "--output", required=True, help="spec file to write ('-': stdout)")
    it.set_defaults(func=cmd_introspect)

    tp = sub.add_parser(
        "templates", parents=[common], help="list the bundled project templates, one line each"
    )
    tp.add_argument("--json", action="store_true")
    tp.set_defaults(func=cmd_templates)

    ini = sub.add_parser(
        "init",
        parents=[common],
        help="create a working project (schemas/<name>.yaml, environments.yaml) from a template",
    )
    ini.add_argument("dir", nargs="?", default=".", help="project directory (default: here)")
    ini.add_argument(
        "--template", default="retail", help="a bundled template (`tdm templates`; default retail)"
    )
    ini.add_argument(
        "--force", action="store_true", help="replace an existing spec and environments.yaml"
    )
    ini.set_defaults(func=cmd_init)
    return p


def main(argv: list[str] | None = None) -> int:
    """Every way a command ends is an exit code and at most one message (tdm.cli.exits): never a
    traceback for an expected condition, nothing at all for a closed pipe."""
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv or os.environ.get("TDM_DEBUG", "") not in ("", "0")

    def command() -> int:
        args = parser().parse_args(argv)
        configure_logs()  # JSON lines when stderr is not a terminal (tdm.core.logs)
        use_jemalloc()  # Arrow's memory pool (tdm.core.memory)
        return args.func(args)

    with interrupts():
        return finish(guarded(command, debug))


if __name__ == "__main__":
    sys.exit(main())
