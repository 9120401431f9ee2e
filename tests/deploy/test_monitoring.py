"""The compose stack's monitoring, checked without Docker: the Pushgateway the tdm services push
to, Prometheus scraping it (its config read as YAML: promtool is not here), Grafana with a
provisioned datasource and dashboard whose queries use only metrics tdm pushes, and Grafana
refusing to start without its admin password."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tdm.core.metrics import HELP
from tests.conftest import ROOT
from tests.deploy.stack import compose_file

pytestmark = [pytest.mark.deploy, pytest.mark.xdist_group("deploy")]

MONITORING = ("pushgateway", "prometheus", "grafana")
TDM_SERVICES = ("code", "webserver", "daemon")
GRAFANA = ROOT / "deploy" / "grafana"


def mounts(service: dict) -> dict[str, Path]:
    """Bind mounts of a service: path in the container -> file or directory here."""
    out = {}
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith("./"):
            out[target] = ROOT / source
    return out


def test_monitoring_services_are_healthchecked_private_and_keep_state_in_volumes() -> None:
    compose = compose_file()
    services = compose["services"]
    for name in MONITORING:
        assert services[name]["healthcheck"]["test"], name
        for port in services[name].get("ports", []):
            assert port.startswith("127.0.0.1:"), (name, port)  # this host only
    assert "prometheus-data:/prometheus" in services["prometheus"]["volumes"]
    assert "grafana-data:/var/lib/grafana" in services["grafana"]["volumes"]
    assert {"prometheus-data", "grafana-data"} <= set(compose["volumes"])
    for name in TDM_SERVICES:
        env = services[name]["environment"]
        assert env["TDM_PROMETHEUS_PUSHGATEWAY"] == "http://pushgateway:9091", name
        assert "pushgateway" not in services[name].get("depends_on", {}), name  # never waits
    for name in MONITORING:
        for target, source in mounts(services[name]).items():
            assert source.exists(), f"{name} mounts {source} at {target}: missing"


def test_prometheus_scrapes_the_pushgateway_keeping_the_pushed_labels() -> None:
    [mounted] = mounts(compose_file()["services"]["prometheus"]).values()
    config = yaml.safe_load(mounted.read_text())
    assert set(config) <= {"global", "scrape_configs", "rule_files", "alerting"}
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    gateway = jobs["pushgateway"]
    assert gateway["honor_labels"] is True
    assert [t for c in gateway["static_configs"] for t in c["targets"]] == ["pushgateway:9091"]
    for job in jobs.values():
        assert set(job) <= {"job_name", "honor_labels", "static_configs", "scrape_interval"}
    assert re.fullmatch(r"\d+s", config["global"]["scrape_interval"])


def test_grafana_is_provisioned_with_the_datasource_and_the_dashboard() -> None:
    grafana = compose_file()["services"]["grafana"]
    provisioning = mounts(grafana)
    [datasource] = yaml.safe_load(
        (provisioning["/etc/grafana/provisioning"] / "datasources" / "prometheus.yml").read_text()
    )["datasources"]
    assert datasource["type"] == "prometheus" and datasource["url"] == "http://prometheus:9090"
    [provider] = yaml.safe_load(
        (provisioning["/etc/grafana/provisioning"] / "dashboards" / "tdm.yml").read_text()
    )["providers"]
    folder = provider["options"]["path"]
    assert provisioning[folder] == GRAFANA / "dashboards"
    dashboards = sorted((GRAFANA / "dashboards").glob("*.json"))
    assert dashboards, "no dashboard to provision"
    assert grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"] == (
        f"{folder}/tdm.json"
    )
    for path in dashboards:
        dashboard = json.loads(path.read_text())
        titles = {p["title"] for p in dashboard["panels"]}
        for wanted in ("Rows per second per dataset", "Rows per table", "Checks failed"):
            assert any(t.startswith(wanted) for t in titles), (path.name, wanted)
        assert "Load seconds" in titles
        for panel in dashboard["panels"]:
            assert panel["datasource"]["uid"] == datasource["uid"], panel["title"]
            for target in panel["targets"]:
                used = set(re.findall(r"\btdm_[a-z_]+", target["expr"]))
                assert used and used <= set(HELP), (panel["title"], used - set(HELP))
                assert target["expr"].count("(") == target["expr"].count(")")


def refusal(password: str) -> subprocess.CompletedProcess[str]:
    """Grafana's entrypoint from docker-compose.yml ($$ is compose's escaped $), run here."""
    command = [
        part.replace("$$", "$") for part in compose_file()["services"]["grafana"]["entrypoint"]
    ]
    return subprocess.run(
        command,
        env={"PATH": "/usr/bin:/bin", "GF_SECURITY_ADMIN_PASSWORD": password},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_grafana_refuses_to_start_without_its_admin_password() -> None:
    grafana = compose_file()["services"]["grafana"]
    assert grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD"] == "${GRAFANA_ADMIN_PASSWORD:-}"
    refused = refusal("")
    assert refused.returncode == 1 and "GRAFANA_ADMIN_PASSWORD is empty" in refused.stderr
    started = refusal("a-password-from-env")  # gets past the check, to Grafana's own /run.sh
    assert "GRAFANA_ADMIN_PASSWORD is empty" not in started.stderr
    assert "/run.sh" in started.stderr  # not in this machine: only the image has it
