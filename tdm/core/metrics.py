"""Run metrics pushed to a Prometheus Pushgateway when TDM_PROMETHEUS_PUSHGATEWAY names one.

Each push is one group of the job `tdm`: a dataset and a stage (`generate` per table, `version`,
`load` per environment), so pushes of different tables, stages and environments never replace
each other, and the next run of the same group replaces the last one's figures. Metric names
start with `tdm_`; docs/deploy.md lists them. A push that fails is a warning, never an error: a
run's data does not depend on its monitoring. prometheus_client is imported only to push.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit, urlunsplit

from tdm.core.urls import hide_password, password_of, without_secret

ENV_VAR = "TDM_PROMETHEUS_PUSHGATEWAY"
JOB = "tdm"
TIMEOUT = 5.0  # seconds; a slow gateway delays a step by at most this much per push
# Every metric tdm pushes, with its help text (the Pushgateway wants one help per name).
HELP = {
    "tdm_rows_total": "Rows produced (stage generate/extract), sealed (version) or loaded (load)",
    "tdm_rows_per_second": "Rows per second of the stage",
    "tdm_bytes": "Bytes of Parquet written (generate) or sealed (version)",
    "tdm_stage_seconds": "Seconds spent per phase: generate, extract, mask, write, validate",
    "tdm_checks_passed": "Checks of the version that passed",
    "tdm_checks_failed": "Checks of the version that failed",
    "tdm_validation_seconds": "Seconds validating the sealed version",
    "tdm_load_seconds": "Seconds loading the version into the environment",
    "tdm_materialized_timestamp_seconds": "Unix time of the materialisation that pushed these",
}
log = logging.getLogger("tdm.metrics")


@dataclass(frozen=True)
class Sample:
    name: str  # a key of HELP
    value: float
    labels: dict[str, str] = field(default_factory=dict)  # beyond the group's


def gateway() -> str | None:
    """The Pushgateway URL ($TDM_PROMETHEUS_PUSHGATEWAY), or None: no push."""
    return os.environ.get(ENV_VAR, "").strip() or None


def push(
    group: dict[str, str],
    samples: list[Sample],
    url: str | None = None,
    warn: Callable[[str], None] | None = None,
) -> bool:
    """Replace the group's metrics on the Pushgateway (`url`, default $TDM_PROMETHEUS_PUSHGATEWAY)
    with `samples`; False (after a warning through `warn`, default the tdm.metrics logger) when
    the push failed, True when it succeeded or there is no gateway to push to."""
    url = url or gateway()
    if url is None or not samples:
        return True
    warn = warn or log.warning
    try:
        _push(url, group, samples)
    except Exception as e:  # any failure of monitoring leaves the run as it is
        shown = hide_password(url)
        why = without_secret(f"{type(e).__name__}: {e}", url) if password_of(url) else str(e)
        warn(f"metrics not pushed to the Pushgateway {shown} ({why}); the run goes on")
        return False
    return True


def _push(url: str, group: dict[str, str], samples: list[Sample]) -> None:
    from prometheus_client import CollectorRegistry, Gauge, push_to_gateway
    from prometheus_client.exposition import basic_auth_handler, default_handler

    registry = CollectorRegistry()
    gauges: dict[str, Gauge] = {}
    for sample in samples:
        names = sorted(sample.labels)
        gauge = gauges.get(sample.name)
        if gauge is None:
            gauge = gauges[sample.name] = Gauge(
                sample.name, HELP[sample.name], names, registry=registry
            )
        (gauge.labels(**sample.labels) if names else gauge).set(sample.value)
    handler, target, parts = default_handler, url, urlsplit(url)
    if parts.username is not None:  # http://user:password@host: basic auth, the URL without them
        user, secret = unquote(parts.username), unquote(parts.password or "")
        target = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))

        def handler(url, method, timeout, headers, data):  # type: ignore[no-redef]
            return basic_auth_handler(url, method, timeout, headers, data, user, secret)

    push_to_gateway(
        target, job=JOB, registry=registry, grouping_key=group, timeout=TIMEOUT, handler=handler
    )
