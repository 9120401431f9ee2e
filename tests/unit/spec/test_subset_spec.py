"""The `subset:` block: its shapes, and the problems naming what it gets wrong, with lines."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tdm.core.errors import SpecError
from tdm.plan.loading import load_spec
from tdm.spec.model import DatasetSpec
from tdm.spec.subset import Relationship, SubsetSpec

SPEC = """
dataset: shop
source: {url: "sqlite:///nowhere.sqlite"}
tables:
  customers:
    source: true
    primary_key: id
    columns:
      id: {type: int}
  orders:
    source: SOURCE
    primary_key: id
    columns:
      id: {type: int}
      customer_ref: {type: int}
subset:
  roots:
    - {table: ordres, where: "id < 10"}
  children: {max_per_parent: 2, skip: [customers]}
  relationships:
    - {columns: orders.customer_rf, references: customers.id}
"""


def test_shapes_of_relationships_and_children():
    rel = Relationship.model_validate({"columns": "a(x, y)", "references": "b(p, q)"})
    assert (rel.table, rel.columns, rel.parent, rel.parent_columns) == ("a", ["x", "y"], "b",
                                                                        ["p", "q"])  # fmt: skip
    with pytest.raises(ValidationError, match="give as many on each side"):
        Relationship.model_validate({"columns": "a(x, y)", "references": "b.p"})
    with pytest.raises(ValidationError, match="cannot read 'a'"):
        Relationship.model_validate({"columns": "a", "references": "b.p"})
    assert SubsetSpec(roots=[{"table": "a"}], children=True).child_rules.max_per_parent is None
    assert SubsetSpec(roots=[{"table": "a"}]).child_rules is None
    with pytest.raises(ValidationError):
        SubsetSpec(roots=[{"table": "a", "percent": 0}])
    with pytest.raises(ValidationError):
        SubsetSpec(roots=[])
    with pytest.raises(ValidationError, match="children is true, false or"):
        SubsetSpec(roots=[{"table": "a"}], children="maybe")


def test_a_subset_is_part_of_the_dataset_spec():
    spec = DatasetSpec.model_validate(
        {"dataset": "x", "source": {"url": "sqlite:///a"}, "subset": {"roots": [{"table": "t"}]},
         "tables": {"t": {"source": True, "columns": {"id": {"type": "int"}}}}}
    )  # fmt: skip
    assert spec.subset.roots[0].table == "t" and spec.subset.roots[0].where is None


def test_every_mistake_is_named_with_its_line_before_the_source_is_read(write_spec):
    path = write_spec(SPEC.replace("SOURCE", '{where: "id > 0"}'))
    with pytest.raises(SpecError) as err:
        load_spec(path)
    found = {p.path: p for p in err.value.problems}
    lines = path.read_text().splitlines()
    root = found["subset.roots[0].table"]
    assert "'ordres' is not an extracted table" in root.message and '"orders"' in root.hint
    assert lines[root.line - 1].strip().startswith("- {table: ordres")
    assert "has no column 'customer_rf'" in found["subset.relationships[0].columns"].message
    assert "write it as a root" in found["tables.orders.source.where"].hint
    assert "nowhere.sqlite" not in str(err.value)  # the source was never opened
