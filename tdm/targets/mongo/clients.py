"""MongoDB clients for `MongoTarget`: the shared mongomock stand-in, URL redaction, and the
`_tdm_meta` document as `current()` reports it."""

from __future__ import annotations

import datetime as dt
import threading
from urllib.parse import urlsplit

from tdm.core.errors import TdmError
from tdm.core.urls import hide_password

_MOCK_CLIENTS: dict[str, object] = {}
_MOCK_LOCK = threading.Lock()


def mock_client(url: str):
    """The process-wide mongomock client of a `mongomock://<name>` URL (a test stand-in)."""
    try:
        import mongomock
    except ImportError:  # pragma: no cover - a dev dependency
        raise TdmError(
            f"{redact(url)} asks for the in-process MongoDB stand-in, which needs the mongomock "
            "package (pip install mongomock); use a mongodb:// URL for a real server"
        ) from None
    key = urlsplit(url).netloc or "default"
    with _MOCK_LOCK:
        if key not in _MOCK_CLIENTS:
            _MOCK_CLIENTS[key] = mongomock.MongoClient(tz_aware=True)
        return _MOCK_CLIENTS[key]


def redact(url: str) -> str:
    """The URL without its password, for messages and reports."""
    return hide_password(url)


def _current(doc: dict | None) -> dict | None:
    if not doc or (not doc.get("version") and not doc.get("swap")):
        return None

    def iso(v):
        if isinstance(v, dt.datetime):
            v = v if v.tzinfo else v.replace(tzinfo=dt.UTC)
            return v.isoformat(timespec="seconds")
        return v

    out = {
        "version": doc.get("version"),
        "loaded_at": iso(doc.get("loaded_at")),
        "collections": doc.get("collections", []),
        "tables": doc.get("tables", []),
        "embedded": doc.get("embedded", {}),
        "rows": doc.get("rows", {}),
    }
    if doc.get("swap"):
        swap = doc["swap"]
        out["swap_in_progress"] = {
            "version": swap.get("version"),
            "started_at": iso(swap.get("started_at")),
        }
    return out
