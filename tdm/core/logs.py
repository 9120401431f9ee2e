"""tdm's logs, in one place: one JSON object per line when stderr is not a terminal (a container,
CI, a pipe: what log collectors read), the human format on a terminal.

TDM_LOG_FORMAT=json|text overrides the choice. A JSON line has `time` (UTC, ISO 8601), `level`,
`logger`, `message` and the structured fields the caller passed as `extra=` (dataset, table,
rows, ...). Messages are what tdm says: counts, names, versions, never a value of a row, and
never a key or a password (the callers guarantee it; tests/unit/core/test_logs.py checks it).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sys
from typing import Any, TextIO

FORMAT_VAR = "TDM_LOG_FORMAT"
LOGGERS = ("tdm", "pipelines", "assets", "resources")  # the project's own loggers
# LogRecord's own attributes: anything else on a record came from `extra=`.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def terminal(stream: Any) -> bool:
    try:
        return stream.isatty() and os.environ.get("TERM", "") not in ("dumb", "unknown")
    except (AttributeError, ValueError):
        return False


def json_wanted(stream: Any = None) -> bool:
    """JSON unless `stream` (default stderr) is a terminal; TDM_LOG_FORMAT=json|text decides."""
    chosen = os.environ.get(FORMAT_VAR, "").strip().lower()
    if chosen in ("json", "text"):
        return chosen == "json"
    return not terminal(sys.stderr if stream is None else stream)


def fields(record: logging.LogRecord) -> dict[str, Any]:
    """The structured fields a caller attached to the record (`extra=`)."""
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage().strip(),
            **fields(record),
        }
        if record.exc_info and record.exc_info[0] is not None:
            line["error"] = record.exc_info[0].__name__  # its type: a traceback may hold values
        return json.dumps(line, default=str, ensure_ascii=False)


def line(logger: str, message: str, level: int = logging.INFO, **extra: Any) -> str:
    """One JSON log line, for text a command writes itself (the CLI's progress lines)."""
    record = logging.makeLogRecord(
        {"name": logger, "msg": message, "levelno": level, "levelname": logging.getLevelName(level)}
    )
    record.__dict__.update(extra)
    return JsonFormatter().format(record)


class _Handler(logging.StreamHandler):
    """Writes to the stderr of the moment (a test's capture, a redirected stream)."""

    def __init__(self) -> None:
        super().__init__()

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def configure(level: int = logging.INFO) -> None:
    """One handler on each of tdm's loggers: JSON lines, or `message` alone on a terminal (as
    tdm always printed). Idempotent: calling it again only re-reads TDM_LOG_FORMAT."""
    formatter = JsonFormatter() if json_wanted() else logging.Formatter("%(message)s")
    for name in LOGGERS:
        log = logging.getLogger(name)
        handler = next((h for h in log.handlers if isinstance(h, _Handler)), None)
        if handler is None:
            handler = _Handler()
            log.addHandler(handler)
        handler.setFormatter(formatter)
        log.setLevel(level)
        log.propagate = False  # not twice, through a root handler someone else installed
