"""Regular languages of digit strings of one length as counted automata, for ranking: the
valid national numbers of a calling code (tdm.masking.strategies.phone_rules) as a DFA whose
states are layered by position, with the number of accepted completions of each state, so a
valid number maps to its rank in [0, N) and back (rank/unrank of a regular language, as in
format-transforming encryption: Dyer et al., CCS 2013; Bellare et al., "Format-preserving
encryption", SAC 2009).

Patterns are libphonenumber's (Python `re` syntax: digits, classes, alternation, groups, optional
and bounded repeats), read with `re._parser` and compiled to a Glushkov automaton (one position
per digit class, `follow` edges between positions). A Language is a boolean combination of several
such automata, run together by the subset construction over the union of their positions: at the
last layer each state knows which automata accept, and the combination decides.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from re import _constants as sre
from re import _parser as sre_parse

import numpy as np

ALL_DIGITS = (1 << 10) - 1
_DIGIT = {sre.CATEGORY_DIGIT: ALL_DIGITS}


class Unsupported(ValueError):
    """A pattern construct the digit automata do not model (lookarounds, backreferences...)."""


class Glushkov:
    """Positions (a digit set each) and their follow sets for several patterns at once; each
    pattern is an automaton: its first positions, last positions, and whether it accepts the
    empty string. `prefix`: it accepts every string that starts with a match (re.match)."""

    def __init__(self, anchors: bool = False) -> None:
        self.anchors = anchors  # read anchors as empty (only to list the first digits)
        self.digits: list[int] = []  # per position: bit c set when it reads digit c
        self.follow: list[int] = []  # per position: a bitset of positions
        self.automata: list[tuple[int, int, bool]] = []  # (first, last, nullable) bitsets

    def add(self, pattern: str, prefix: bool = False) -> int:
        """Compile `pattern` (a full match, or a prefix match); its automaton's index."""
        nullable, first, last = self._seq(sre_parse.parse(pattern))
        if prefix:  # a position reading any digit, looping, after any match
            sticky = self._position(ALL_DIGITS)
            self.follow[sticky] |= 1 << sticky
            for p in _bits(last):
                self.follow[p] |= 1 << sticky
            last |= 1 << sticky
            first |= (1 << sticky) if nullable else 0
        self.automata.append((first, last, nullable))
        return len(self.automata) - 1

    def _position(self, digits: int) -> int:
        self.digits.append(digits)
        self.follow.append(0)
        return len(self.digits) - 1

    def _seq(self, items: Sequence) -> tuple[bool, int, int]:
        return self._concat([self._node(*item) for item in items])

    def _concat(self, parts: list[tuple[bool, int, int]]) -> tuple[bool, int, int]:
        nullable, first, last = True, 0, 0
        for n, f, la in parts:
            for p in _bits(last):
                self.follow[p] |= f
            first |= f if nullable else 0
            last = la | (last if n else 0)
            nullable = nullable and n
        return nullable, first, last

    def _node(self, op, arg) -> tuple[bool, int, int]:
        if op in (sre.LITERAL, sre.IN, sre.ANY, sre.NOT_LITERAL):
            p = self._position(_digit_set(op, arg))
            return False, 1 << p, 1 << p
        if op is sre.SUBPATTERN:
            return self._seq(arg[-1])
        if op is sre.BRANCH:
            nullable, first, last = False, 0, 0
            for alternative in arg[1]:
                n, f, la = self._seq(alternative)
                nullable, first, last = nullable or n, first | f, last | la
            return nullable, first, last
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            low, high, body = arg
            parts = [self._seq(body) for _ in range(low)]
            if high is sre.MAXREPEAT:  # a last copy that loops onto itself
                _, f, la = self._seq(body)
                for p in _bits(la):
                    self.follow[p] |= f
                parts.append((True, f, la))
            else:
                parts += [(True, *self._seq(body)[1:]) for _ in range(high - low)]
            return self._concat(parts)
        if op is sre.AT and self.anchors:  # first_pairs: an anchor reads nothing
            return True, 0, 0
        raise Unsupported(f"regex construct {op} is not supported")


def _digit_set(op, arg) -> int:
    if op is sre.ANY:
        return ALL_DIGITS
    if op in (sre.LITERAL, sre.NOT_LITERAL):
        bit = (1 << (arg - 48)) if 48 <= arg <= 57 else 0
        return bit if op is sre.LITERAL else ALL_DIGITS & ~bit
    out, negate = 0, False
    for kind, value in arg:
        if kind is sre.NEGATE:
            negate = True
        elif kind is sre.LITERAL:
            out |= (1 << (value - 48)) if 48 <= value <= 57 else 0
        elif kind is sre.RANGE:
            for c in range(max(value[0], 48), min(value[1], 57) + 1):
                out |= 1 << (c - 48)
        elif kind is sre.CATEGORY and value in _DIGIT:
            out |= _DIGIT[value]
        else:
            raise Unsupported(f"character class item {kind} {value} is not supported")
    return ALL_DIGITS & ~out if negate else out


def _bits(x: int):
    while x:
        low = x & -x
        yield low.bit_length() - 1
        x ^= low


@dataclass(frozen=True)
class Language:
    """The accepted strings of `length` digits as a layered DFA: state 0 rejects everything,
    state 1 is the start; next[s, c] the state after digit c; count[s] the number of accepted
    completions of s, below[s, c] of those that start with a digit below c."""

    length: int
    next: np.ndarray  # (states, 10) int32
    count: np.ndarray  # (states,) int64
    below: np.ndarray  # (states, 11) int64
    full: np.ndarray  # (states,) bool: every completion is accepted (the rest is any digits)

    @property
    def size(self) -> int:
        return int(self.count[1])

    def accepts(self, number: str) -> bool:
        state = 1
        for c in number:
            state = self.next[state, ord(c) - 48]
        return len(number) == self.length and self.count[state] > 0

    def rank(self, number: str) -> int:
        """The number of accepted strings below `number` (an accepted string)."""
        state, out = 1, 0
        for c in number:
            out += int(self.below[state, ord(c) - 48])
            state = self.next[state, ord(c) - 48]
        return out

    def unrank(self, rank: int) -> str:
        """The accepted string with `rank` accepted strings below it (0 <= rank < size)."""
        state, out = 1, []
        for _ in range(self.length):
            c = int(np.searchsorted(self.below[state], rank, side="right")) - 1
            rank -= int(self.below[state, c])
            out.append(str(c))
            state = self.next[state, c]
        return "".join(out)


def language(g: Glushkov, length: int, accept: Callable[[Callable[[int], bool]], bool]) -> Language:
    """The strings of `length` digits that `accept` takes, given a test of which of g's automata
    accept the string; the subset construction layer by layer over all of g's positions."""
    step = [[0] * 10 for _ in g.digits]  # per position and digit: the positions it moves to
    for p, follow in enumerate(g.follow):
        for q in _bits(follow):
            for c in _bits(g.digits[q]):
                step[p][c] |= 1 << q
    starts = [0] * 10
    for first, _, _ in g.automata:
        for q in _bits(first):
            for c in _bits(g.digits[q]):
                starts[c] |= 1 << q
    layers: list[dict[int, int]] = [{-1: 1}]  # per depth: position set -> state (-1: the start)
    moves: list[list[int]] = [[0] * 10, [0] * 10]
    for _ in range(length):
        layer: dict[int, int] = {}
        for s, state in layers[-1].items():
            for c in range(10):
                nxt = starts[c] if s == -1 else _union(step, s, c)
                if nxt:
                    if nxt not in layer:
                        layer[nxt] = len(moves)
                        moves.append([0] * 10)
                    moves[state][c] = layer[nxt]
        layers.append(layer)
    count = np.zeros(len(moves), dtype=object)
    for s, state in layers[-1].items():
        count[state] = int(accept(lambda i, s=s: bool(s & g.automata[i][1])))
    table = np.array(moves, dtype=np.int64)
    for layer in reversed(layers[:-1]):
        for state in layer.values():
            count[state] = sum(count[table[state]])
    below = np.zeros((len(moves), 11), dtype=object)
    below[:, 1:] = np.cumsum(count[table], axis=1)
    count[0], below[0] = 0, 0
    full = np.zeros(len(moves), dtype=bool)
    for depth, layer in enumerate(layers):
        for state in layer.values():
            full[state] = count[state] == 10 ** (length - depth)
    if count[1] >= 2**63:
        raise OverflowError(f"more than 2**63 strings of {length} digits")
    table[count[table] == 0] = 0  # dead ends go to the rejecting state
    return Language(
        length, table.astype(np.int32), count.astype(np.int64), below.astype(np.int64), full
    )


def _union(step: list[list[int]], positions: int, c: int) -> int:
    out = 0
    for p in _bits(positions):
        out |= step[p][c]
    return out


def first_pairs(pattern: str) -> int:
    """The pairs of digits c1 c2 a number can start with when `pattern` matches at its start: a
    bitset, bit 10 * c1 + c2 (all 100 where a match can be empty; anchors read as empty, so the
    set may hold more pairs than the pattern can start, never fewer)."""
    g = Glushkov(anchors=True)
    try:
        first, last, nullable = g.automata[g.add(pattern)]
    except (Unsupported, re.error):
        return (1 << 100) - 1
    if nullable:
        return (1 << 100) - 1
    out = 0
    for p in _bits(first):
        seconds = ALL_DIGITS if last >> p & 1 else 0  # a match of one digit: any next digit
        for q in _bits(g.follow[p]):
            seconds |= g.digits[q]
        for c in _bits(g.digits[p]):
            out |= seconds << (10 * c)
    return out
