"""The services of docker-compose.yml, each run by its own compose command outside Docker
(tests/deploy/stack.py) against this machine's PostgreSQL: the healthchecks, the UI, the daemon
running schedules and sensors, a run whose records are read back from PostgreSQL, and the UI
behind the proxy's basic auth (Debian's nginx, tests/deploy/proxy.py)."""

from __future__ import annotations

import json
import subprocess
import urllib.request

import dagster as dg
import psycopg
import pytest
from dagster._core.scheduler.instigation import TickStatus
from dagster_graphql import DagsterGraphQLClient
from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage

from assets import names
from tdm.masking.keys import MaskingKey
from tdm.plan.loading import load_spec
from tests.deploy.conftest import LOCATIONS, Proxy, Stack
from tests.deploy.proxy import get, websocket_handshake
from tests.deploy.stack import wait_for
from tests.e2e.dagster_ui import free_port

pytestmark = [pytest.mark.deploy, pytest.mark.slow, pytest.mark.xdist_group("deploy")]

RUN_SECONDS = 300
DAEMONS = {"SCHEDULER", "SENSOR", "QUEUED_RUN_COORDINATOR"}
ASSETS = "{ assetNodes { assetKey { path } } }"
AUTOMATION = """{ repositoriesOrError { ... on RepositoryConnection { nodes {
  schedules { name scheduleState { status } } sensors { name sensorState { status } } } } } }"""


def test_code_server_answers_the_compose_healthcheck(stack: Stack) -> None:
    done = stack.local.healthcheck("code")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "gRPC connection successful" in done.stdout
    # The same check where nothing listens fails: it does check.
    check = stack.local.command("code", ["dagster", "api", "grpc-health-check"])
    refused = subprocess.run(
        [*check, "-p", str(free_port())],
        env=stack.local.environment("code"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode != 0, refused.stdout


def test_webserver_serves_the_code_location(stack: Stack) -> None:
    done = stack.local.healthcheck("webserver")
    assert done.returncode == 0, done.stdout + done.stderr
    with urllib.request.urlopen(f"{stack.url}/server_info", timeout=10) as answer:
        assert answer.status == 200
        assert "dagster_webserver_version" in json.load(answer)
    nodes = stack.graphql(LOCATIONS)["repositoriesOrError"]["nodes"]
    assert {n["location"]["name"] for n in nodes} == {"tdm"}  # deploy/workspace.yaml's name
    keys = {"/".join(n["assetKey"]["path"]) for n in stack.graphql(ASSETS)["assetNodes"]}
    assert {"shop/schema", "shop/generate/customers_batches", "shop/version/orders"} <= keys


def test_automation_is_on_and_the_daemon_runs_it_from_postgres(stack: Stack) -> None:
    repo = stack.graphql(AUTOMATION)["repositoriesOrError"]["nodes"][0]
    states = {s["name"]: s["sensorState"]["status"] for s in repo["sensors"]}
    states |= {s["name"]: s["scheduleState"]["status"] for s in repo["schedules"]}
    assert {"shop_schema_change", "schema_drift", "refresh_qa_shop"} <= set(states), states
    assert set(states.values()) == {"RUNNING"}, states  # TDM_AUTOMATION=on

    def ticked() -> list:
        with stack.instance() as instance:
            assert isinstance(instance.run_storage, PostgresRunStorage)
            if DAEMONS - set(instance.get_daemon_heartbeats()):
                return []
            states = [s for s in instance.all_instigator_state() if s.name == "shop_schema_change"]
            return [
                t for s in states for t in instance.get_ticks(s.instigator_origin_id, s.selector_id)
            ]

    ticks = wait_for("daemon heartbeats and a sensor tick", ticked, stack.processes, 120)
    assert {t.status for t in ticks} == {TickStatus.SKIPPED}, ticks  # the spec is unchanged
    reasons = [t.skip_reason or "" for t in ticks]
    assert any(r.startswith("watching shop.yaml") for r in reasons), reasons  # its first look
    done = stack.local.healthcheck("daemon")
    assert done.returncode == 0 and "Daemon live" in done.stdout, done.stdout + done.stderr


@pytest.mark.filterwarnings("ignore::DeprecationWarning:gql.*")  # inside dagster_graphql
def test_a_run_materialises_the_graph_into_postgres(stack: Stack) -> None:
    plan = load_spec(stack.spec)
    keys = plan.batch_keys()
    client = DagsterGraphQLClient("127.0.0.1", port_number=stack.local.ports["webserver"])
    run_id = client.submit_job_execution(  # queued; the daemon launches it on the code server
        names.generate_job("shop"),
        repository_location_name="tdm",
        tags={names.RANGE_START: keys[0], names.RANGE_END: keys[-1]},
    )

    def finished() -> dg.DagsterRun | None:
        with stack.instance() as instance:
            run = instance.get_run_by_id(run_id)
            return run if run and run.is_finished else None

    run = wait_for(f"the end of run {run_id}", finished, stack.processes, RUN_SECONDS)
    assert run.status == dg.DagsterRunStatus.SUCCESS, stack.failures(run_id) + stack.logs()

    with stack.instance() as instance:
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        [record] = instance.get_run_records(dg.RunsFilter(run_ids=[run_id]))
        assert record.dagster_run.status == dg.DagsterRunStatus.SUCCESS
        events = instance.get_records_for_run(
            run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION, limit=1000
        ).records
        sealed = instance.get_latest_materialization_event(
            names.key("shop", names.VERSION, "customers")
        )
    expected = {names.batches(plan, t) for t in plan.order}
    expected |= {names.key("shop", names.VERSION, t) for t in plan.order}
    assert {e.asset_key for e in events} == expected
    assert sealed is not None and sealed.run_id == run_id
    with stack.store() as store:  # in the minio service's bucket, not on tdm-data
        [manifest] = store.versions("shop")
        store.verify("shop", manifest["version"])  # every object against its checksum
    assert not (stack.local.data / "store").exists()
    assert sealed.asset_materialization.metadata[names.VERSION_META].value == manifest["version"]
    key = MaskingKey(stack.local.dotenv["TDM_MASKING_KEY"].encode())
    assert manifest["key_fingerprint"] == key.fingerprint  # the key from .env masked it

    with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={stack.local.db}") as conn:
        [(count,)] = conn.execute(
            "SELECT count(*) FROM event_logs WHERE run_id = %s "
            "AND dagster_event_type = 'ASSET_MATERIALIZATION'",
            (run_id,),
        ).fetchall()
    assert count == len(events)
    logs = stack.local.data / "dagster" / "logs"  # DAGSTER_COMPUTE_LOGS_DIR, on tdm-data
    assert any(p.is_file() for p in logs.rglob("*")), "no step logs on the tdm-data volume"


def test_the_proxy_asks_for_the_ui_login(proxy: Proxy) -> None:
    status, headers, _ = get(f"{proxy.url}/")
    assert status == 401 and headers["WWW-Authenticate"].startswith("Basic"), status
    assert get(f"{proxy.url}/", auth=(proxy.auth[0], proxy.auth[1] + "x"))[0] == 401
    assert get(f"{proxy.url}/", auth=("someone", proxy.auth[1]))[0] == 401
    query = json.dumps({"query": LOCATIONS}).encode()
    assert get(f"{proxy.url}/graphql", data=query)[0] == 401
    assert get(f"{proxy.url}/healthz")[0] == 200  # the healthcheck's page, and only it, is open


def test_the_proxy_serves_the_ui_with_the_login(proxy: Proxy, stack: Stack) -> None:
    status, _, body = get(f"{proxy.url}/", auth=proxy.auth)
    assert status == 200 and b'<title data-next-head="">Dagster</title>' in body, body[:300]
    info = get(f"{proxy.url}/server_info", auth=proxy.auth)
    assert info[0] == 200 and json.loads(info[2]) == json.loads(get(f"{stack.url}/server_info")[2])
    query = json.dumps({"query": LOCATIONS}).encode()
    status, _, body = get(f"{proxy.url}/graphql", auth=proxy.auth, data=query)
    assert status == 200, body[:300]
    nodes = json.loads(body)["data"]["repositoriesOrError"]["nodes"]
    assert [n["location"]["name"] for n in nodes] == ["tdm"]
    # The UI's live updates: a websocket, upgraded through the proxy.
    assert websocket_handshake(proxy.port, proxy.auth).startswith("HTTP/1.1 101"), stack.logs()
