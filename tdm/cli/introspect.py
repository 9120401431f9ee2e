"""`tdm introspect`: write a spec from a live PostgreSQL schema."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tdm.core.errors import TdmError
from tdm.core.files import atomic_write
from tdm.core.settings import interpolate


def cmd_introspect(args: argparse.Namespace) -> int:
    from tdm.introspect import introspect  # heavy: imported by this command alone

    url = interpolate(args.url, "the URL argument")
    if args.min_count is not None and not args.profile:
        raise TdmError("--min-count applies to --profile: add --profile, or leave it out")
    profiled = {} if args.min_count is None else {"min_count": args.min_count}
    if args.source:
        if args.profile:
            raise TdmError("--source extracts the rows themselves: leave out --profile")
        from tdm.introspect import Introspection
        from tdm.introspect.source import introspect_source, written_url

        found = Introspection(*introspect_source(
            url, written_url(args.url, url), args.schema, args.tables, args.name
        ))  # fmt: skip
    else:
        found = introspect(
            url, args.schema, args.tables, args.rows, args.name, profile=args.profile, **profiled
        )
    if args.output == "-":
        sys.stdout.write(found.text)
    else:
        # introspect() checked that the text plans as it is
        atomic_write(Path(args.output), lambda tmp: tmp.write_text(found.text, encoding="utf-8"))
        tables = len(found.spec["tables"])
        print(f"wrote {args.output}: dataset {found.spec['dataset']}, {tables} tables")
    for w in found.warnings:
        print(f"warning: {w}", file=sys.stderr)
    return 0
