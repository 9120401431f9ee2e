"""What of a pattern's syntax the regex generator reads, and what it refuses: POSIX bracket classes
(which PostgreSQL knows and Python's parser does not) are rewritten as Python ranges, and each
feature that cannot be generated gets its message and hint."""

from __future__ import annotations

import re

try:  # Python 3.11+
    from re import _constants as sre
except ImportError:  # pragma: no cover
    import sre_constants as sre  # type: ignore[no-redef]

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


def check_anchor(at) -> None:
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


def unsupported_op(op) -> Unsupported:
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


def parse_error(e: re.error) -> Unsupported:
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
