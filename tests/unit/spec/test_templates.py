"""`use:`: library templates merged into a spec when it is read (tdm.spec.templates) -- merge
rules, the user's templates beside the spec, errors naming both the spec and the template, and
version ids that follow a used template's content."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tdm.core.errors import SpecError
from tdm.core.files import file_sha256
from tdm.plan.loading import load_spec, parse_spec
from tdm.spec.digest import spec_digest
from tdm.spec.library import LIBRARY, library
from tdm.spec.templates import merge, templates_used
from tdm.store.ids import spec_hash

HEAD = "dataset: shop\nseed: 1\nreference_date: 2026-01-01\ntables:\n"


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """A project directory (the cwd) with schemas/ and schemas/templates/."""
    (tmp_path / "schemas" / "templates").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def spec(project: Path, tables: str) -> Path:
    body = textwrap.indent(textwrap.dedent(tables).strip("\n") + "\n", "  ")
    return write(project / "schemas" / "shop.yaml", HEAD + body)


def problems(path: Path) -> str:
    with pytest.raises(SpecError) as err:
        load_spec(path)
    return str(err.value)


def test_merge_spec_wins_null_removes_lists_replace():
    base = {"a": {"x": 1, "y": 2}, "b": [1, 2], "c": 3}
    assert merge(base, {"a": {"y": 9, "z": 3}, "b": [5], "c": None}) == {
        "a": {"x": 1, "y": 9, "z": 3},
        "b": [5],
    }
    assert merge(base, {"a": 7}) == {"a": 7, "b": [1, 2], "c": 3}


def test_table_template_with_overrides(project):
    path = spec(
        project,
        """
      customers:
        use: [person, address, timestamps]
        rows: 300
        columns:
          email: {null_ratio: 0.1}
          phone: ~
          tier: {type: string, generator: choice, values: [a, b]}
    """,
    )
    plan = load_spec(path)
    columns = plan.spec.tables["customers"].columns
    assert list(columns)[:3] == ["id", "first_name", "last_name"]  # `use:` before columns
    assert "phone" not in columns and list(columns)[-1] == "tier"
    assert columns["email"].null_ratio == 0.1 and columns["email"].mask.strategy == "email"
    assert columns["email"].unique  # the rest of the template's column stays
    assert {"street", "city", "created_at", "updated_at"} <= set(columns)
    assert plan.spec.tables["customers"].primary_key == ["id"]
    assert templates_used(path) == {
        name: f"tdm/templates/library/{name}.yaml" for name in ("address", "person", "timestamps")
    }


def test_use_after_columns_puts_the_specs_columns_first_and_column_templates(project):
    path = spec(
        project,
        """
      orders:
        rows: 50
        primary_key: id
        columns:
          id: {type: int, generator: sequence}
          total: {use: money, max: 500}
        use: timestamps
    """,
    )
    table = parse_spec(path).tables["orders"]
    assert list(table.columns)[:2] == ["id", "total"]
    total = table.columns["total"]
    assert total.type == "decimal(12,2)" and total.generator == "decimal"
    assert total.params["max"] == 500 and total.params["distribution"] == "lognormal"


def test_user_templates_win_over_bundled_ones(project):
    write(
        project / "schemas" / "templates" / "money.yaml",
        """
        description: whole euros
        column: {type: int, generator: integer, min: 1, max: 9}
    """,
    )
    path = spec(
        project,
        """
      t:
        rows: 5
        columns:
          price: {use: money}
    """,
    )
    assert library(path)["money"] == project / "schemas" / "templates" / "money.yaml"
    assert parse_spec(path).tables["t"].columns["price"].type == "int"
    assert templates_used(path) == {"money": "schemas/templates/money.yaml"}


def test_unknown_template_names_the_closest(project):
    path = spec(
        project,
        """
      t:
        use: [person, adress]
        rows: 5
    """,
    )
    text = problems(path)
    assert "shop.yaml:6: tables.t.use[1]: unknown template 'adress'" in text
    assert 'did you mean "address"?' in text


def test_problem_inside_a_template_names_the_spec_and_the_template(project):
    write(
        project / "schemas" / "templates" / "vip.yaml",
        """
        description: a broken template
        table:
          columns:
            level: {type: int, generator: integr, min: 1, max: 3}
    """,
    )
    path = spec(
        project,
        """
      customers:
        rows: 5
        primary_key: id
        columns:
          id: {type: int, generator: sequence}
        use: vip
    """,
    )
    text = problems(path)
    assert (
        "schemas/shop.yaml:10: tables.customers.use: vip (schemas/templates/vip.yaml:4: "
        "table.columns.level.generator: unknown generator 'integr')"
    ) in text
    assert 'did you mean "integer"?' in text


def test_override_that_conflicts_is_told_at_the_spec_naming_the_template(project):
    path = spec(
        project,
        """
      customers:
        use: person
        rows: 5
        columns:
          email: {type: int}
    """,
    )
    text = problems(path)
    assert "shop.yaml:9: tables.customers.columns.email" in text
    assert "merged with person, tdm/templates/library/person.yaml:" in text


def test_cycles_and_wrong_kinds_are_errors(project):
    templates = project / "schemas" / "templates"
    write(
        templates / "a.yaml", "table:\n  use: b\n  columns: {x: {type: int, generator: sequence}}\n"
    )
    write(templates / "b.yaml", "table:\n  use: a\n")
    path = spec(
        project,
        """
      t:
        use: a
        rows: 5
        columns:
          price: {use: person}
    """,
    )
    text = problems(path)
    assert "templates use each other in a cycle: a -> b -> a" in text
    assert (
        "person (tdm/templates/library/person.yaml) is a table template, used here on a column"
        in text
    )


def test_a_template_that_is_not_one(project):
    write(project / "schemas" / "templates" / "odd.yaml", "tables: {}\n")
    path = spec(
        project,
        "  t:\n    use: odd\n    rows: 5\n    columns: {a: {type: int, generator: sequence}}\n",
    )
    assert "tables.t.use: odd (schemas/templates/odd.yaml: unknown field 'tables')" in problems(
        path
    )


def test_editing_a_used_template_changes_the_version_id(project):
    money = write(
        project / "schemas" / "templates" / "money.yaml",
        """
        column: {type: "decimal(10,2)", generator: decimal, min: 1, max: 100}
    """,
    )
    path = spec(
        project,
        """
      t:
        rows: 5
        primary_key: id
        columns:
          id: {type: int, generator: sequence}
          price: {use: money}
    """,
    )
    before = spec_hash(load_spec(path).spec)
    assert spec_hash(load_spec(path).spec) == before
    money.write_text(money.read_text().replace("max: 100", "max: 200"))
    after = spec_hash(load_spec(path).spec)
    assert after != before
    # a comment or the template's description changes nothing generated: the id stays
    money.write_text("# money\ndescription: prices\n" + money.read_text())
    assert spec_hash(load_spec(path).spec) == after


@pytest.mark.parametrize("name", sorted(p.stem for p in LIBRARY.glob("*.yaml")))
def test_every_bundled_library_template_plans_clean(project, name):
    kind = (LIBRARY / f"{name}.yaml").read_text()
    if "\ncolumn:" in kind:
        tables = f"  t:\n    rows: 100\n    columns:\n      v: {{use: {name}}}\n"
    else:
        tables = (
            f"  t:\n    use: {name}\n    rows: 100\n"
            "    columns:\n      n: {type: int, generator: sequence}\n"
        )
    plan = load_spec(spec(project, tables))
    assert plan.rows["t"] == 100


def test_the_specs_digest_follows_the_templates_it_uses(project):
    """tdm.spec.digest: what the schema sensor and a run compare to know the spec changed."""
    plain = spec(project, "t:\n  rows: 5\n  columns:\n    id: {type: int, generator: sequence}\n")
    assert spec_digest(plain) == file_sha256(plain)  # no template: the file's own hash
    path = spec(project, "t:\n  rows: 5\n  columns:\n    price: {use: money}\n")
    bundled = spec_digest(path)  # tdm/templates/library/money.yaml
    user = write(
        project / "schemas" / "templates" / "money.yaml",
        "column: {type: int, generator: integer, min: 1, max: 9}\n",
    )
    shadowed = spec_digest(path)  # the user's template now wins over the bundled one
    user.write_text(user.read_text().replace("max: 9", "max: 8"))
    edited = spec_digest(path)
    assert len({file_sha256(path), bundled, shadowed, edited}) == 4
    assert spec_digest(path) == edited  # the same files, the same digest
    assert load_spec(path).source_hash == edited  # a run then sees no edit: no replanning
    broken = spec(project, "t:\n  rows: 5\n  columns:\n    price: {use: no_such}\n")
    assert spec_digest(broken) == file_sha256(broken)  # unreadable: loading it says why
