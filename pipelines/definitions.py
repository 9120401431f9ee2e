"""The Dagster code location: one asset graph per spec in schemas/, plus shared resources."""

from pipelines.build import build_definitions
from tdm.core.logs import configure
from tdm.core.memory import keep_loaded, use_jemalloc

use_jemalloc()  # Arrow's pool (tdm.core.memory)
configure()  # tdm's log lines: JSON when stderr is not a terminal (the webserver, daemon, runs)
defs = build_definitions()
keep_loaded()  # the code location lives as long as its process (a code server, a run worker)
