"""Strings that fully match a regular expression, e.g. a CHECK constraint's `code ~ '^[A-Z]{3}$'`.

The pattern is parsed by Python's own parser (re._parser, the common subset of PostgreSQL's ARE
flavour) into a small tree of nodes: literal runs, one-character alphabets, sequences, bounded
repeats and alternations. A row is a fixed set of decisions, so every node draws a fixed number
of numbers per row whatever was drawn before: a repeat draws its child for the maximum count and
a count per row, an alternation draws every branch and a branch index per row. Nodes return a
(rows, ..., width) code point matrix in which 0 pads unused places; the final matrix is squeezed
into Arrow strings by dropping the padding.

Character choices: a class gives its own members (printable ones if it has any); `.`, negated
classes and negated escapes (\\S, \\W, [^@]) draw from ASCII letters and digits, then from
punctuation, a space or Latin-1 letters, whichever first has characters that fit.
"""

from __future__ import annotations

import math
import re
import string
import warnings
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from tdm.core.arrowstr import fixed_width
from tdm.core.permute import mix64
from tdm.core.rand import RowRandom, key64
from tdm.generators.base import GenContext, Generator, register

try:  # Python 3.11+
    from re import _constants as sre
    from re import _parser as sre_parse
except ImportError:  # pragma: no cover
    import sre_constants as sre  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

MAX_WIDTH = 2000  # longest value, in characters, a pattern may produce (memory per batch)
UNIQUE_LIMIT = 2**62  # largest permutation domain

_UNSUPPORTED_HINT = "generate the values with the pattern or choice generator instead"

# POSIX bracket classes (PostgreSQL knows them, Python's parser does not), spelled for Python.
POSIX_CLASSES = {
    "alpha": "a-zA-Z",
    "digit": "0-9",
    "alnum": "a-zA-Z0-9",
    "upper": "A-Z",
    "lower": "a-z",
    "space": r"\s",
    "blank": r" \t",
    "punct": r"!-/:-@\[-`{-~",
    "xdigit": "0-9A-Fa-f",
    "word": r"\w",
    "cntrl": r"\x01-\x1f\x7f",
    "print": r"\x20-\x7e",
    "graph": r"\x21-\x7e",
}
_POSIX = re.compile(r"\[:([a-z]+):\]")


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


class Unsupported(ValueError):
    """A pattern this generator cannot produce values for: (message, hint)."""

    def __init__(self, message: str, hint: str | None = _UNSUPPORTED_HINT):
        super().__init__(message)
        self.message, self.hint = message, hint


def posix_to_python(pattern: str) -> str:
    """Spell POSIX bracket classes ([[:alpha:]], [^[:space:]]) as Python ranges; the rest as is."""
    out, i, inside = [], 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if not inside:
            out.append(ch)
            i += 1
            if ch == "[":
                inside = True
                for lead in "^]":  # a leading ']' is a member, not the end
                    if pattern[i : i + 1] == lead:
                        out.append(lead)
                        i += 1
            continue
        m = _POSIX.match(pattern, i)
        if m and m.group(1) in POSIX_CLASSES:
            out.append(POSIX_CLASSES[m.group(1)])
            i = m.end()
            continue
        if m:
            raise Unsupported(
                f"unknown POSIX class [:{m.group(1)}:]",
                "use one of " + ", ".join(f"[:{n}:]" for n in POSIX_CLASSES),
            )
        if pattern.startswith(("[.", "[="), i):
            raise Unsupported("collating elements ([. .] and [= =]) are not supported")
        inside = ch != "]"
        out.append(ch)
        i += 1
    return "".join(out)


# ---- the node tree ------------------------------------------------------------------------------


def _below(rr: RowRandom, n: int, extra: tuple[int, ...], size: int) -> np.ndarray:
    """Uniform integers in [0, size), shape (n, *extra): 16 raw bits each for small sizes, 32
    otherwise, as floor(bits * size / 2**width) (bias at most size / 2**width)."""
    count = math.prod(extra)
    small = size <= 256
    per_word = 4 if small else 2
    words = max(1, -(-count // per_word))
    raw = rr.draw(lambda g, m: g.bit_generator.random_raw((m, words)))
    bits = raw.view(np.uint16 if small else np.uint32)[:, :count]
    out = bits.astype(np.uint32 if small else np.uint64)
    out *= size
    out >>= 16 if small else 32
    return out.reshape((n, *extra))


class Node:
    width: int  # most characters a value of it has
    fixed: bool  # always the same length and shape (no alternation, no variable repeat)

    def gen(self, rr: RowRandom, n: int, extra: tuple[int, ...]) -> np.ndarray:
        """(n, *extra, width) code points, 0 where unused; draws a fixed sequence."""
        raise NotImplementedError

    def positions(self) -> list[np.ndarray]:
        """For fixed nodes: the alphabet of each character position."""
        raise NotImplementedError


@dataclass
class Lit(Node):
    codes: np.ndarray

    def __post_init__(self):
        self.width, self.fixed = len(self.codes), True

    def gen(self, rr, n, extra):
        return np.broadcast_to(self.codes, (n, *extra, self.width))

    def positions(self):
        return [self.codes[i : i + 1] for i in range(self.width)]


@dataclass
class Chars(Node):
    alphabet: np.ndarray  # sorted distinct code points, no 0

    def __post_init__(self):
        self.width, self.fixed = 1, True

    def gen(self, rr, n, extra):
        return self.alphabet.take(_below(rr, n, extra, len(self.alphabet)))[..., None]

    def positions(self):
        return [self.alphabet]


@dataclass
class Seq(Node):
    parts: list[Node]

    def __post_init__(self):
        self.width = sum(p.width for p in self.parts)
        self.fixed = all(p.fixed for p in self.parts)

    def gen(self, rr, n, extra):
        return np.concatenate([p.gen(rr, n, extra) for p in self.parts], axis=-1)

    def positions(self):
        return [a for p in self.parts for a in p.positions()]


@dataclass
class Repeat(Node):
    node: Node
    lo: int
    hi: int

    def __post_init__(self):
        self.width = self.node.width * self.hi
        self.fixed = self.node.fixed and self.lo == self.hi

    def gen(self, rr, n, extra):
        out = self.node.gen(rr, n, (*extra, self.hi))
        if self.lo < self.hi:
            count = _below(rr, n, extra, self.hi - self.lo + 1)
            count += self.lo
            keep = np.arange(self.hi) < count[..., None]
            out = np.where(keep[..., None], out, np.zeros((), dtype=out.dtype))
        return out.reshape((n, *extra, self.width))

    def positions(self):
        return self.node.positions() * self.hi


@dataclass
class Alt(Node):
    branches: list[Node]

    def __post_init__(self):
        self.width = max(b.width for b in self.branches)
        self.fixed = False

    def gen(self, rr, n, extra):
        mats = [b.gen(rr, n, extra) for b in self.branches]
        which = _below(rr, n, extra, len(self.branches))[..., None]
        out = np.zeros((n, *extra, self.width), dtype=mats[0].dtype)
        for i, m in enumerate(mats):
            np.copyto(out[..., : m.shape[-1]], m, where=which == i)
        return out


def fixed_shape(node: Node, count: int = 4) -> Node:
    """One fixed-length shape of a variable pattern (unique values are spelled from the row
    index through fixed positions): each variable repeat takes `count` (within its bounds),
    an alternation its first branch."""
    if node.fixed:
        return node
    if isinstance(node, Seq):
        return Seq([fixed_shape(p, count) for p in node.parts])
    if isinstance(node, Repeat):
        n = max(node.lo, min(node.hi, count))
        return Repeat(fixed_shape(node.node, count), n, n)
    if isinstance(node, Alt):
        return fixed_shape(node.branches[0], count)
    return node


# ---- from the parse tree to nodes ---------------------------------------------------------------


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
            _anchor(av)
        else:
            raise _unsupported(op)
    return _simplify(parts)


def _anchor(at) -> None:
    """^ $ \\A \\Z generate nothing (values are whole matches); word boundaries are refused."""
    if at in (sre.AT_BOUNDARY, sre.AT_NON_BOUNDARY):
        raise Unsupported(
            r"word boundaries (\b, \B) are not supported",
            r"remove them; note that in PostgreSQL \b is a backspace and \y, \m, \M are "
            "word boundaries",
        )
    if at not in (
        sre.AT_BEGINNING,
        sre.AT_BEGINNING_STRING,
        sre.AT_END,
        sre.AT_END_STRING,
    ):  # pragma: no cover (the parser makes no other anchors)
        raise Unsupported(f"anchor {at} is not supported")


def _unsupported(op) -> Unsupported:
    if op in (sre.ASSERT, sre.ASSERT_NOT):
        return Unsupported(
            "lookahead and lookbehind assertions ((?=...), (?!...), (?<=...), (?<!...)) are "
            "not supported",
            _UNSUPPORTED_HINT + ", or remove the lookaround",
        )
    if op is sre.GROUPREF:
        return Unsupported(r"back-references (\1, (?P=name)) are not supported")
    if op is sre.GROUPREF_EXISTS:
        return Unsupported("conditional groups ((?(1)...|...)) are not supported")
    if op is getattr(sre, "ATOMIC_GROUP", None) or op is getattr(sre, "POSSESSIVE_REPEAT", None):
        return Unsupported(
            "atomic groups and possessive quantifiers ((?>...), *+, ++) are not supported "
            "(PostgreSQL has neither)",
            "use a plain group or quantifier",
        )
    return Unsupported(f"regular expression feature {op} is not supported")


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
        raise _parse_error(e) from None
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


def _parse_error(e: re.error) -> Unsupported:
    where = f" at position {e.pos}" if e.pos is not None else ""
    m = re.match(r"bad escape (\\\w)", e.msg)
    if m and m.group(1) in (r"\y", r"\Y", r"\m", r"\M"):
        return Unsupported(
            f"word-boundary escape {m.group(1)}{where} is not supported", "remove it"
        )
    return Unsupported(
        f"not a valid regular expression: {e.msg}{where}",
        "write a POSIX regular expression as PostgreSQL's ~ operator takes it",
    )


# ---- code point matrices to Arrow strings -------------------------------------------------------


def to_strings(mat: np.ndarray, fixed: bool) -> pa.StringArray:
    """(rows, width) code points, 0 = nothing, to one UTF-8 string per row."""
    n = len(mat)
    if mat.dtype == np.uint8 and fixed and mat.shape[1]:
        return fixed_width(mat)
    mask = mat != 0
    flat = mat[mask]
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.count_nonzero(mask, axis=1), out=offsets[1:])
    if mat.dtype == np.uint8:
        data = flat
    else:
        size = 1 + (flat >= 0x80).astype(np.int64) + (flat >= 0x800) + (flat >= 0x10000)
        ends = np.zeros(len(flat) + 1, dtype=np.int64)
        np.cumsum(size, out=ends[1:])
        offsets = ends[offsets]
        data = np.frombuffer(
            flat.astype("<u4").tobytes().decode("utf-32-le").encode("utf-8"), dtype=np.uint8
        )
    return pa.StringArray.from_buffers(
        n, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(np.ascontiguousarray(data))
    )


# ---- the generator ------------------------------------------------------------------------------


class RegexParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    pattern: str = Field(min_length=1, description="a POSIX regular expression, as for ~")
    max_repeat: int = Field(8, ge=1, le=MAX_WIDTH, description="the cap for *, + and {n,}")
    case_insensitive: bool = Field(False, description="match as ~* does")


@register
class Regex(Generator):
    """Strings that fully match a regular expression, e.g. '^[A-Z]{2}[0-9]{2}$' (a CHECK)."""

    name = "regex"
    reproducible = True  # depends on ctx.rng alone
    types = ("string",)
    Params = RegexParams
    can_be_unique = True
    summary = "strings matching a regular expression (e.g. a CHECK constraint's ~ pattern)"

    def __init__(self, params, info):
        super().__init__(params, info)
        self.index_based = info.unique

    @cached_property
    def compiled(self) -> Compiled | Unsupported:
        try:
            c = compile_pattern(self.p.pattern, self.p.case_insensitive, self.p.max_repeat)
        except Unsupported as e:
            return e
        if self.info.unique and not c.root.fixed:  # unique: one fixed shape of the pattern
            c = Compiled(fixed_shape(c.root), c.dtype, c.python)
        return c

    def _tree(self) -> Compiled:
        if isinstance(self.compiled, Unsupported):
            raise ValueError(f"regex {self.p.pattern!r}: {self.compiled.message}")
        return self.compiled

    def problems(self):
        c = self.compiled
        if isinstance(c, Unsupported):
            return [("pattern", c.message, c.hint)]
        rows = min(64, self.capacity() or 64)
        sample = self._values(np.arange(rows, dtype=np.int64), None).to_pylist()
        bad = [v for v in sample if not c.python.search(v)]
        if bad:
            return [
                (
                    "pattern",
                    f"values built from the pattern do not match it (e.g. {bad[0]!r})",
                    "check where the anchors ^ and $ are",
                )
            ]
        return []

    @cached_property
    def _positions(self) -> tuple[list[np.ndarray], list[list[int]]]:
        """Alphabets of each position of a fixed pattern, and the varying positions in groups
        (least significant first) whose domains fit a permutation; group 0 is the last ones."""
        alphabets = self._tree().root.positions()
        groups: list[list[int]] = [[]]
        size = 1
        for i in reversed(range(len(alphabets))):
            r = len(alphabets[i])
            if r == 1:
                continue
            if size * r > UNIQUE_LIMIT:
                groups.append([])
                size = 1
            groups[-1].append(i)
            size *= r
        return alphabets, groups

    def capacity(self) -> int | None:
        c = self.compiled
        if isinstance(c, Unsupported) or not c.root.fixed:
            return None
        alphabets, groups = self._positions
        return math.prod(len(alphabets[i]) for i in groups[0])

    def generate(self, ctx: GenContext) -> pa.Array:
        if self.info.unique:
            return self.at(ctx.idx, ctx)
        return self._values(None, ctx.rng)

    def at(self, idx: np.ndarray, ctx: GenContext) -> pa.Array:
        return self._values(idx, None)

    def _values(self, idx: np.ndarray | None, rr: RowRandom | None) -> pa.StringArray:
        """Drawn values for rr's rows, or distinct values spelled from the row indices idx."""
        c = self._tree()
        if idx is None or not self.info.unique:
            if rr is None:
                rr = RowRandom(self.info.stream("check"), 0, len(idx))
            return to_strings(c.root.gen(rr, rr.n, ()), c.root.fixed)
        if not c.root.fixed:
            raise ValueError(f"regex {self.p.pattern!r}: unique values need a fixed shape")
        alphabets, groups = self._positions
        out = np.empty((len(idx), len(alphabets)), dtype=c.dtype)
        for i, a in enumerate(alphabets):
            if len(a) == 1:
                out[:, i] = a[0]
        for part, group in enumerate(groups):
            if not group:
                continue
            size = math.prod(len(alphabets[i]) for i in group)
            if part == 0:
                rest = self.unique_slots(idx, size).astype(np.uint64)
            else:  # beyond 2**62 values: spread from the index with a key of its own
                key = key64(self.info.seed, self.info.table, self.info.name, "regex", part)[0]
                rest = mix64(idx.astype(np.uint64) ^ key) % np.uint64(size)
            for i in group:
                r = np.uint64(len(alphabets[i]))
                out[:, i] = alphabets[i].take((rest % r).astype(np.int64))
                rest //= r
        return to_strings(out, True)
