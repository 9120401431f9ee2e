"""Argument types of the command line: each option is range-checked where it enters, so a bad
value gets argparse's one-line error (`tdm run: error: argument --seed: ...`, exit 2)."""

from __future__ import annotations

import argparse
import math

from tdm.core.errors import TdmError
from tdm.core.names import check_name

MAX_WORKERS = 256
MAX_SAMPLE = 1_000_000


def _number(text: str, kind: type, what: str, low: float, high: float) -> int | float:
    try:
        value = kind(text)
    except (ValueError, OverflowError):
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
    if not (isinstance(value, int) or math.isfinite(value)) or not low <= value <= high:
        raise argparse.ArgumentTypeError(f"{text} is out of range: {what} from {low:,} to {high:,}")
    return value


def seed(text: str) -> int:
    return int(_number(text, int, "a whole number", 0, 2**63 - 1))


def scale(text: str) -> float:
    what = "a finite number above 0, e.g. 0.1 or 10"
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text} is out of range: {what}")
    return value


def row_count(text: str) -> int:
    from tdm.spec.model import MAX_ROWS  # the spec model (numpy, pydantic) only when needed

    return int(_number(text, int, "a whole number of rows", 0, MAX_ROWS))


def batch_size(text: str) -> int:
    from tdm.spec.model import MAX_BATCH_SIZE

    return int(_number(text, int, "a whole number of rows", 1, MAX_BATCH_SIZE))


def workers(text: str) -> int:
    return int(_number(text, int, "a number of processes", 1, MAX_WORKERS))


def sample_size(text: str) -> int:
    return int(_number(text, int, "a number of rows", 1, MAX_SAMPLE))


def _name(kind: str):
    def parse(text: str) -> str:
        try:
            return check_name(kind, text)
        except TdmError as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    parse.__name__ = f"{kind} name"  # argparse names the type in some messages
    return parse


dataset_name = _name("dataset")
environment_name = _name("environment")


def version_name(text: str) -> str:
    return text if text == "latest" else _name("version")(text)
