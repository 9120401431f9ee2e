"""One compose stack per module, outside Docker: its own PostgreSQL database for Dagster's
storage, then the services of docker-compose.yml in compose's order (code; once healthy, the
webserver and the daemon). Everything stops, and the database is dropped, afterwards."""

from __future__ import annotations

import secrets
import shutil
import textwrap
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import psycopg
import pytest

from tdm.store.versions import VersionStore
from tests.conftest import ROOT
from tests.deploy import proxy as nginx
from tests.deploy.stack import ADMIN, Local, Process, running, service, wait_for
from tests.e2e.dagster_ui import free_port, graphql
from tests.integration.s3 import emulator

STARTUP_SECONDS = 240  # loading the code location on two busy cores
# The smallest dataset with a foreign key and a mask, so the compose masking key is used.
SHOP = """
dataset: shop
seed: 3
batch_size: 50
reference_date: 2026-01-01
tables:
  customers:
    rows: 120
    primary_key: id
    columns:
      id: {type: int, generator: sequence, mask: pseudonymize}
      age: {type: int, generator: integer, min: 18, max: 90}
  orders:
    rows: {per: customers, distribution: uniform, min: 0, max: 4}
    primary_key: id
    columns:
      id: {type: int, generator: sequence}
      customer_id: {type: int, references: customers}
"""
LOCATIONS = (
    "{ repositoriesOrError { ... on RepositoryConnection { nodes { location { name } } } } }"
)


@dataclass
class Stack:
    local: Local
    code: Process
    webserver: Process
    daemon: Process
    spec: Path

    @property
    def processes(self) -> list[Process]:
        return [self.code, self.webserver, self.daemon]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.local.ports['webserver']}"

    def logs(self) -> str:
        return "\n".join(p.tail() for p in self.processes)

    def graphql(self, query: str, url: str | None = None, **variables: Any) -> dict[str, Any]:
        return graphql(url or self.url, query, **variables)

    @contextmanager
    def instance(self) -> Iterator[dg.DagsterInstance]:
        """The Dagster instance of the stack's DAGSTER_HOME (deploy/dagster.yaml, so reading
        PostgreSQL), with the environment the services have."""
        env = self.local.environment("daemon")
        with pytest.MonkeyPatch.context() as patch:
            for key, value in env.items():
                if key.startswith("DAGSTER_"):
                    patch.setenv(key, value)
            with dg.DagsterInstance.from_config(str(self.local.dagster_home)) as instance:
                yield instance

    def failures(self, run_id: str) -> str:
        """What the run's failed steps and the run itself said."""
        kinds = (dg.DagsterEventType.STEP_FAILURE, dg.DagsterEventType.RUN_FAILURE)
        with self.instance() as instance:
            entries = instance.all_logs(run_id, of_type=set(kinds))
        return "\n".join(f"{e.step_key}: {e.message}" for e in entries) + "\n"

    @contextmanager
    def store(self) -> Iterator[VersionStore]:
        """The version store the services use (TDM_STORE: the minio service's bucket), read
        with their S3 variables."""
        env = self.local.environment("daemon")
        with pytest.MonkeyPatch.context() as patch:
            for key in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE"):
                patch.delenv(key, raising=False)
            for key, value in env.items():
                if key.startswith(("AWS_", "TDM_S3_")):
                    patch.setenv(key, value)
            yield VersionStore(env["TDM_STORE"])


@contextmanager
def database() -> Iterator[str]:
    name = f"tdm_deploy_{secrets.token_hex(5)}"
    try:
        with psycopg.connect(ADMIN, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as e:
        pytest.fail(f"PostgreSQL on 127.0.0.1:5432 is needed (.ci/run starts it): {e}")
    try:
        yield name
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def store_url() -> str:
    """TDM_STORE of the tdm services: the version store in the stack's MinIO."""
    return service("code")["environment"]["TDM_STORE"]


def make_bucket(endpoint: str) -> None:
    import boto3  # moto's own dependency: an S3 client independent of the store's pyarrow

    bucket = store_url().removeprefix("s3://").split("/")[0]
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        **{k.lower(): v for k, v in emulator.CREDENTIALS.items()},
    )
    client.create_bucket(Bucket=bucket)


def start(local: Local, name: str, stack: ExitStack) -> Process:
    args = local.command(name, service(name)["command"])
    log = local.root / f"{name}.log"
    return stack.enter_context(running(args, local.environment(name), local.data, log))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("stack")
    schemas = root / "schemas"
    schemas.mkdir()
    spec = schemas / "shop.yaml"
    spec.write_text(textwrap.dedent(SHOP).lstrip())
    shutil.copy(ROOT / "schemas" / "environments.yaml", schemas)  # as compose mounts schemas/
    dotenv = {  # what .env.example asks for, filled in
        "TDM_MASKING_KEY": secrets.token_hex(32),
        "DAGSTER_PG_PASSWORD": secrets.token_hex(8),  # the local server trusts every login
        "TARGET_PG_PASSWORD": secrets.token_hex(8),
        "TDM_UI_USER": "tester",
        "TDM_UI_PASSWORD": secrets.token_urlsafe(18),
        "MINIO_ROOT_PASSWORD": secrets.token_urlsafe(12),
    }
    with database() as db, ExitStack() as processes:
        s3 = processes.enter_context(emulator.running(root / "moto.log"))
        make_bucket(s3)  # what the minio-bucket service does
        local = Local(
            root=root,
            db=db,
            dotenv=dotenv,
            ports={"code": free_port(), "webserver": free_port()},
            s3_endpoint=s3,
            extra_env={"TDM_SCHEMAS": str(schemas)},  # the small spec, not the retail example
        )
        local.prepare()
        code = start(local, "code", processes)
        wait_for(
            "healthy code server",
            lambda: local.healthcheck("code").returncode == 0,
            [code],
            STARTUP_SECONDS,
        )
        webserver = start(local, "webserver", processes)
        daemon = start(local, "daemon", processes)
        built = Stack(local, code, webserver, daemon, spec)
        wait_for(
            "code location in the webserver",
            lambda: built.graphql(LOCATIONS)["repositoriesOrError"]["nodes"],
            built.processes,
            STARTUP_SECONDS,
        )
        yield built


@dataclass
class Proxy:
    port: int
    process: Process
    auth: tuple[str, str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture(scope="module")
def proxy(stack: Stack) -> Iterator[Proxy]:
    """The compose `proxy` service (Debian's nginx) in front of the stack's webserver."""
    missing = [p for p in (nginx.NGINX, Path("/usr/bin/openssl")) if not p.exists()]
    if missing:
        pytest.skip(f"{missing[0]} is missing: `apt-get install -y nginx openssl` (.ci/run does)")
    root = stack.local.root / "proxy"
    root.mkdir()
    port = free_port()
    local = stack.local
    env = nginx.environment(root, port, local.ports["webserver"], local.dotenv)
    with running(nginx.command(root), env, root, root / "nginx.log") as process:
        wait_for(
            "proxy",
            lambda: nginx.get(f"http://127.0.0.1:{port}/healthz")[0] == 200,
            [process, stack.webserver],
            60,
        )
        yield Proxy(port, process, (local.dotenv["TDM_UI_USER"], local.dotenv["TDM_UI_PASSWORD"]))
