"""One production path: batch -> generate or extract -> mask -> check -> write, used by the CLI,
the engine-only `tdm generate` and the batch assets."""
