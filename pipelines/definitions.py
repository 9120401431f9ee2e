"""The Dagster code location: one asset graph per spec in schemas/, plus shared resources."""

from pipelines.build import build_definitions

defs = build_definitions()
