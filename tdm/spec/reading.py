"""Reading a YAML file (a spec, schemas/environments.yaml) with the line of every key.

Input may be hostile: every failure is a `SpecError` naming the file and, where known, the line,
and nothing here costs unbounded time, memory or stack. libyaml streams the events first (cheap,
iterative) to refuse deep nesting and huge documents before its recursive composer sees them;
the composed node graph is checked for alias bombs, walked for line numbers, then constructed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tdm.core.errors import KeyPath, Problem, SpecError, clip, dotted
from tdm.spec.textfile import MAX_BYTES as MAX_BYTES
from tdm.spec.textfile import Refused, read_text

try:
    from yaml import CSafeLoader as _Base
except ImportError:  # PyYAML built without libyaml
    from yaml import SafeLoader as _Base

MAX_DEPTH = 64  # nested mappings/sequences; pydantic cannot serialise much beyond ~150 either
MAX_NODES = 2_000_000  # once aliases are expanded; a 10,000-table spec has ~150,000
MAX_SCALAR = 65_536  # characters in one key or value
_REPARSE_CHARS = 256 * 1024

_QUOTING = "check indentation and quoting"
_MERGE = "tag:yaml.org,2002:merge"  # `<<: *defaults`: keys after it override the merged ones
_NESTING = "a spec needs a few levels of nesting: flatten this part (or close its brackets)"


class _Loader(_Base):  # type: ignore[misc,valid-type]
    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """A scalar that cannot be turned into its type (a 13th month, a 5,000-digit integer)
        raises ValueError and the like, not a YAMLError: report it with its line."""
        try:
            return super().construct_object(node, deep)
        except (yaml.YAMLError, Refused):
            raise
        except Exception as e:
            kind = str(node.tag).rsplit(":", 1)[-1]
            text = node.value if isinstance(node, yaml.ScalarNode) else kind
            message = f"cannot read {clip(str(text), 40)!r} as {kind}"
            if isinstance(e, ValueError | OverflowError):  # others say nothing useful
                message += f": {clip(str(e).split(';')[0], 100)}"
            raise Refused(
                message,
                "correct the value, or quote it to keep it as text",
                node.start_mark.line + 1,
            ) from None


def read_yaml(path: Path) -> tuple[Any, dict[KeyPath, int]]:
    """The parsed document (None for an empty file) and a map from each key path to its 1-based
    line. Paths inside an alias (*name) have no entry of their own: `line_of` falls back to the
    entry of the alias itself. A key written twice in one mapping is an error too."""
    data, lines, problems = read_yaml_checked(path)
    if problems:
        raise SpecError(str(path), problems)
    return data, lines


def read_yaml_checked(path: Path) -> tuple[Any, dict[KeyPath, int], list[Problem]]:
    """`read_yaml`, but keys written twice come back as problems beside the document (the last
    one counts), so the rest of the file can still be checked."""
    try:
        text = read_text(path)
        try:
            _check_events(text)
            return _load(text)
        except yaml.YAMLError as e:
            raise _invalid(e, text) from None
    except Refused as refused:
        raise SpecError(str(path), [refused.problem]) from None


def _check_events(text: str) -> None:
    """Refuse, from the event stream (parsing is iterative and builds nothing), what should not
    be composed: nesting deeper than MAX_DEPTH (composing recurses, in C), more than MAX_NODES
    nodes, a second document, undefined aliases."""
    depth, documents, nodes, anchors = 0, 0, 0, set()
    for event in yaml.parse(text, Loader=_Base):
        line = event.start_mark.line + 1
        if isinstance(event, yaml.NodeEvent):
            nodes += 1
            if nodes > MAX_NODES:
                raise Refused(
                    f"more than {MAX_NODES:,} nodes (keys, values and items)",
                    "check that this is the right file: a spec is far smaller",
                    line,
                )
            if isinstance(event, yaml.AliasEvent) and event.anchor not in anchors:
                raise Refused(
                    f"invalid YAML: found undefined alias {clip(str(event.anchor), 40)!r}",
                    "define the anchor (&name) before its first use (*name)",
                    line,
                )
            if event.anchor is not None:
                anchors.add(event.anchor)
            if isinstance(event, yaml.ScalarEvent) and len(event.value) > MAX_SCALAR:
                raise Refused(
                    f"a value of {len(event.value):,} characters; at most {MAX_SCALAR:,}",
                    "check that this is the right file: a spec holds short values",
                    line,
                )
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise Refused(f"nested deeper than {MAX_DEPTH} levels", _NESTING, line)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
        elif isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise Refused(
                    "a second YAML document starts here; a file holds one",
                    "remove the extra '---' line, or split the file",
                    line,
                )


def _load(text: str) -> tuple[Any, dict[KeyPath, int], list[Problem]]:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}, []
        _check_expanded(node)
        lines: dict[KeyPath, int] = {}
        twice: list[Problem] = []
        # Before constructing: that flattens merge keys (<<) into the node graph in place.
        _walk(node, (), lines, set(), twice)
        return loader.construct_document(node), lines, twice
    finally:
        loader.dispose()


def _check_expanded(root: yaml.Node) -> None:
    """Refuse a graph whose aliases expand it beyond MAX_NODES nodes or MAX_DEPTH levels (a
    "billion laughs"), or that contains itself: the data built from it would be validated (and
    walked) expanded. Linear time: each collection's expanded size and depth is computed once."""
    done: dict[int, tuple[int, int]] = {}  # id(collection) -> (expanded size, expanded depth)
    open_: set[int] = set()  # collections whose children are being sized: ancestors of the top
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if isinstance(node, yaml.ScalarNode):
            continue
        children = _children(node)
        if not children_done:
            if key in open_:
                raise Refused(
                    "an alias (*name) inside its own anchor's content",
                    "an alias can only repeat a value whose definition has ended",
                    node.start_mark.line + 1,
                )
            if key not in done:
                open_.add(key)
                stack.append((node, True))
                stack.extend((child, False) for child in children)
            continue
        open_.discard(key)
        size, deepest = 1, 0
        for child in children:
            child_size, child_depth = done.get(id(child), (1, 0))  # scalars are not in `done`
            size += child_size
            deepest = max(deepest, child_depth)
        if size > MAX_NODES:
            raise Refused(
                f"more than {MAX_NODES:,} expanded nodes: aliases (*name) repeat their "
                "anchor's content each time",
                "use large anchors less often",
                node.start_mark.line + 1,
            )
        if deepest + 1 > MAX_DEPTH:
            raise Refused(
                f"nested deeper than {MAX_DEPTH} levels via aliases",
                _NESTING,
                node.start_mark.line + 1,
            )
        done[key] = (size, deepest + 1)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return node.value
    return []


def _walk(
    node: yaml.Node, at: KeyPath, lines: dict[KeyPath, int], seen: set[int], twice: list[Problem]
) -> None:
    """Record the line of every key path, and the keys written twice in one mapping."""
    lines.setdefault(at, node.start_mark.line + 1)
    if id(node) in seen:  # an alias: walking it again would expand it
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        first: dict[tuple[str, str], int] = {}
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):  # other keys fail when constructed
                here = (*at, key.value)
                line = key.start_mark.line + 1
                if key.tag != _MERGE and first.setdefault((key.tag, key.value), line) != line:
                    twice.append(_written_twice(here, first[(key.tag, key.value)], line))
                lines[here] = line
                _walk(value, here, lines, seen, twice)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*at, i), lines, seen, twice)


def _written_twice(at: KeyPath, first: int, line: int) -> Problem:
    name = clip(str(at[-1]), 40)
    return Problem(
        dotted(at),
        f"{name!r} is written twice here (lines {first} and {line}); only the last one would count",
        "remove or rename one of them",
        line,
        at,
    )


def _invalid(e: yaml.YAMLError, text: str) -> Refused:
    if isinstance(e, yaml.reader.ReaderError):
        found = yaml.reader.Reader.NON_PRINTABLE.search(text)
        line = text.count("\n", 0, found.start()) + 1 if found else None
        char = f"#x{ord(found.group()):04x}" if found else "character"
        return Refused(
            f"invalid YAML: unacceptable character {char}: special characters are not allowed",
            "remove control characters: the file must be plain text",
            line,
        )
    mark = getattr(e, "problem_mark", None)
    line = mark.line + 1 if mark else None
    reason = getattr(e, "problem", None) or str(e)
    if "maximum nesting depth" in reason:  # libyaml's own limit, deeper than ours
        return Refused(f"nested deeper than {MAX_DEPTH} levels", _NESTING, line)
    if line and isinstance(e, yaml.scanner.ScannerError | yaml.parser.ParserError):
        reason = _python_wording(text, line) or reason
    return Refused(f"invalid YAML: {clip(reason, 100)}", _QUOTING, line)


def _python_wording(text: str, line: int) -> str | None:
    """The pure-Python parser's wording for the error libyaml found on `line` (it names what it
    found, and users and tests know it); None if the text up to there is too long to re-parse
    quickly, or the parsers disagree."""
    if _Base is yaml.SafeLoader:
        return None
    head = "".join(text[:_REPARSE_CHARS].splitlines(keepends=True)[: line + 1])
    try:
        for _ in yaml.parse(head, Loader=yaml.SafeLoader):
            pass
    except yaml.MarkedYAMLError as e:
        if e.problem and e.problem_mark and e.problem_mark.line + 1 == line:
            return e.problem
    except yaml.YAMLError:
        pass
    return None
