"""`tdm introspect` as a user meets it: options, stdout, and clear errors for a wrong URL, schema
or table (exit 2, no traceback, no file written)."""

from __future__ import annotations

import yaml

from tdm.cli.main import main

SCHEMA = """
CREATE TABLE public.customers (id serial PRIMARY KEY, email text NOT NULL UNIQUE);
CREATE TABLE public.orders (id serial PRIMARY KEY,
    customer_id int NOT NULL REFERENCES public.customers, note text);
COMMENT ON COLUMN public.orders.note IS 'Free text from the checkout';
CREATE TABLE public.unrelated (id int PRIMARY KEY);
"""


def run(capsys, *args) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_options_and_stdout(postgres_db, capsys):
    url = postgres_db(SCHEMA).replace("+psycopg", "")
    code, out, err = run(
        capsys, "introspect", url, "--tables", "orders", "--rows", "7", "--name", "shop", "-o", "-"
    )
    assert code == 0, err
    spec = yaml.safe_load(out)
    assert spec["dataset"] == "shop"
    assert set(spec["tables"]) == {"orders", "customers"}  # with the table it references
    assert spec["tables"]["customers"]["rows"] == 7
    assert spec["tables"]["orders"]["rows"]["per"] == "customers"
    assert spec["tables"]["customers"]["columns"]["email"]["generator"] == "email"
    assert spec["tables"]["orders"]["columns"]["note"]["description"] == (
        "Free text from the checkout"
    )


def test_wrong_url_schema_or_table_is_a_clear_error_and_writes_nothing(
    postgres_db, capsys, tmp_path
):
    url = postgres_db(SCHEMA).replace("+psycopg", "")
    out = tmp_path / "spec.yaml"
    for args, words in [
        (["mysql://u@h/db"], "not a PostgreSQL URL"),
        (["postgresql://postgres@127.0.0.1:1/x"], "cannot read schema public"),
        ([url, "--schema", "nosuch"], "has no schema 'nosuch'"),
        ([url, "--tables", "custmers"], "has no table 'custmers'"),
        ([url, "--rows", "-1"], "out of range"),
    ]:
        try:
            code, _, err = run(capsys, "introspect", *args, "-o", out)
        except SystemExit as e:  # argparse's own errors
            code, err = e.code, capsys.readouterr().err
        assert code == 2 and words in err, (args, err)
        assert not out.exists()
