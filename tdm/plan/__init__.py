"""Compiling a spec into a Plan: semantic checks, references, table and column order, row
counts, capacity; loading a plan from a spec file or from a version's manifest."""

from tdm.plan import computed  # noqa: F401  (registers the `expression` generator)
