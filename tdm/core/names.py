"""Names that become paths or keys: datasets, tables, environments, versions, batches.

Each is checked where it enters (CLI, launchpad config, spec, environments file, manifest) with
one of these patterns, so no name can climb out of the store (`..`, `/`, absolute paths, NUL).
"""

from __future__ import annotations

import re

from tdm.core.errors import TdmError, shorten

IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"  # datasets, tables, columns, environments
IDENTIFIER_MAX = 63  # PostgreSQL's limit for names
VERSION = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"  # ids are v + 15 hex digits
BATCH = r"^b[0-9]{1,9}$"

_IDENTIFIER_RULE = f"up to {IDENTIFIER_MAX} letters, digits and _, not starting with a digit"
_KINDS = {
    "dataset": (IDENTIFIER, _IDENTIFIER_RULE),
    "table": (IDENTIFIER, _IDENTIFIER_RULE),
    "environment": (IDENTIFIER, _IDENTIFIER_RULE),
    "version": (VERSION, "a version id such as v3f2a9c01b7d4e58 (see `tdm versions`) or latest"),
    "batch": (BATCH, "b followed by digits, e.g. b0003"),
}


def is_name(kind: str, value: object) -> bool:
    pattern, _ = _KINDS[kind]
    longest = IDENTIFIER_MAX if pattern == IDENTIFIER else 64
    return (
        isinstance(value, str)
        and len(value) <= longest
        and re.fullmatch(pattern, value) is not None
    )


def check_name(kind: str, value: object) -> str:
    """`value` if it is a valid `kind` name, else a TdmError saying what a name looks like."""
    if not is_name(kind, value):
        _, rule = _KINDS[kind]
        raise TdmError(f"{shorten(value)} is not a valid {kind} name: {rule}")
    return value  # type: ignore[return-value]
