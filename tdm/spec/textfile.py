"""Reading a YAML file's text: a regular file, within the size limit, UTF-8; a missing file
names the nearest file that exists (`schemas/retial.yaml` -> `schemas/retail.yaml`)."""

from __future__ import annotations

import difflib
import stat
from pathlib import Path

from tdm.core.errors import Problem

MAX_BYTES = 16 * 1024 * 1024
_SUFFIXES = (".yaml", ".yml")
_LOOKED_AT = 1000  # entries of a directory compared with a missing name


class Refused(Exception):
    """A file (or its content) that cannot be read as a spec: one problem."""

    def __init__(self, message: str, hint: str | None = None, line: int | None = None):
        super().__init__(message)
        self.problem = Problem("", message, hint, line)


def read_text(path: Path) -> str:
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise Refused("this is a directory, not a YAML file", "pass the path of a .yaml file")
        if not stat.S_ISREG(info.st_mode):
            raise Refused("not a regular file", "pass the path of a .yaml file")
        if info.st_size > MAX_BYTES:
            raise too_large(info.st_size)
        with path.open("rb") as f:
            raw = f.read(MAX_BYTES + 1)  # the file may have grown since stat
    except FileNotFoundError:
        near = nearest_file(path)
        hint = f'did you mean "{near}"?' if near else "check the path; specs live under schemas/"
        raise Refused("file not found", hint) from None
    except PermissionError:
        raise Refused("permission denied", "check the file's permissions") from None
    except OSError as e:
        raise Refused(f"cannot read the file ({e.strerror or e})") from None
    if len(raw) > MAX_BYTES:
        raise too_large(len(raw))
    if b"\0" in raw:
        raise Refused("binary file, not YAML text", "pass a YAML text file")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise Refused(f"not UTF-8 text ({e.reason})", "save the file as UTF-8", line) from None


def too_large(size: int) -> Refused:
    return Refused(
        f"file too large ({size / 2**20:.1f} MiB; the limit is {MAX_BYTES // 2**20} MiB)",
        "check that this is the right file",
    )


def nearest_file(path: Path) -> str | None:
    """The YAML file beside `path` whose name is closest to its name (a misspelt directory is
    corrected too), written the way `path` was; None when none is close."""
    folder = path.parent
    if not _is_dir(folder):
        near = _closest(folder.name, _entries(folder.parent, dirs=True))
        if near is None or folder.name in ("", ".", ".."):
            return None
        folder = folder.parent / near
    names = _entries(folder, dirs=False)
    near = _closest(path.name, names)
    if near is None:  # `retail` for `retail.yaml`, `retail.yml` for `retail.yaml`
        near = next((n for n in names if Path(n).stem == Path(path.name).stem), None)
    return str(folder / near) if near is not None else None


def _closest(name: str, names: list[str]) -> str | None:
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    return close[0] if close else None


def _is_dir(folder: Path) -> bool:
    try:
        return folder.is_dir()
    except OSError:
        return False


def _entries(folder: Path, dirs: bool) -> list[str]:
    """Up to _LOOKED_AT directories, or YAML files, in `folder` (none when it cannot be read)."""
    out: list[str] = []
    try:
        for entry in folder.iterdir():
            if len(out) >= _LOOKED_AT:
                break
            try:
                if entry.is_dir() if dirs else entry.suffix in _SUFFIXES and entry.is_file():
                    out.append(entry.name)
            except OSError:
                continue
    except OSError:
        return []
    return sorted(out)
