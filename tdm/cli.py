"""`tdm`: the command line. Same engine and the same Dagster graph as the UI.

Dagster is imported only by the commands that run the graph (run, load), through pipelines.runner;
the rest of the engine stays free of it.
"""

from __future__ import annotations

import argparse
import sys

from tdm.commands_produce import cmd_generate, cmd_load, cmd_run
from tdm.commands_report import cmd_diff, cmd_envs, cmd_scan, cmd_validate, cmd_versions
from tdm.errors import TdmError


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
