"""Validation derived from the spec: the suite, its GX and Arrow backends, keys and foreign keys
across batches, privacy checks, and the results stored beside a version."""
