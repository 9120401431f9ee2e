"""User-facing errors: each names the file, the place inside it, the reason and the fix."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

KeyPath = tuple[str | int, ...]  # a place in a YAML file: ('tables', 'orders', 'rows')


class TdmError(Exception):
    """An error meant for the user. The CLI prints it without a traceback."""


@dataclass(frozen=True)
class Problem:
    path: str
    message: str
    hint: str | None = None
    line: int | None = None
    at: tuple = ()  # the path as keys, to find its line in the file

    def render(self, file: str) -> str:
        where = f"{file}:{self.line}" if self.line else file
        text = f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"
        if self.hint:
            text += f"\n    fix: {self.hint}"
        return text


class SpecError(TdmError):
    """One or more mistakes in a spec file, reported together."""

    def __init__(self, file: str, problems: Iterable[Problem]):
        self.file = file
        self.problems = list(problems)
        super().__init__(str(self))

    SHOWN = 50  # beyond this, the first ones are what to fix first anyway

    def __str__(self) -> str:
        count = len(self.problems)
        head = f"{self.file}: {count} problem{'s' if count != 1 else ''} in the spec"
        lines = [head, *("  " + p.render(self.file) for p in self.problems[: self.SHOWN])]
        if count > self.SHOWN:
            lines.append(f"  ... and {count - self.SHOWN} more; fix these first")
        return "\n".join(lines)


def problem_at(at: KeyPath, message: str, hint: str | None = None) -> Problem:
    """A Problem at a place in the spec (its line is found from `at` when the file is read)."""
    return Problem(dotted(at), message, hint, at=at)


def did_you_mean(word: str, choices: Iterable[str], cutoff: float = 0.6) -> str | None:
    """'did you mean "x"?' for the closest choice, or None."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=cutoff)
    return f'did you mean "{close[0]}"?' if close else None


def listed(items: Sequence[str], limit: int, more: str = "") -> str:
    """The first `limit` items, comma-separated; when some are left out, how many there are in
    all (then `more`)."""
    shown = ", ".join(items[:limit])
    return shown + (f", ... ({len(items)} in all{more})" if len(items) > limit else "")


def one_of(choices: Iterable[str], limit: int = 12) -> str:
    """'one of: ' and the choices, sorted, listed()."""
    return f"one of: {listed(sorted(choices), limit)}"


def clip(text: str, limit: int = 300) -> str:
    """`text` cut to `limit` characters (user input echoed in a message stays readable)."""
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def shorten(value: object, limit: int = 80) -> str:
    """repr(value), cut to `limit` characters, saying how long it was when cut."""
    text = repr(value)
    return text if len(text) <= limit else f"{clip(text, limit)} ({len(text):,} characters)"


def dotted(at: KeyPath) -> str:
    out = ""
    for part in at:
        name = clip(str(part), 64)  # a valid name has at most 63 characters
        out += f"[{part}]" if isinstance(part, int) else (f".{name}" if out else name)
    return out


def line_of(lines: dict[KeyPath, int], at: KeyPath) -> int | None:
    for cut in range(len(at), -1, -1):
        if at[:cut] in lines:
            return lines[at[:cut]]
    return None
