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

Modules: syntax (POSIX classes, what is refused and why), nodes (the node tree and its strings),
compiler (pattern to node tree), generator (the registered `regex` generator).
"""

from tdm.generators.regex.compiler import MAX_WIDTH, TIERS, Compiled, compile_pattern
from tdm.generators.regex.generator import UNIQUE_LIMIT, Regex, RegexParams
from tdm.generators.regex.nodes import Alt, Chars, Lit, Node, Repeat, Seq, fixed_shape, to_strings
from tdm.generators.regex.syntax import POSIX_CLASSES, Unsupported, posix_to_python

__all__ = [
    "MAX_WIDTH",
    "POSIX_CLASSES",
    "TIERS",
    "UNIQUE_LIMIT",
    "Alt",
    "Chars",
    "Compiled",
    "Lit",
    "Node",
    "Regex",
    "RegexParams",
    "Repeat",
    "Seq",
    "Unsupported",
    "compile_pattern",
    "fixed_shape",
    "posix_to_python",
    "to_strings",
]
