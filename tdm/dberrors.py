"""Turning a database driver's connection error into one line with a hint (source and targets)."""

from __future__ import annotations

import re


def one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def connect_hint(message: str, setting: str) -> str:
    """What to check, for a failed connection whose (secret-free) message is `message`;
    `setting` names where the URL comes from, e.g. 'source.url'."""
    low = message.lower()
    if "password" in low or "authentication" in low:
        return f"check the user and password of {setting} (its environment variable)"
    if "does not exist" in low:
        return f"check the database and user names in {setting}"
    if "resolve host" in low or "translate host" in low:
        return f"check the host name in {setting}"
    if "refused" in low or "timeout" in low or "timed out" in low or "no route" in low:
        return "is the server running and reachable from here? check host and port"
    if "invalid" in low and "option" in low:
        return f"remove or fix the ?options of {setting}"
    return f"check {setting}"
