"""What the source reader, the database targets and the SQL tdm writes share: psycopg parameters
from a URL, a driver's connection error as one line with a hint, and quoted identifiers."""

from __future__ import annotations

import re
from typing import Any

CONNECT_TIMEOUT = 10  # seconds, unless the URL sets connect_timeout


def quote_identifier(name: str) -> str:
    """An always-quoted SQL identifier (PostgreSQL and DuckDB alike): "a""b" for a"b."""
    return '"' + name.replace('"', '""') + '"'


def psycopg_params(url, application: str) -> dict[str, Any]:
    """psycopg connect() keywords from a parsed SQLAlchemy URL: host, port, user, password,
    dbname, every ?option (the last of repeated ones), a connect timeout and application_name
    unless the URL sets them."""
    params: dict[str, Any] = {
        k: v
        for k, v in url.translate_connect_args(username="user", database="dbname").items()
        if v is not None
    }
    params.update({k: v if isinstance(v, str) else v[-1] for k, v in url.query.items()})
    params.setdefault("connect_timeout", CONNECT_TIMEOUT)
    params.setdefault("application_name", application)
    return params


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
