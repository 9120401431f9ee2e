"""From a pattern to the regex generator's node tree: Python's own parser (re._parser, the common
subset of PostgreSQL's ARE flavour) reads it, and each parsed item becomes a node. `.`, negated
classes and negated escapes (\\S, \\W, [^@]) draw from ASCII letters and digits, then from
punctuation, a space or Latin-1 letters, whichever first has characters that fit."""

from __future__ import annotations

import re
import string
import warnings
from dataclasses import dataclass

import numpy as np

from tdm.generators.regex.nodes import Alt, Chars, Lit, Node, Repeat, Seq
from tdm.generators.regex.syntax import (
    Unsupported,
    check_anchor,
    parse_error,
    posix_to_python,
    unsupported_op,
)

try:  # Python 3.11+
    from re import _constants as sre
    from re import _parser as sre_parse
except ImportError:  # pragma: no cover
    import sre_constants as sre  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

MAX_WIDTH = 2000  # longest value, in characters, a pattern may produce (memory per batch)


def _codes(text: str) -> list[int]:
    return [ord(c) for c in text]


# Where characters for `.` and negated classes come from, in order of preference.
TIERS = (
    _codes(string.digits + string.ascii_uppercase + string.ascii_lowercase),
    _codes(string.punctuation),
    _codes(" "),
    [c for c in range(0xC0, 0x100) if chr(c).isalpha()],
)

_CATEGORY = {
    sre.CATEGORY_DIGIT: (lambda ch: "0" <= ch <= "9", _codes(string.digits)),
    sre.CATEGORY_SPACE: (str.isspace, _codes(" ")),
    sre.CATEGORY_WORD: (lambda ch: ch.isalnum() or ch == "_", [*TIERS[0], ord("_")]),
}
_NOT_CATEGORY = {
    sre.CATEGORY_NOT_DIGIT: sre.CATEGORY_DIGIT,
    sre.CATEGORY_NOT_SPACE: sre.CATEGORY_SPACE,
    sre.CATEGORY_NOT_WORD: sre.CATEGORY_WORD,
}


def _variants(cp: int, icase: bool) -> set[int]:
    out = {cp}
    if icase:
        ch = chr(cp)
        out |= {ord(v) for v in (ch.lower(), ch.upper()) if len(v) == 1}
    return out


def _matches(items: list, cp: int, icase: bool) -> bool:
    """Whether code point cp is one of the class items (LITERAL, RANGE, CATEGORY)."""
    for v in _variants(cp, icase):
        for op, av in items:
            if op is sre.LITERAL and v == av:
                return True
            if op is sre.RANGE and av[0] <= v <= av[1]:
                return True
            if op is sre.CATEGORY:
                if av in _CATEGORY and _CATEGORY[av][0](chr(v)):
                    return True
                if av in _NOT_CATEGORY and not _CATEGORY[_NOT_CATEGORY[av]][0](chr(v)):
                    return True
    return False


def _from_tiers(keep) -> list[int]:
    for tier in TIERS:
        found = [c for c in tier if keep(c)]
        if found:
            return found
    return []


def _printable(codes: np.ndarray) -> np.ndarray:
    """Code points without 0 and surrogates; only the printable ones when there are some."""
    codes = codes[(codes > 0) & ((codes < 0xD800) | (codes > 0xDFFF))]
    printable = codes[(codes >= 0x20) & ((codes < 0x7F) | (codes >= 0xA0))]
    return printable if len(printable) else codes


def _class(items: list, icase: bool) -> np.ndarray:
    """The alphabet of a character class (IN items)."""
    negated = bool(items) and items[0][0] is sre.NEGATE
    items = [it for it in items if it[0] is not sre.NEGATE]
    unknown = [op for op, _ in items if op not in (sre.LITERAL, sre.RANGE, sre.CATEGORY)]
    if unknown:
        raise Unsupported(f"character class item {unknown[0]} is not supported")
    if negated:
        codes = np.array(_from_tiers(lambda c: not _matches(items, c, icase)), dtype=np.int64)
    else:
        parts, negative = [], []
        for op, av in items:
            if op is sre.LITERAL:
                parts.append(np.array([av]))
            elif op is sre.RANGE:
                parts.append(np.arange(av[0], av[1] + 1))
            elif av in _CATEGORY:
                parts.append(np.array(_CATEGORY[av][1]))
            else:
                negative.append((op, av))
        if negative:
            parts.append(np.array(_from_tiers(lambda c: _matches(negative, c, icase))))
        codes = np.unique(np.concatenate(parts).astype(np.int64)) if parts else np.array([])
    codes = _printable(codes.astype(np.int64))
    if not len(codes):
        raise Unsupported("a character class matches no character that can be generated", None)
    return codes


def _repeat_bounds(lo: int, hi: int, max_repeat: int) -> tuple[int, int]:
    if hi == sre.MAXREPEAT:
        hi = max(lo, max_repeat)
    return lo, hi


def _build(items, flags: int, max_repeat: int) -> Node:
    """Nodes of a parsed (sub)pattern."""
    icase = bool(flags & re.IGNORECASE)
    parts: list[Node] = []
    for op, av in items:
        if op is sre.LITERAL:
            parts.append(Lit(np.array([av], dtype=np.int64)))
        elif op is sre.NOT_LITERAL:
            parts.append(Chars(_class([(sre.NEGATE, None), (sre.LITERAL, av)], icase)))
        elif op is sre.ANY:
            parts.append(Chars(np.array(TIERS[0], dtype=np.int64)))
        elif op is sre.IN:
            parts.append(Chars(_class(av, icase)))
        elif op is sre.BRANCH:
            parts.append(Alt([_build(b, flags, max_repeat) for b in av[1]]))
        elif op is sre.SUBPATTERN:
            _group, add, remove, sub = av
            parts.append(_build(sub, (flags | add) & ~remove, max_repeat))
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT):
            lo, hi = _repeat_bounds(av[0], av[1], max_repeat)
            parts.append(Repeat(_build(av[2], flags, max_repeat), lo, hi))
        elif op is sre.AT:
            check_anchor(av)
        else:
            raise unsupported_op(op)
    return _simplify(parts)


def _simplify(parts: list[Node]) -> Node:
    """A sequence with adjacent literals merged and nested sequences flattened."""
    flat: list[Node] = []
    for p in parts:
        if isinstance(p, Repeat) and isinstance(p.node, Lit) and p.fixed:
            p = Lit(np.tile(p.node.codes, p.hi))
        for q in p.parts if isinstance(p, Seq) else [p]:
            if isinstance(q, Lit) and flat and isinstance(flat[-1], Lit):
                flat[-1] = Lit(np.concatenate([flat[-1].codes, q.codes]))
            elif not (isinstance(q, Lit) and q.width == 0):
                flat.append(q)
    if len(flat) == 1:
        return flat[0]
    return Seq(flat) if flat else Lit(np.array([], dtype=np.int64))


def _cast(node: Node, dtype) -> None:
    """Store every alphabet in the tree's code point dtype."""
    if isinstance(node, Lit):
        node.codes = node.codes.astype(dtype)
    elif isinstance(node, Chars):
        node.alphabet = node.alphabet.astype(dtype)
    for child in [*getattr(node, "parts", []), *getattr(node, "branches", [])]:
        _cast(child, dtype)
    if isinstance(node, Repeat):
        _cast(node.node, dtype)


def _max_code(node: Node) -> int:
    own = [int(node.codes.max())] if isinstance(node, Lit) and node.width else []
    if isinstance(node, Chars):
        own = [int(node.alphabet.max())]
    children = [*getattr(node, "parts", []), *getattr(node, "branches", [])]
    if isinstance(node, Repeat):
        children.append(node.node)
    return max([0, *own, *(_max_code(c) for c in children)])


@dataclass
class Compiled:
    root: Node
    dtype: type  # np.uint8 when every character is ASCII, else np.uint32
    python: re.Pattern  # the pattern as Python's re reads it, for checks


def compile_pattern(pattern: str, case_insensitive: bool, max_repeat: int) -> Compiled:
    """The node tree of a pattern; raises Unsupported for what cannot be generated."""
    text = posix_to_python(pattern)
    flags = re.IGNORECASE if case_insensitive else 0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = sre_parse.parse(text, flags)
            python = re.compile(text, flags)
    except re.error as e:
        raise parse_error(e) from None
    root = _build(list(parsed), parsed.state.flags, max_repeat)
    if root.width > MAX_WIDTH:
        raise Unsupported(
            f"values of this pattern can be {root.width} characters long (the limit is "
            f"{MAX_WIDTH})",
            "lower max_repeat or the {n,m} bounds",
        )
    dtype = np.uint8 if _max_code(root) < 0x80 else np.uint32
    _cast(root, dtype)
    return Compiled(root, dtype, python)
