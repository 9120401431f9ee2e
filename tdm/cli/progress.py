"""Progress on stderr: a bar (rich) when stderr is a terminal, JSON log lines in a pipe
(tdm.core.logs; TDM_LOG_FORMAT=text: plain lines), nothing with --quiet. A command's results go
to stdout, once: progress messages that are results (the engine says `loaded ...` and
`version ... sealed` as it goes) are kept for the command to print, never shown twice."""

from __future__ import annotations

import logging
import os
import re
import sys
from contextlib import suppress
from typing import Any

from tdm.cli.exits import tell
from tdm.core import logs

LOG = "tdm.progress"  # what the Dagster layer says as a run goes (assets.common.say)
# A batch written (tdm.produce.batches' debug line): "<table> <batch>: rows <start>..<stop> -> ..."
BATCH = re.compile(r"^(?P<table>\S+) \S+: rows (?P<start>[\d,]+)\.\.(?P<stop>[\d,]+)\b")


def terminal(stream: Any) -> bool:
    try:
        return stream.isatty() and os.environ.get("TERM", "") not in ("dumb", "unknown")
    except (AttributeError, ValueError):
        return False


class _Handler(logging.Handler):
    def __init__(self, progress: Progress):
        super().__init__(logging.INFO)
        self.progress = progress

    def emit(self, record: logging.LogRecord) -> None:
        with suppress(Exception):  # a progress line is never worth failing a command for
            self.progress.said(record.getMessage(), logs.fields(record))


class Progress:
    """Used as `with Progress(quiet, results=(...)) as progress:`; `results` are the prefixes of
    the messages that are the command's results (kept in `.results`)."""

    def __init__(self, quiet: bool, results: tuple[str, ...] = ()):
        self.quiet, self.prefixes = quiet, results
        self.results: list[str] = []
        self.bar: Any = None  # rich.progress.Progress on a terminal
        self.task: Any = None
        self.handler = _Handler(self)

    def __enter__(self) -> Progress:
        log = logging.getLogger(LOG)
        for old in [h for h in log.handlers if isinstance(h, _Handler)]:
            log.removeHandler(old)  # a command run in-process before this one
        self.saved = log.level, log.propagate
        log.addHandler(self.handler)
        log.setLevel(logging.INFO)
        log.propagate = False
        if not self.quiet and terminal(sys.stderr):
            self.bar = _bar()
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        log = logging.getLogger(LOG)
        log.removeHandler(self.handler)
        log.setLevel(self.saved[0])
        log.propagate = self.saved[1]
        if self.bar is not None:
            self.bar.stop()

    def said(self, message: str, fields: dict[str, Any] | None = None) -> None:
        if self.prefixes and message.startswith(self.prefixes):
            self.results.append(message)
        else:
            self.line(f"  {message}", LOG, **(fields or {}))

    def line(self, text: str, logger: str = "tdm.cli", **fields: Any) -> None:
        """A line that stays: above the bar, or on stderr (a JSON log line when stderr is not a
        terminal: tdm.core.logs)."""
        if self.quiet:
            return
        if self.bar is not None:
            self.bar.console.print(text, markup=False, highlight=False, soft_wrap=True)
        elif logs.json_wanted(sys.stderr):
            tell(logs.line(logger, text, **fields))
        else:
            tell(text)

    def step(self, description: str, total: float | None = None, announce: bool = True) -> None:
        """A new step: on the bar (rows, or without a total: a pulsing bar and the time), or
        announced by a line in a pipe."""
        if self.bar is None:
            if announce:
                self.line(f"  {description}")
            return
        if self.task is not None:
            self.bar.remove_task(self.task)
        self.task = self.bar.add_task(description, total=total)

    def update(self, completed: float) -> None:
        if self.bar is not None and self.task is not None:
            self.bar.update(self.task, completed=completed)


def _bar() -> Any:
    try:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            SpinnerColumn,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
        )
        from rich.progress import Progress as Bar
    except ImportError:  # lines, then
        return None
    console = Console(file=sys.stderr)
    if not console.is_terminal or console.is_dumb_terminal:
        return None
    return Bar(
        SpinnerColumn(),
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,  # the bar goes when the command is done; the lines above it stay
        redirect_stdout=False,
    )


class RunWatch:
    """Follows `tdm run`'s Dagster events on the bar: the rows of each batch written, then the
    sealing and validation of the version, then the load (pipelines.runner.Listener)."""

    def __init__(self, progress: Progress, plan: Any, env: str | None):
        self.progress, self.name, self.env = progress, plan.name, env
        self.planned: dict[str, int] = dict(plan.rows)
        self.done = dict.fromkeys(self.planned, 0)
        self.finished: set[str] = set()  # tables whose step is over (batches and their suite)
        self.loading = False
        total = sum(self.planned.values()) or 1
        progress.step(f"{self.name}: generating", total=total, announce=False)

    def __call__(self, job: str, entry: Any) -> None:
        if job == "load":
            if not self.loading:
                self.loading = True
                self.progress.step(f"{self.name}: loading into {self.env}")
            return
        event = entry.dagster_event
        if event is not None:
            if event.event_type_value == "STEP_START" and self.finished == set(self.planned):
                self.finished.add("")  # the step after every table's: the version's
                self.progress.step(f"{self.name}: checking and sealing the version")
            return
        message = entry.user_message or ""
        batch = BATCH.match(message)
        table = message.split(":", 1)[0]
        if batch and batch["table"] in self.done:
            rows = int(batch["stop"].replace(",", "")) - int(batch["start"].replace(",", ""))
            self.done[batch["table"]] += rows
        elif table in self.done and message.startswith(f"{table}: "):  # "<table>: <n> rows ..."
            self.done[table] = self.planned[table]
            self.finished.add(table)
        else:
            return
        self.progress.update(sum(min(n, self.planned[t]) for t, n in self.done.items()))
