"""Reading a YAML file (a spec, schemas/environments.yaml) with the line of every key.

Input may be hostile: every failure is a `SpecError` naming the file and, where known, the line,
and nothing here costs unbounded time, memory or stack. libyaml streams the events first (cheap,
iterative) to refuse deep nesting and huge documents before its recursive composer sees them;
the composed node graph is checked for alias bombs, walked for line numbers, then constructed.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import yaml

from tdm.core.errors import KeyPath, Problem, SpecError, clip

try:
    from yaml import CSafeLoader as _Base
except ImportError:  # PyYAML built without libyaml
    from yaml import SafeLoader as _Base

MAX_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 64  # nested mappings/sequences; pydantic cannot serialise much beyond ~150 either
MAX_NODES = 2_000_000  # once aliases are expanded; a 10,000-table spec has ~150,000
MAX_SCALAR = 65_536  # characters in one key or value
_REPARSE_CHARS = 256 * 1024

_QUOTING = "check indentation and quoting"
_NESTING = "a spec needs a few levels of nesting: flatten this part (or close its brackets)"


class _Refused(Exception):
    def __init__(self, message: str, hint: str | None = None, line: int | None = None):
        super().__init__(message)
        self.problem = Problem("", message, hint, line)


class _Loader(_Base):  # type: ignore[misc,valid-type]
    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """A scalar that cannot be turned into its type (a 13th month, a 5,000-digit integer)
        raises ValueError and the like, not a YAMLError: report it with its line."""
        try:
            return super().construct_object(node, deep)
        except (yaml.YAMLError, _Refused):
            raise
        except Exception as e:
            kind = str(node.tag).rsplit(":", 1)[-1]
            text = node.value if isinstance(node, yaml.ScalarNode) else kind
            message = f"cannot read {clip(str(text), 40)!r} as {kind}"
            if isinstance(e, ValueError | OverflowError):  # others say nothing useful
                message += f": {clip(str(e).split(';')[0], 100)}"
            raise _Refused(
                message,
                "correct the value, or quote it to keep it as text",
                node.start_mark.line + 1,
            ) from None


def read_yaml(path: Path) -> tuple[Any, dict[KeyPath, int]]:
    """The parsed document (None for an empty file) and a map from each key path to its 1-based
    line. Paths inside an alias (*name) have no entry of their own: `line_of` falls back to the
    entry of the alias itself."""
    try:
        text = _read_text(path)
        try:
            _check_events(text)
            return _load(text)
        except yaml.YAMLError as e:
            raise _invalid(e, text) from None
    except _Refused as refused:
        raise SpecError(str(path), [refused.problem]) from None


def _read_text(path: Path) -> str:
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise _Refused("this is a directory, not a YAML file", "pass the path of a .yaml file")
        if not stat.S_ISREG(info.st_mode):
            raise _Refused("not a regular file", "pass the path of a .yaml file")
        if info.st_size > MAX_BYTES:
            raise _too_large(info.st_size)
        with path.open("rb") as f:
            raw = f.read(MAX_BYTES + 1)  # the file may have grown since stat
    except FileNotFoundError:
        raise _Refused("file not found", "check the path; specs live under schemas/") from None
    except PermissionError:
        raise _Refused("permission denied", "check the file's permissions") from None
    except OSError as e:
        raise _Refused(f"cannot read the file ({e.strerror or e})") from None
    if len(raw) > MAX_BYTES:
        raise _too_large(len(raw))
    if b"\0" in raw:
        raise _Refused("binary file, not YAML text", "pass a YAML text file")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise _Refused(f"not UTF-8 text ({e.reason})", "save the file as UTF-8", line) from None


def _too_large(size: int) -> _Refused:
    return _Refused(
        f"file too large ({size / 2**20:.1f} MiB; the limit is {MAX_BYTES // 2**20} MiB)",
        "check that this is the right file",
    )


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
                raise _Refused(
                    f"more than {MAX_NODES:,} nodes (keys, values and items)",
                    "check that this is the right file: a spec is far smaller",
                    line,
                )
            if isinstance(event, yaml.AliasEvent) and event.anchor not in anchors:
                raise _Refused(
                    f"invalid YAML: found undefined alias {clip(str(event.anchor), 40)!r}",
                    "define the anchor (&name) before its first use (*name)",
                    line,
                )
            if event.anchor is not None:
                anchors.add(event.anchor)
            if isinstance(event, yaml.ScalarEvent) and len(event.value) > MAX_SCALAR:
                raise _Refused(
                    f"a value of {len(event.value):,} characters; at most {MAX_SCALAR:,}",
                    "check that this is the right file: a spec holds short values",
                    line,
                )
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise _Refused(f"nested deeper than {MAX_DEPTH} levels", _NESTING, line)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
        elif isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise _Refused(
                    "a second YAML document starts here; a file holds one",
                    "remove the extra '---' line, or split the file",
                    line,
                )


def _load(text: str) -> tuple[Any, dict[KeyPath, int]]:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        _check_expanded(node)
        lines: dict[KeyPath, int] = {}
        # Before constructing: that flattens merge keys (<<) into the node graph in place.
        _walk(node, (), lines, set())
        return loader.construct_document(node), lines
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
                raise _Refused(
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
            raise _Refused(
                f"more than {MAX_NODES:,} expanded nodes: aliases (*name) repeat their "
                "anchor's content each time",
                "use large anchors less often",
                node.start_mark.line + 1,
            )
        if deepest + 1 > MAX_DEPTH:
            raise _Refused(
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


def _walk(node: yaml.Node, at: KeyPath, lines: dict[KeyPath, int], seen: set[int]) -> None:
    lines.setdefault(at, node.start_mark.line + 1)
    if id(node) in seen:  # an alias: walking it again would expand it
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):  # other keys fail when constructed
                here = (*at, key.value)
                lines[here] = key.start_mark.line + 1
                _walk(value, here, lines, seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*at, i), lines, seen)


def _invalid(e: yaml.YAMLError, text: str) -> _Refused:
    if isinstance(e, yaml.reader.ReaderError):
        found = yaml.reader.Reader.NON_PRINTABLE.search(text)
        line = text.count("\n", 0, found.start()) + 1 if found else None
        char = f"#x{ord(found.group()):04x}" if found else "character"
        return _Refused(
            f"invalid YAML: unacceptable character {char}: special characters are not allowed",
            "remove control characters: the file must be plain text",
            line,
        )
    mark = getattr(e, "problem_mark", None)
    line = mark.line + 1 if mark else None
    reason = getattr(e, "problem", None) or str(e)
    if "maximum nesting depth" in reason:  # libyaml's own limit, deeper than ours
        return _Refused(f"nested deeper than {MAX_DEPTH} levels", _NESTING, line)
    if line and isinstance(e, yaml.scanner.ScannerError | yaml.parser.ParserError):
        reason = _python_wording(text, line) or reason
    return _Refused(f"invalid YAML: {clip(reason, 100)}", _QUOTING, line)


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
