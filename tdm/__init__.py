"""tdm: the test data management engine. Pure functions over pyarrow tables; no Dagster import."""

__version__ = "0.1.0"
