"""The Dagster code location: one asset graph per spec in schemas/, plus shared resources."""

from pipelines.build import build_definitions
from tdm.core.logs import configure

configure()  # tdm's log lines: JSON when stderr is not a terminal (the webserver, daemon, runs)
defs = build_definitions()
