"""`tdm templates` (the bundled project templates, one line each) and `tdm init [DIR] --template
NAME` (a working project from one: schemas/<name>.yaml and schemas/environments.yaml).

`init` never overwrites a spec: an existing schemas/<name>.yaml is an error naming it and
`--force`. An existing schemas/environments.yaml is kept (the project's environments stay as they
are; the new spec uses them), and replaced only with `--force`. Documented in docs/templates.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tdm.cli.known import suggest
from tdm.core.errors import TdmError
from tdm.core.files import atomic_write


def _chosen(name: str):
    from tdm.spec.library import project_templates

    found = project_templates()
    if name not in found:
        raise TdmError(f"no template named {name!r}; {suggest(name, found)} (see `tdm templates`)")
    return found[name]


def cmd_templates(args: argparse.Namespace) -> int:
    from tdm.plan.loading import load_spec
    from tdm.spec.library import project_templates

    rows = []
    for name, template in project_templates().items():
        plan = load_spec(template.spec, gate_pii=False)
        rows.append({
            "name": name,
            "description": plan.spec.description or "",
            "tables": list(plan.spec.tables),
            "rows": sum(plan.rows.values()),
        })  # fmt: skip
    if args.json:
        import json

        print(json.dumps(rows, indent=2))
        return 0
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        tables = ", ".join(r["tables"])
        print(f"{r['name']:<{width}}  {r['description']} ({tables}; {r['rows']:,} rows at scale 1)")
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    template = _chosen(args.template)
    schemas = Path(args.dir) / "schemas"
    spec = schemas / template.spec.name
    environments = schemas / "environments.yaml"
    if schemas.exists() and not schemas.is_dir():
        raise TdmError(f"{schemas} exists and is not a directory; choose another DIR")
    if spec.exists() and not args.force:
        raise TdmError(
            f"{spec} exists; tdm init never overwrites a spec: pass --force to replace it, "
            "or choose another DIR"
        )
    keep_environments = environments.exists() and not args.force
    schemas.mkdir(parents=True, exist_ok=True)
    from tdm.spec.library import MARK

    text = MARK.format(name=template.name) + template.spec.read_text(encoding="utf-8")
    atomic_write(spec, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    if not keep_environments:
        env_text = template.environments.read_text(encoding="utf-8")
        atomic_write(environments, lambda tmp: tmp.write_text(env_text, encoding="utf-8"))
    print(f"wrote {spec}: dataset {template.name}, from template {template.name}")
    if keep_environments:
        print(f"kept {environments} (as it was; --force replaces it)")
    else:
        print(f"wrote {environments}")
    print(
        f"next: cd {args.dir} && tdm run schemas/{spec.name} --env local --dev-key",
        file=sys.stderr,
    )
    return 0
