"""Whether a spec changed: a digest of the spec file and of every template it `use:`s.

The schema-change sensor, the schema asset's data version and a run's "was the spec edited
since this plan was made" all compare it: editing a template the spec uses (or adding a user
template over a bundled one of the same name) changes the spec as read as much as editing the
file itself does."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from tdm.core.errors import TdmError
from tdm.core.files import file_sha256
from tdm.spec.templates import read_spec_checked

_USE = re.compile(rb"\buse[\"']?\s*:")  # use: / "use": / 'use' :


def spec_digest(path: Path, used: dict[str, Path] | None = None) -> str:
    """sha256 of the spec file when it uses no template (the file's own hash); else of the
    file's hash and each used template's name, file and hash. A spec that cannot be read gets
    its file's hash: reading it again tells what is wrong. `used`: the templates the caller
    resolved already (read_spec_checked's), not resolved again."""
    data = path.read_bytes()
    own = hashlib.sha256(data).hexdigest()  # = file_sha256(path)
    if used is None:
        if not _USE.search(data):  # no `use:` key anywhere: nothing to resolve (~3 ms saved)
            return own
        try:
            used = read_spec_checked(path)[3].used
        except TdmError:
            return own
    if not used:
        return own
    digest = hashlib.sha256(own.encode())
    for name, file in sorted(used.items()):
        digest.update(f"\x1f{name}\x1f{file}\x1f{file_sha256(file)}".encode())
    return digest.hexdigest()
