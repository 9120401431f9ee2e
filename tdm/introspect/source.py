"""`tdm introspect --source`: a spec that extracts every table of a live schema (source: true),
masked where the PII scan of its rows says so, with a commented `subset:` example to edit.

The schema's tables, types and keys come from the same reading as a generated spec
(tdm.introspect.introspect); each table then keeps only what extraction needs (types, keys,
foreign keys), the PII scan reads a sample of every table (tdm.masking.gate.scan) and each column
it flags gets the mask it suggests. The spec is planned before it is written, so it runs as it is
(the URL's password is never written: it becomes ${SOURCE_PASSWORD}).
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from tdm.core.errors import Problem, TdmError
from tdm.core.urls import MASK, hide_password, password_of, without_secret
from tdm.introspect.render import _comment, _flow
from tdm.masking.gate import scan
from tdm.plan.model import Plan
from tdm.plan.stages import check_stages
from tdm.spec.model import DatasetSpec
from tdm.spec.salvage import Damage
from tdm.targets.postgres.catalog import PgSchema

_SUGGESTED = re.compile(r"add `(mask: [^`]+)`")
KEPT = ("type", "sql_type", "description")  # of a generated column's entry


def source_spec(
    generated: dict, catalog: PgSchema, url: str, written_url: str
) -> tuple[dict, list[str]]:
    """(spec, warnings): `generated` (an introspected spec) turned into an extracting one;
    `url` reaches the source now, `written_url` is what the file says."""
    warnings: list[str] = []
    tables: dict[str, dict] = {}
    for name, table in generated["tables"].items():
        entry: dict[str, Any] = {"source": True}
        if table.get("primary_key"):
            entry["primary_key"] = table["primary_key"]
        else:
            pg = catalog.tables[name]
            key = next(
                (u.columns for u in pg.uniques if u.columns and not u.predicate
                 and not u.expressions and all(pg.columns[c].not_null for c in u.columns)),
                None,
            )  # fmt: skip
            if key is None:
                warnings.append(
                    f"{name}: left out, it has no primary key or UNIQUE NOT NULL columns to "
                    "read it in batches by; add it with source: {key: [...]}, or take its rows "
                    "in a subset (children: true), which reads tables without a key"
                )
                continue
            entry["source"] = {"key": list(key)}
        entry["columns"] = {
            c: {k: v for k, v in col.items() if k in KEPT} for c, col in table["columns"].items()
        }
        # unique as the source declares it (a generated spec adds some to make keys unique)
        keys = [
            u.columns
            for u in catalog.tables[name].uniques
            if u.columns and not u.predicate and not u.expressions and not u.primary
        ]
        for key in keys:
            if len(key) == 1 and key[0] in entry["columns"]:
                entry["columns"][key[0]]["unique"] = True
        several = [list(k) for k in keys if len(k) > 1 and set(k) <= set(entry["columns"])]
        fks = [
            {"columns": fk["columns"], "references": fk["references"]}
            for fk in table.get("foreign_keys", [])
        ]
        if fks:
            entry["foreign_keys"] = fks
        if several:
            entry["unique"] = several
        tables[name] = entry
    for entry in tables.values():  # references to a table left out cannot be kept
        kept = [fk for fk in entry.get("foreign_keys", []) if _parent(fk) in tables]
        entry.pop("foreign_keys", None)
        if kept:
            entry["foreign_keys"] = kept
    if not tables:
        raise TdmError("no table can be extracted: " + "; ".join(warnings))
    spec = {"dataset": generated["dataset"], "source": {"url": written_url}, "seed": 42,
            "batch_size": 10000, "tables": tables}  # fmt: skip
    _mask(spec, url, warnings)
    return spec, warnings


def _parent(fk: dict) -> str:
    return str(fk["references"]).split("(")[0].split(".")[0].strip()


def _plan(spec: dict, url: str) -> tuple[Plan | None, list[Problem]]:
    live = DatasetSpec.model_validate({**spec, "source": {"url": url}})
    plan, stages = check_stages(live.resolved(), Damage(), None)
    problems = [p for stage in stages for p in stage]
    return plan, problems


def _mask(spec: dict, url: str, warnings: list[str]) -> None:
    """Add the mask the PII gate suggests to each column it stops, by name (when planning) or
    by values (the scan of a sample), until it stops none."""
    problems = []
    for _ in range(4):  # a mask put on a parent column can show more PII in its children
        plan, problems = _plan(spec, url)
        if plan is not None:
            _, problems = scan(plan)
        flagged = [(p, _SUGGESTED.search(p.hint or "")) for p in problems]
        flagged = [(p.at, m.group(1)) for p, m in flagged if m and len(p.at) == 4]
        if not flagged:
            break
        for at, suggested in flagged:
            table, column = _masked_at(spec, at[1], at[3])
            mask = yaml.safe_load(suggested)["mask"]
            spec["tables"][table]["columns"][column].setdefault("mask", mask)
    for p in problems:
        warnings.append(without_secret(f"{p.path}: {p.message}" + (
            f" (fix: {p.hint})" if p.hint else ""), url))  # fmt: skip


def _masked_at(spec: dict, table: str, column: str) -> tuple[str, str]:
    """Where a column's mask goes: on the column a foreign key takes it from (masks follow
    references, so the join still holds after masking), else on the column itself."""
    for fk in spec["tables"][table].get("foreign_keys", []):
        if column in fk["columns"]:
            parent = _parent(fk)
            text = str(fk["references"])
            cols = (
                [c.strip() for c in text[text.find("(") + 1 : -1].split(",")] if "(" in text else []
            )
            if len(cols) == len(fk["columns"]):
                return _masked_at(spec, parent, cols[fk["columns"].index(column)])
    return table, column


def subset_example(spec: dict) -> str:
    """A commented `subset:` block naming this spec's tables, ready to uncomment."""
    tables = list(spec["tables"])
    child = next((t for t in reversed(tables) if spec["tables"][t].get("foreign_keys")), tables[0])
    return (
        "\n# Extract only some rows, and every row they need through foreign keys, in one\n"
        "# snapshot of the source (docs/source.md#subsetting). Tables no chosen row needs get\n"
        "# no rows. Uncomment and edit:\n"
        "# subset:\n"
        "#   roots:                                   # where the subset starts\n"
        f'#     - {{table: {child}, where: "<SQL condition over {child}>"}}\n'
        f"#     - {{table: {tables[0]}, percent: 5}}     # by a hash of the key and the seed\n"
        "#   children: false     # true, or {max_per_parent: 10}: also the rows referencing them\n"
        "#   relationships:      # foreign keys the database does not declare\n"
        "#     - {columns: <table>.<column>, references: <table>.<column>}\n"
    )


def render_source(spec: dict, warnings: list[str], catalog: PgSchema) -> str:
    out = [
        f"# Extracts every table of database {catalog.database}, schema {catalog.schema}, by "
        "`tdm introspect --source`.\n# Masks are what the PII scan of the rows suggests: check "
        "them (docs/masking.md); the source\n# is only read (docs/source.md).\n",
    ]
    if "${SOURCE_PASSWORD}" in spec["source"]["url"]:
        out.append("# Set SOURCE_PASSWORD in the environment: the password is not written here.\n")
    for w in warnings:
        out.append(_comment(f"warning: {w}", ""))
    out.append(f"dataset: {_flow(spec['dataset'])}\n")
    out.append(f"source: {{url: {json.dumps(spec['source']['url'])}}}\n")
    out.append(f"seed: {spec['seed']}\nbatch_size: {spec['batch_size']}\n\ntables:\n")
    for name, table in spec["tables"].items():
        out.append(f"\n  {_flow(name)}:\n")
        for key, value in table.items():
            if key == "columns":
                out.append("    columns:\n")
                out += [f"      {_flow(c)}: {_flow(col)}\n" for c, col in value.items()]
            elif key == "foreign_keys":
                out.append("    foreign_keys:\n")
                out += [f"      - {_flow(fk)}\n" for fk in value]
            else:
                out.append(f"    {key}: {_flow(value)}\n")
    text = "".join(out) + subset_example(spec)
    if yaml.safe_load(text) != spec:  # what is written reads back as the spec that planned
        raise AssertionError("the rendered spec does not read back as itself")
    return text


def introspect_source(
    url: str, written_url: str, schema: str, tables: list[str] | None, name: str | None
) -> tuple[dict, str, list[str]]:
    """The extracting spec of a live schema: (spec, text, warnings)."""
    from tdm.introspect import introspect, read_schema

    generated = introspect(url, schema, tables, name=name)
    catalog = read_schema(url, schema)
    spec, warnings = source_spec(generated.spec, catalog, url, written_url)
    warnings = generated.warnings + warnings
    return spec, render_source(spec, warnings, catalog), warnings


def written_url(raw: str, url: str) -> str:
    """The source URL as the spec file says it: as the user wrote it when it names a
    ${VARIABLE}, else with its password (if any) as ${SOURCE_PASSWORD}."""
    if "${" in raw:
        return raw
    return hide_password(url).replace(MASK, "${SOURCE_PASSWORD}", 1) if password_of(url) else url
