"""Dagster asset factories: one asset graph per dataset spec."""

from assets.dataset import dataset_definitions

__all__ = ["dataset_definitions"]
