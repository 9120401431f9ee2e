"""What an interrupted command left behind, said in one line (`interrupted: ...`, exit 130).

The facts it rests on: a version is sealed atomically (its manifest is written last, in one
step) and becomes `latest` only once it passed validation; batch files of a version not yet
sealed are not a version (nothing lists or loads them; the next run writes them again); a load
is all or nothing (the target keeps the version it held until the new one is swapped in);
`tdm generate` moves its files into place only when every table is done.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from tdm.cli.exits import Interrupted
from tdm.core.errors import clip

if TYPE_CHECKING:
    from tdm.environments.config import Environment
    from tdm.store.versions import VersionStore


@contextmanager
def on_interrupt(describe: Callable[[], str]) -> Iterator[None]:
    """Ctrl-C inside the block becomes Interrupted, carrying what `describe` finds."""
    try:
        yield
    except Interrupted:
        raise
    except KeyboardInterrupt:
        try:
            state = describe()
        except KeyboardInterrupt:
            state = "stopped again before tdm could look at what was left"
        except Exception as e:
            state = f"what was left could not be read ({clip(str(e).splitlines()[0], 200)})"
        raise Interrupted(state) from None


def sealed(store: VersionStore, dataset: str) -> set[str]:
    """The versions of `dataset` with a manifest (damaged ones too)."""
    found, broken = store.listing(dataset)
    return {m["version"] for m in found} | set(broken)


UNKNOWN = "?"  # what an environment held could not be read before the command


def held(env: Environment, dataset: str) -> tuple[str | None, str]:
    """The version of `dataset` the environment holds now, and a note on a cut swap."""
    current = env.target(dataset).current(dataset) or {}
    swapping = current.get("swap_in_progress")  # MongoDB: the next load completes it
    if not swapping:
        return current.get("version"), ""
    cut = f" (a swap to {swapping.get('version')} was cut: the next load completes it)"
    return current.get("version"), cut


def held_before(env: Environment | None, dataset: str) -> str | None:
    """What the environment holds before the command changes it (UNKNOWN if unreadable)."""
    if env is None:
        return None
    try:
        return held(env, dataset)[0]
    except Exception:  # the command itself says what is wrong with the target, if anything
        return UNKNOWN


def holding(env: Environment, dataset: str, before: str | None) -> tuple[str | None, str]:
    """The version held now, and how to say it beside what was held before."""
    now, note = held(env, dataset)
    what = f"{dataset} {now}" if now else f"no {dataset}"
    if now == before:
        return now, f"{env.name} still holds {what}{note}"
    if before == UNKNOWN:
        return now, f"{env.name} holds {what}{note}"
    return now, f"{env.name} now holds {what}: the load had completed{note}"


def run_state(
    store: VersionStore,
    dataset: str,
    before: set[str],
    env: Environment | None,
    env_before: str | None,
) -> str:
    from tdm.validation.results import load_report

    new = sorted(sealed(store, dataset) - before)
    if not new:
        said = (
            f"no new version of {dataset} was sealed (batch files written so far are not a "
            "version; the next run writes them again)"
        )
    else:
        report = load_report(store, dataset, new[0])
        verdict = (
            "not validated yet"
            if report is None
            else ("passed validation" if report["success"] else "FAILED validation")
        )
        said = f"version {new[0]} of {dataset} was sealed and {verdict}"
    return said if env is None else f"{said}; {holding(env, dataset, env_before)[1]}"


def load_state(env: Environment, dataset: str, version: str, before: str | None) -> str:
    now, said = holding(env, dataset, before)
    if now == version:
        return said
    return f"{said}; loads are all or nothing: load {version} again when ready"


def files(out: Path, tables: list[str]) -> dict[str, tuple[int, int]]:
    """The output file of each table present in `out`: its size and modification time."""
    found = {}
    for table in tables:
        path = out / f"{table}.parquet"
        if path.is_file():
            st = path.stat()
            found[table] = (st.st_size, st.st_mtime_ns)
    return found


def generate_state(out: Path, tables: list[str], before: dict[str, tuple[int, int]]) -> str:
    now = files(out, tables)
    changed = [t for t in tables if now.get(t) != before.get(t)]
    if not changed:
        return f"nothing was written to {out} (tables are moved in only when all are done)"
    return (
        f"{len(changed)} of {len(tables)} table files in {out} were replaced before the "
        f"interrupt ({', '.join(changed)}); run it again for a consistent set"
    )
