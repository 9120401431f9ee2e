"""`use:` -- reusable definitions from the template library (docs/templates.md).

A table (`use: person`, `use: [timestamps, address]`) or a column (`price: {use: money}`) names
templates of the library (`tdm.spec.library`). Each template file holds `table:` (fields of a
table: columns, check, primary_key, rows, ...) or `column:` (fields of one column). They are
merged in the order named, then the spec's own fields over them: mappings are merged key by key,
anything else is replaced, and `~` (null) removes what a template gave. A template may use
others; a cycle is an error.

This runs when a spec file is read, before it is validated: what follows sees one spec (so its
version id covers the templates' content), and every path a template gave keeps where it came
from, so a problem found there names both the spec's `use:` and the template's file and line.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tdm.core.errors import KeyPath, Problem, SpecError, TdmError, did_you_mean, dotted, one_of
from tdm.spec.library import library, shown
from tdm.spec.reading import read_yaml_checked

_KINDS = ("table", "column")


@dataclass(frozen=True)
class Origin:
    """Where a path of the resolved spec came from: the spec's `use:` and the template's line."""

    use_at: KeyPath  # the `use` key in the spec (or the template that used this one)
    use_line: int | None
    names: str  # the template, or a chain 'person > address'
    file: str
    line: int | None
    tpath: KeyPath  # the path inside the template file

    def where(self, message: str) -> str:
        at = f"{self.file}:{self.line}" if self.line else self.file
        inner = f"{dotted(self.tpath)}: " if self.tpath else ""
        return f"{self.names} ({at}: {inner}{message})"


@dataclass
class Uses:
    """The templates a spec used, and where each path they gave came from."""

    origins: dict[KeyPath, Origin] = field(default_factory=dict)
    own: set[KeyPath] = field(default_factory=set)  # paths the spec itself wrote
    used: dict[str, Path] = field(default_factory=dict)  # template name -> file

    def attribute(self, problems: list[Problem]) -> list[Problem]:
        """Problems at paths a template gave, told at the spec's `use:` with the template's
        file, line and path; at paths the spec wrote where a template gave too (itself or the
        mapping holding it), the problem stays at the spec and names the template."""
        return [self._attributed(p) for p in problems]

    def _attributed(self, p: Problem) -> Problem:
        if not self.origins or not p.at:
            return p
        for cut in range(len(p.at), 0, -1):
            here = tuple(p.at[:cut])
            origin = self.origins.get(here)
            if here in self.own:  # the spec wrote it: a template that gave beside it is named
                origin = origin or self.origins.get(here[:-1])
                if origin is None:
                    return p
                also = f"{origin.file}:{origin.line}" if origin.line else origin.file
                return replace(p, message=f"{p.message} (merged with {origin.names}, {also})")
            if origin is not None:
                rest = (*origin.tpath, *p.at[cut:])
                inner = replace(origin, tpath=rest)
                return Problem(
                    dotted(origin.use_at), inner.where(p.message), p.hint, origin.use_line,
                    origin.use_at,
                )  # fmt: skip
        return p


def read_spec_checked(path: Path) -> tuple[Any, dict[KeyPath, int], list[Problem], Uses]:
    """`read_yaml_checked` of a spec, with every `use:` resolved: the document, the lines (paths
    a template gave have the line of their `use:`), the problems of reading and of `use:`, and
    where templated paths came from (`Uses.attribute`)."""
    data, lines, problems = read_yaml_checked(path)
    uses = Uses(own=set(lines))
    if isinstance(data, dict) and isinstance(data.get("tables"), dict):
        resolver = _Resolver(library(path), uses)
        doc = _Doc(str(path), lines, uses.origins, problems)
        data = {**data, "tables": resolver.tables(data["tables"], doc)}
    return data, lines, problems, uses


def read_spec(path: Path) -> tuple[Any, dict[KeyPath, int]]:
    data, lines, problems, uses = read_spec_checked(path)
    if problems:
        raise SpecError(str(path), uses.attribute(problems))
    return data, lines


@dataclass
class _Doc:
    """A file being resolved: the spec, or a template (then paths start with table/column)."""

    file: str
    lines: dict[KeyPath, int]
    origins: dict[KeyPath, Origin]
    problems: list[Problem]


@dataclass
class _Template:
    name: str
    kind: str
    body: Any
    doc: _Doc


class _Resolver:
    def __init__(self, found: dict[str, Path], uses: Uses):
        self.found, self.uses = found, uses
        self.done: dict[str, _Template | None] = {}
        self.stack: list[str] = []

    def tables(self, tables: dict, doc: _Doc) -> dict:
        return {
            name: self.node(t, ("tables", name), "table", doc) if isinstance(t, dict) else t
            for name, t in tables.items()
        }

    def node(self, node: dict, at: KeyPath, kind: str, doc: _Doc) -> dict:
        """`node` (a table or a column at `at` in `doc`) with its `use:` merged in, and then the
        `use:` of its columns (a table's)."""
        if "use" in node:
            node = self._apply(node, at, kind, doc)
        columns = node.get("columns") if kind == "table" else None
        if isinstance(columns, dict) and any(
            isinstance(c, dict) and "use" in c for c in columns.values()
        ):
            node = {**node, "columns": {
                name: self.node(c, (*at, "columns", name), "column", doc)
                if isinstance(c, dict) and "use" in c else c
                for name, c in columns.items()
            }}  # fmt: skip
        return node

    def _apply(self, node: dict, at: KeyPath, kind: str, doc: _Doc) -> dict:
        use_at = (*at, "use")
        use_line = doc.lines.get(use_at)
        names = node["use"]
        own = {k: v for k, v in node.items() if k != "use"}
        if isinstance(names, str):
            names = [names]
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            doc.problems.append(
                Problem(dotted(use_at), "use: a template name or a list of names",
                        "e.g. use: timestamps, or use: [person, address]", use_line, use_at)
            )  # fmt: skip
            return own
        merged: Any = {}
        for i, name in enumerate(names):
            where = use_at if len(names) == 1 else (*use_at, i)
            template = self._template(name, kind, where, doc)
            if template is None:
                continue
            merged = merge(merged, template.body)
            self.uses.used.setdefault(name, self.found[name])
            given: dict[KeyPath, Origin] = {}
            for tpath, line in template.doc.lines.items():
                if len(tpath) > 1 and tpath[0] == kind:
                    given[tpath] = Origin(use_at, use_line, name, template.doc.file, line, tpath)
            for tpath, inner in template.doc.origins.items():
                chain = f"{name} > {inner.names}"
                given[tpath] = replace(inner, use_at=use_at, use_line=use_line, names=chain)
            for tpath, origin in given.items():
                path = (*at, *tpath[1:])
                if not _overridden(own, tpath[1:]):
                    doc.origins[path] = origin
                    if use_line is not None:
                        doc.lines.setdefault(path, use_line)
        out = merge(merged, own)
        keys = list(node)
        if "columns" in keys and keys.index("use") > keys.index("columns"):
            out = {**out, "columns": _own_first(out.get("columns"), own.get("columns"))}
        return out

    def _template(self, name: str, kind: str, at: KeyPath, doc: _Doc) -> _Template | None:
        line = doc.lines.get(at)

        def problem(message: str, hint: str | None = None) -> None:
            doc.problems.append(Problem(dotted(at), message, hint, line, at))

        if name not in self.found:
            hint = did_you_mean(name, self.found) or one_of(self.found)
            problem(f"unknown template {name!r}", hint)
            return None
        if name in self.stack:
            cycle = " -> ".join([*self.stack[self.stack.index(name) :], name])
            problem(f"templates use each other in a cycle: {cycle}", "remove one of the uses")
            return None
        if name not in self.done:
            self.stack.append(name)
            try:
                self.done[name] = self._read(name, at, doc)
            finally:
                self.stack.pop()
        template = self.done[name]
        if template is not None and template.kind != kind:
            file = shown(self.found[name])
            problem(
                f"{name} ({file}) is a {template.kind} template, used here on a {kind}",
                "use table templates on a table, column templates on a column",
            )
            return None
        return template

    def _read(self, name: str, at: KeyPath, doc: _Doc) -> _Template | None:
        path, line = self.found[name], doc.lines.get(at)
        file = shown(path)
        try:
            data, lines, problems = read_yaml_checked(path)
        except TdmError as e:  # unreadable: its one problem, told at the use
            inner = e.problems[0] if isinstance(e, SpecError) and e.problems else None
            text = inner.message if inner else str(e)
            where = f"{file}:{inner.line}" if inner and inner.line else file
            doc.problems.append(
                Problem(dotted(at), f"{name} ({where}: {text})", inner and inner.hint, line, at)
            )
            return None
        kinds = [k for k in _KINDS if isinstance(data, dict) and k in data]
        extra = sorted(set(data) - {*_KINDS, "description"}) if isinstance(data, dict) else []
        if len(kinds) != 1 or extra or not isinstance(data[kinds[0]], dict):
            said = f"unknown field {extra[0]!r}" if extra else "not a template"
            doc.problems.append(Problem(
                dotted(at), f"{name} ({file}: {said})",
                "a template holds `description:` and either `table:` (fields of a table) or "
                "`column:` (fields of a column)", line, at,
            ))  # fmt: skip
            return None
        kind = kinds[0]
        tdoc = _Doc(file, lines, {}, problems)
        body = self.node(data[kind], (kind,), kind, tdoc)
        for p in tdoc.problems:  # told at the spec's use, with the template's place
            said = f"{p.path}: {p.message}" if p.path else p.message
            origin = Origin(at, line, name, file, p.line, ())
            doc.problems.append(Problem(dotted(at), origin.where(said), p.hint, line, at))
        return _Template(name, kind, body, tdoc)


def _own_first(columns: Any, own: Any) -> Any:
    """The columns with the spec's own first (`use:` written after `columns:`)."""
    if not (isinstance(columns, dict) and isinstance(own, dict)):
        return columns
    return {**{k: columns[k] for k in own if k in columns}, **columns}


def _overridden(own: Any, rel: KeyPath) -> bool:
    """Whether the spec's own fields replace the value at `rel` (or above it) outright."""
    for part in rel:
        if not isinstance(own, dict) or part not in own:
            return False
        own = own[part]
        if not isinstance(own, dict):
            return True
    return False


def merge(base: Any, over: Any) -> Any:
    """`over` merged onto `base`: mappings key by key (a null in `over` removes the key),
    anything else replaced."""
    if not (isinstance(base, dict) and isinstance(over, dict)):
        return over
    out = dict(base)
    for key, value in over.items():
        if value is None and key in out:
            del out[key]
        else:
            out[key] = merge(out[key], value) if key in out else value
    return out


def templates_used(path: Path) -> dict[str, str]:
    """The templates a spec file uses (directly or through other templates), by name, with
    their files as messages show them; {} when it uses none or cannot be read."""
    try:
        _, _, _, uses = read_spec_checked(path)
    except TdmError:
        return {}
    return {name: shown(file) for name, file in sorted(uses.used.items())}
