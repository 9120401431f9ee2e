"""Dagster asset factories: one asset graph per dataset spec."""
