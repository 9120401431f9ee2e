"""tdm.core.logs: JSON lines off a terminal, the human format on one, one handler per logger."""

from __future__ import annotations

import io
import json
import logging
import os
import sys

import pytest

from tdm.core import logs


@pytest.fixture
def fresh_loggers():
    """Put tdm's loggers back as they were after a test configured them."""
    saved = {
        name: (list(logging.getLogger(name).handlers), logging.getLogger(name).level)
        for name in logs.LOGGERS
    }
    yield
    for name, (handlers, level) in saved.items():
        log = logging.getLogger(name)
        log.handlers[:] = handlers
        log.setLevel(level)


def test_a_json_line_has_time_level_logger_message_and_the_fields():
    record = logging.makeLogRecord(
        {"name": "tdm.progress", "msg": "  %s: %d rows", "args": ("orders", 205)}
    )
    record.levelname, record.dataset, record.rows = "INFO", "retail", 205
    line = json.loads(logs.JsonFormatter().format(record))
    assert line["level"] == "info" and line["logger"] == "tdm.progress"
    assert line["message"] == "orders: 205 rows"
    assert line["dataset"] == "retail" and line["rows"] == 205
    assert line["time"].endswith("+00:00") and "T" in line["time"]
    assert set(line) == {"time", "level", "logger", "message", "dataset", "rows"}


def test_an_exception_is_named_never_its_traceback():
    try:
        raise ValueError("row 7 holds alice@example.com")
    except ValueError:
        record = logging.LogRecord("tdm.x", logging.ERROR, __file__, 1, "failed", (), None)
        record.exc_info = sys.exc_info()
    line = json.loads(logs.JsonFormatter().format(record))
    assert line["error"] == "ValueError" and "alice@" not in json.dumps(line)


def test_json_off_a_terminal_text_on_one_and_the_override(monkeypatch):
    monkeypatch.delenv(logs.FORMAT_VAR, raising=False)
    monkeypatch.setenv("TERM", "xterm")
    main, side = os.openpty()
    with os.fdopen(side, "w") as tty:
        assert logs.json_wanted(io.StringIO()) and not logs.json_wanted(tty)
        monkeypatch.setenv(logs.FORMAT_VAR, "json")
        assert logs.json_wanted(tty)
        monkeypatch.setenv(logs.FORMAT_VAR, "text")
        assert not logs.json_wanted(io.StringIO())
    os.close(main)


def test_configure_is_idempotent_and_follows_stderr(monkeypatch, capsys, fresh_loggers):
    monkeypatch.setenv(logs.FORMAT_VAR, "json")
    logs.configure()
    logs.configure()
    assert sum(isinstance(h, logs._Handler) for h in logging.getLogger("tdm").handlers) == 1
    logging.getLogger("tdm.metrics").warning("not pushed", extra={"dataset": "shop"})
    [line] = capsys.readouterr().err.splitlines()
    assert json.loads(line) | {"time": ""} == {
        "time": "",
        "level": "warning",
        "logger": "tdm.metrics",
        "message": "not pushed",
        "dataset": "shop",
    }
    monkeypatch.setenv(logs.FORMAT_VAR, "text")
    logs.configure()
    logging.getLogger("tdm.metrics").warning("not pushed", extra={"dataset": "shop"})
    assert capsys.readouterr().err == "not pushed\n"
