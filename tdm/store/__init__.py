"""The version store: version ids, immutable Parquet versions with checked manifests, diffs."""
