"""A throwaway PostgreSQL database per test, on the server this machine runs."""

from __future__ import annotations

import socket
import struct
import threading
import uuid

import psycopg
import pytest

ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=test"


def _reachable() -> bool:
    try:
        psycopg.connect(ADMIN, connect_timeout=3).close()
        return True
    except psycopg.Error:
        return False


@pytest.fixture
def postgres_db():
    """A factory: postgres_db(sql) creates a fresh database, runs `sql`, returns its URL."""
    if not _reachable():
        pytest.skip(
            "PostgreSQL on 127.0.0.1:5432 is not reachable (make test needs it; .ci/run starts it)"
        )
    made = []

    def make(sql: str = "") -> str:
        name = f"tdm_it_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        if sql:
            with psycopg.connect(f"host=127.0.0.1 port=5432 user=postgres dbname={name}") as c:
                c.execute(sql)
        return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"

    yield make
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        for name in made:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def password_rejecting_server():
    """A PostgreSQL wire-protocol stand-in that asks for a password and rejects it, as a server
    with password auth does (the real server here trusts every local login)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    srv.settimeout(0.1)
    stop = threading.Event()
    seen: list[bytes] = []

    def recv(conn, n):
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                raise ConnectionError
            data += chunk
        return data

    def serve():
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(5)
            with conn:
                try:
                    while True:  # SSL / GSS requests are declined, then comes the startup
                        (length,) = struct.unpack("!I", recv(conn, 4))
                        body = recv(conn, length - 4)
                        if struct.unpack("!I", body[:4])[0] in (80877103, 80877104):
                            conn.sendall(b"N")
                            continue
                        break
                    conn.sendall(b"R" + struct.pack("!II", 8, 3))  # cleartext password, please
                    kind, length = recv(conn, 1), struct.unpack("!I", recv(conn, 4))[0]
                    seen.append(kind + recv(conn, length - 4))
                    fields = (
                        b"".join(
                            code + text.encode() + b"\0"
                            for code, text in [
                                (b"S", "FATAL"),
                                (b"V", "FATAL"),
                                (b"C", "28P01"),
                                (b"M", 'password authentication failed for user "alice"'),
                            ]
                        )
                        + b"\0"
                    )
                    conn.sendall(b"E" + struct.pack("!I", len(fields) + 4) + fields)
                except (ConnectionError, OSError):
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield srv.getsockname()[1], seen
    stop.set()
    thread.join(5)
    srv.close()
