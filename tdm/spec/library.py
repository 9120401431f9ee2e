"""Where templates live: the bundled project templates (`tdm init --template NAME`), and the
library of reusable definitions a spec can `use:` -- the bundled `tdm/templates/library/*.yaml`
plus the user's `schemas/templates/*.yaml` (beside the spec), which win over bundled ones of the
same name. Files only: reading and merging them is `tdm.spec.templates`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

BUNDLED = Path(__file__).resolve().parents[1] / "templates"  # the tdm.templates package data
LIBRARY = BUNDLED / "library"
USER_DIR = "templates"  # beside the spec: schemas/templates/*.yaml
ENVIRONMENTS = BUNDLED / "environments.yaml"  # written by `tdm init` beside the spec
MARK = "# template: {name} -- written by `tdm init`; see docs/templates.md\n"  # its first line


@dataclass(frozen=True)
class ProjectTemplate:
    """A bundled project template: `tdm/templates/<name>/<name>.yaml`, and environments.yaml
    (its own, else the shared one)."""

    name: str
    spec: Path
    environments: Path


def project_templates() -> dict[str, ProjectTemplate]:
    out = {}
    for folder in sorted(BUNDLED.iterdir()):
        spec = folder / f"{folder.name}.yaml"
        if folder.is_dir() and spec.is_file():
            own = folder / "environments.yaml"
            out[folder.name] = ProjectTemplate(
                folder.name, spec, own if own.is_file() else ENVIRONMENTS
            )
    return out


def library(spec: Path | None) -> dict[str, Path]:
    """Every template a spec at `spec` can use, by name (the file's stem): the bundled ones,
    then the user's `templates/` beside the spec, which win on a name they share."""
    found = {p.stem: p for p in sorted(LIBRARY.glob("*.yaml"))}
    if spec is not None:
        user = spec.parent / USER_DIR
        if user.is_dir():
            found.update({p.stem: p for p in sorted(user.glob("*.yaml")) if p.is_file()})
    return found


def shown(path: Path) -> str:
    """A template file as messages name it: bundled ones as tdm/templates/..., others relative
    to the working directory when they are under it."""
    path = path.resolve()
    if path.is_relative_to(BUNDLED):
        return str(path.relative_to(BUNDLED.parent.parent))
    try:
        here = Path.cwd()
    except OSError:
        return str(path)
    return os.path.relpath(path, here) if path.is_relative_to(here) else str(path)


def template_of(path: Path) -> str | None:
    """The template a spec was written from by `tdm init` (its first line says), or None."""
    try:
        with path.open(encoding="utf-8") as f:
            head = f.readline(200).rstrip("\n")
    except (OSError, UnicodeDecodeError):
        return None
    prefix, _, rest = MARK.rstrip("\n").partition("{name}")
    if head.startswith(prefix) and head.endswith(rest) and len(head) > len(prefix) + len(rest):
        return head[len(prefix) : len(head) - len(rest)]
    return None
