"""Connections to PostgreSQL environments, and driver errors as readable TdmErrors.

Errors are TdmErrors naming the environment by its URL with the password hidden; the password
never appears in a message.

Permissions: the environment's user needs CREATE on the database (staging schemas), and must own
(or be able to create) the target schema and the dataset's tables.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from tdm.core.databases import connect_hint, one_line, psycopg_params
from tdm.core.errors import TdmError
from tdm.core.urls import hide_password, without_secret

# A server on this machine shares its cores with the run that loads it, and a load builds its
# tables side by side already: the server's parallel workers (index builds, the foreign keys'
# anti-joins) would only compete with both for the same cores. Without them the 1M-row example
# took 0.2 s less of the server's CPU (2.34-2.53 -> 2.16-2.25 s on 2 cores). A remote server
# keeps its own settings, and so does a URL that sets `options`.
SERIAL = "-c max_parallel_maintenance_workers=0 -c max_parallel_workers_per_gather=0"
LOCAL_HOSTS = ("", "localhost", "127.0.0.1", "::1")


class _Connections:
    """Connections of a PostgreSQL target and the errors of what it does with them."""

    def _parse(self, url: str) -> URL:
        """The environment URL checked and parsed; sets the connection parameters."""
        try:
            parsed = make_url(url)
        except (ArgumentError, ValueError):
            raise TdmError(
                f"the environment URL is not a database URL: {hide_password(url)}; write e.g. "
                "postgresql://user:${PASSWORD}@host:5432/database"
            ) from None
        if parsed.get_backend_name() not in ("postgresql", "postgres"):
            raise TdmError(f"not a PostgreSQL URL: {hide_password(url)}")
        self._params = psycopg_params(parsed, "tdm-load")
        host = str(self._params.get("host", ""))
        if (host in LOCAL_HOSTS or host.startswith("/")) and "options" not in self._params:
            self._params["options"] = SERIAL
        return parsed

    @property
    def display_url(self) -> str:
        return self._safe(self.url)

    def _safe(self, text: str) -> str:
        return without_secret(text, self.url)

    def connect(self, doing: str = "") -> psycopg.Connection:
        """A new autocommit connection; a TdmError naming host and database when it fails."""
        try:
            return psycopg.connect(**self._params, autocommit=True)
        except psycopg.Error as e:
            msg = self._safe(one_line(str(e)))
            hint = connect_hint(msg, "the environment URL")
            where = f"{doing}: " if doing else ""
            raise TdmError(
                f"{where}cannot connect to the environment database {self.display_url}: "
                f"{msg} ({hint})"
            ) from None

    @contextmanager
    def _failing(self, head: str, state: dict | None = None) -> Iterator[None]:
        """Driver errors -> one TdmError: what was done, where, why, and what is left."""
        try:
            yield
        except TdmError as e:
            raise TdmError(self._safe(f"{head}: {e}{_aftermath(state)}")) from None
        except psycopg.Error as e:
            raise TdmError(self._safe(f"{head}: {describe(e)}{_aftermath(state)}")) from None


def _aftermath(state: dict | None) -> str:
    if state is None:
        return ""
    if state.get("swapped"):
        return ""
    previous = state.get("previous")
    if previous:
        return f" (nothing changed: the previous version {previous} is intact)"
    return " (nothing changed in the environment)"


def describe(e: psycopg.Error) -> str:
    """A driver error as one line: the message, its detail, and a hint for the usual causes."""
    diag = getattr(e, "diag", None)
    message = one_line((diag.message_primary if diag else None) or str(e))
    detail = one_line(diag.message_detail) if diag and diag.message_detail else ""
    state = getattr(e, "sqlstate", None) or ""
    if len(detail) > 300:
        detail = detail[:300] + "..."
    text = message + (f" ({detail})" if detail else "")
    if (isinstance(e, psycopg.OperationalError) and not state) or state.startswith("08"):
        return f"lost the connection to the server: {text}"
    if state == "42501":
        return (
            f"{text} (the environment's user needs CREATE on the database for staging schemas, "
            "and must own the target schema and the dataset's tables)"
        )
    if state == "2BP01":
        return f"{text} (drop the objects that depend on the dataset's tables, then load again)"
    if state == "23505":
        return f"a unique key is violated: {text}"
    if state == "23503":
        return f"a foreign key is violated: {text}"
    if state in ("23514", "23502"):
        return f"a value breaks a constraint: {text}"
    if state.startswith("22"):
        return f"a value does not fit its column: {text}"
    return text
