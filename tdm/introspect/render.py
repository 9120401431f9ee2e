"""The introspected spec as YAML a person can read: one line per column, comments saying what
was guessed, what the database keeps for itself and what was skipped. Deterministic."""

from __future__ import annotations

from typing import Any

import yaml

from tdm.targets.postgres.catalog import PgSchema


def _flow(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, width=10**9, sort_keys=False)
    return text.strip().removesuffix("...").strip()


def _comment(text: str, indent: str) -> str:
    return "".join(f"{indent}# {line}\n" for line in text.splitlines())


def render(
    spec: dict,
    notes: dict[str, dict[str, list[str]]],
    catalog: PgSchema,
    skipped: list[str],
    warnings: list[str],
) -> str:
    out = [
        f"# Introspected from database {catalog.database}, schema {catalog.schema}, by "
        "`tdm introspect`.\n",
        "# Runs as it is: tdm run <this file> --env <env> (an environment with `tables: "
        "existing` fills the\n# application's own tables). Edit generators and row counts "
        "freely; docs/introspection.md.\n",
    ]
    if skipped:
        out.append(
            f"# Not filled (views, materialized views, foreign tables): {', '.join(skipped)}\n"
        )
    for w in warnings:
        out.append(_comment(f"warning: {w}", ""))
    for key in ("dataset", "seed", "batch_size"):
        out.append(f"{key}: {_flow(spec[key])}\n")
    out.append("\ntables:\n")
    for name, table in spec["tables"].items():
        out.append("\n")
        for note in notes.get(name, {}).get("", []):
            out.append(_comment(note, "  "))
        out.append(f"  {_flow(name)}:\n")
        for key, value in table.items():
            if key == "columns":
                out.append("    columns:\n")
                for cname, col in value.items():
                    for note in notes.get(name, {}).get(cname, []):
                        out.append(_comment(note, "      "))
                    out.append(f"      {_flow(cname)}: {_flow(col)}\n")
            elif key == "foreign_keys":
                out.append("    foreign_keys:\n")
                for fk in value:
                    out.append(f"      - {_flow(fk)}\n")
            elif key == "check":
                out.append("    check:\n")
                for cname, expr in value.items():
                    out.append(f"      {_flow(cname)}: {_flow(expr)}\n")
            else:
                out.append(f"    {key}: {_flow(value)}\n")
    return "".join(out)
