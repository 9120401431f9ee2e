"""How a command ends: one exit-code convention for every command, one message on stderr for a
failure (never a traceback for an expected condition), quiet when the reader of the output goes
away, and Ctrl-C stopping tdm's own process cleanly."""

from __future__ import annotations

import errno
import os
import signal
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

from tdm.core.errors import TdmError, clip

OK = 0
CHECK_FAILED = 1  # checks ran and found a problem in the data (validate, versions, scan, run)
USAGE = 2  # the arguments, the input, the environment or a target is wrong (argparse's too)
BUG = 70  # an unexpected exception (sysexits' EX_SOFTWARE)
INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)
PIPE = 141  # the reader of the output went away (128 + SIGPIPE), as for `| head`
WRITE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO}  # a full disk, a bad device

EPILOG = """\
exit codes (the same for every command):
  0    success
  1    a check failed: `validate` found failures, `versions` lists a BROKEN
       version, `scan` found PII without a mask, a `run` failed its checks
  2    a usage or input error: an unknown dataset, version or environment, a
       bad spec or option; the message names the file, the place and the fix
  70   an unexpected error; --debug (or TDM_DEBUG=1) shows its traceback
  130  interrupted (Ctrl-C); the message says what state was left
  141  the reader of the output went away (`tdm envs | head -1`): nothing said

Results go to stdout, once; progress and messages to stderr (a progress bar
when stderr is a terminal, JSON log lines otherwise, none with --quiet)."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, with what the interrupted command left behind (see tdm.cli.state)."""

    def __init__(self, state: str):
        super().__init__(state)
        self.state = state


def tell(text: str) -> None:
    """A line on stderr; a closed stderr is not an error worth a traceback."""
    try:  # one write: a Ctrl-C between the text and its newline would glue the next line on
        sys.stderr.write(text + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        _to_devnull(sys.stderr)


def _to_devnull(stream) -> None:
    """Point the stream's file descriptor at /dev/null, so that Python's last flush at exit has
    nowhere to fail (it would print `Exception ignored ... BrokenPipeError`)."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, stream.fileno())
        os.close(null)
    except (OSError, ValueError):
        pass


def _closed_pipe(e: OSError) -> bool:
    return isinstance(e, BrokenPipeError) or e.errno == errno.EPIPE


def finish(code: int) -> int:
    """Flush stdout while tdm can still handle a closed pipe or a full disk (not at interpreter
    exit, where Python would print `Exception ignored ...`)."""
    try:
        sys.stdout.flush()
    except OSError as e:
        _to_devnull(sys.stdout)
        if _closed_pipe(e):
            return PIPE
        tell(f"error: cannot write the output: {e.strerror or e}")
        return USAGE
    return code


def guarded(command: Callable[[], int], debug: bool) -> int:
    """Run a command; every way it can end becomes one exit code and at most one message."""
    try:
        return command()
    except SystemExit as e:  # argparse: --help (0), a usage error (2, its message printed)
        return e.code if isinstance(e.code, int) else (OK if e.code is None else USAGE)
    except Interrupted as e:
        tell(f"interrupted: {e.state}")
        return INTERRUPTED
    except KeyboardInterrupt:
        tell("interrupted")
        return INTERRUPTED
    except BrokenPipeError:
        _to_devnull(sys.stdout)
        return PIPE
    except TdmError as e:
        _trace(debug)
        tell(f"error: {e}")
        return getattr(e, "exit_code", USAGE)
    except MemoryError:
        tell("error: out of memory; lower the rows or the batch_size")
        return USAGE
    except OSError as e:
        if e.filename is None and e.errno not in WRITE_ERRORS:
            return _bug(e, debug)
        _trace(debug)  # a file tdm cannot read or write: permissions, a full disk, a directory
        if e.filename is None:  # the output itself, or a file written by a library
            _to_devnull(sys.stdout)
            tell(f"error: cannot write: {e.strerror or e}")
        else:
            tell(f"error: {e.filename}: {e.strerror or e}; check that path (TDM_HOME, TDM_STORE)")
        return USAGE
    except Exception as e:
        return _bug(e, debug)


def _trace(debug: bool) -> None:
    if debug:
        with suppress(OSError):
            traceback.print_exc()


def _bug(e: Exception, debug: bool) -> int:
    _trace(debug)
    tell(
        f"error: unexpected {type(e).__name__}: {clip(str(e))}\n"
        "  hint: this input reached a case tdm does not handle; run again with --debug (or "
        "TDM_DEBUG=1) for the traceback, and please report it"
    )
    return BUG


@contextmanager
def interrupts() -> Iterator[None]:
    """Ctrl-C raises KeyboardInterrupt in tdm's own process only. A terminal sends it to every
    process of the foreground group: worker processes forked from tdm ignore it (tdm stops
    them itself), so none of them prints a traceback. The previous handlers come back after."""
    main_pid = os.getpid()

    def on_signal(signum: int, frame: object) -> None:
        if os.getpid() == main_pid:
            raise KeyboardInterrupt

    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        signal.signal(signal.SIGINT, on_signal)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        for signum, handler in saved.items():  # Dagster points SIGTERM at the SIGINT handler
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
