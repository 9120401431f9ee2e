"""Passwords in URLs are found by parsing (tdm.core.urls) and hidden whole: in displayed URLs, in
driver messages, and in `tdm envs`, whatever characters they hold."""

from __future__ import annotations

import json
import re
import socket
from urllib.parse import unquote

import pytest

from tdm.cli.main import main
from tdm.core import urls
from tdm.core.errors import TdmError
from tdm.core.urls import without_secret
from tdm.environments import config as environments
from tdm.environments.config import load_environments
from tdm.source import SourceReader
from tdm.spec.model import TableSpec
from tdm.targets import open_target
from tdm.targets.postgres.introspection import live_schema

# (url, its password as written, the URL as hide_password shows it)
CASES = [
    ("postgresql://alice:p@ssXq1@127.0.0.1/db", "p@ssXq1", "postgresql://alice:***@127.0.0.1/db"),
    (
        "postgresql+psycopg://alice:a@b@c3d@db.example:5432/shop?sslmode=require",
        "a@b@c3d",
        "postgresql+psycopg://alice:***@db.example:5432/shop?sslmode=require",
    ),
    (
        "postgresql://alice:pa/ss/w0rd@db:5432/shop",
        "pa/ss/w0rd",
        "postgresql://alice:***@db:5432/shop",
    ),
    ("postgresql://alice:pa:ss:w0rd@db/shop", "pa:ss:w0rd", "postgresql://alice:***@db/shop"),
    (
        "postgresql://alice:pa?ss=w0rd@db/shop?sslmode=disable",
        "pa?ss=w0rd",
        "postgresql://alice:***@db/shop?sslmode=disable",
    ),
    ("postgresql://alice:pa#ss#w0rd@db/shop", "pa#ss#w0rd", "postgresql://alice:***@db/shop"),
    (
        "postgresql://alice:Zq9@Wx8/Vc7:Ub6?Ta5#Sy4@db:5432/shop?sslmode=disable",
        "Zq9@Wx8/Vc7:Ub6?Ta5#Sy4",
        "postgresql://alice:***@db:5432/shop?sslmode=disable",
    ),
    ("postgresql://alice:100%sure!@db/shop", "100%sure!", "postgresql://alice:***@db/shop"),
    ("postgresql://alice:p%40ss%2Fw0rd@db/shop", "p%40ss%2Fw0rd", "postgresql://alice:***@db/shop"),
    ("postgresql://alice:pä ss wörd@db/shop", "pä ss wörd", "postgresql://alice:***@db/shop"),
    ("postgresql://:0nly-pw@db/shop", "0nly-pw", "postgresql://:***@db/shop"),
    ("postgresql://alice:@db/shop", "", "postgresql://alice:***@db/shop"),
    ("postgresql://alice@db/shop", None, "postgresql://alice@db/shop"),
    ("postgresql://alice@db/shop?application_name=a:b@c", None, None),
    ("postgresql://db:5432/shop", None, "postgresql://db:5432/shop"),
    ("postgresql://alice:p@ss@[::1]:5432/shop", "p@ss", "postgresql://alice:***@[::1]:5432/shop"),
    (
        "mongodb+srv://bob:p@ss:w0rd@cluster0.example.net/envdb?appName=a@b&authSource=admin",
        "p@ss:w0rd",
        "mongodb+srv://bob:***@cluster0.example.net/envdb?appName=a@b&authSource=admin",
    ),
    ("mongodb://bob@h1:27017,h2:27017/envdb?authMechanismProperties=x:y@z", None, None),
    (
        "mongodb://bob:pw9@h1/envdb?authMechanismProperties=SERVICE_REALM:r@x&appName=a@b",
        "pw9",
        "mongodb://bob:***@h1/envdb?authMechanismProperties=SERVICE_REALM:r@x&appName=a@b",
    ),
    ("sqlite:///srv/data/a@b:c.sqlite", None, None),
    ("sqlite:relative@x:y.sqlite", None, None),
    ("/plain/path/a:b@c", None, None),
    ("file:///srv/testdata?format=csv", None, None),
]


def fragments(password: str) -> set[str]:
    """The parts of a password between any of its special characters, 3 characters or more."""
    return {p for p in re.split(r"[@/:?#%= ]", unquote(password)) if len(p) >= 3}


@pytest.mark.parametrize(("url", "password", "shown"), CASES)
def test_hide_password_parses_the_url(url, password, shown):
    assert urls.password_of(url) == password
    assert urls.hide_password(url) == environments.hide_password(url) == (shown or url)
    if password:
        out = urls.hide_password(url)
        assert password not in out and unquote(password) not in out
        assert not {p for p in fragments(password) if p in out}


@pytest.mark.parametrize(("url", "password", "shown"), [c for c in CASES if c[1]])
def test_without_secret_hides_the_url_and_every_echo_of_its_password(url, password, shown):
    message = f"cannot connect to {url}: server said {unquote(password)!r} and {password!r}"
    out = without_secret(message, url)
    assert out.startswith(f"cannot connect to {shown}: server said ")
    assert password not in out and unquote(password) not in out


def test_a_raw_at_sign_is_scrubbed_from_the_host_a_driver_echoes():
    url = "postgresql://alice:p@ssXq1@127.0.0.1:5432/db"
    assert urls.secrets_of(url) == {"p@ssXq1", "ssXq1", "p"}  # "p": what make_url reads
    message = "failed to resolve host 'ssXq1@127.0.0.1': [Errno -2] Name or service not known"
    assert without_secret(message, url) == (
        "failed to resolve host '***@127.0.0.1': [Errno -2] Name or service not known"
    )


def test_longer_secrets_go_first():
    url = "postgresql://u:abc@abcdef@h/d"
    assert without_secret("echo abc@abcdef here", url) == "echo *** here"


def test_short_passwords_are_hidden_only_inside_a_url():
    url = "postgresql://alice:ab@db/shop"
    text = f"tab stop at {url}, alice:ab@db"
    assert without_secret(text, url) == "tab stop at postgresql://alice:***@db/shop, alice:***@db"


def test_a_bare_password_is_still_accepted():
    assert without_secret("auth failed: s3cret-pw", "s3cret-pw") == "auth failed: ***"
    assert without_secret("echo p@ss/w0rd", "p%40ss%2Fw0rd") == "echo ***"
    assert without_secret("nothing to hide", "") == "nothing to hide"


def test_display_url_hides_a_password_from_a_variable(write_spec, monkeypatch):
    path = write_spec(
        "environments:\n  qa:\n    url: postgresql://app:${QA_PW}@db:5432/{dataset}\n",
        "environments.yaml",
    )
    qa = load_environments(path)["qa"]
    assert qa.display_url("shop") == "postgresql://app:***@db:5432/{dataset}"  # as written
    monkeypatch.setenv("QA_PW", "Zq9@Wx8/Vc7:Ub6?Ta5#Sy4")
    assert qa.display_url("shop") == "postgresql://app:***@db:5432/shop"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_tdm_envs_never_prints_a_piece_of_a_password(tmp_path, monkeypatch, capsys):
    closed = f"127.0.0.1:{_closed_port()}/envdb"
    envs = {  # name: (scheme://user, password, host...); every target is asked, and fails
        "raw_at": ("postgresql://alice", "Qz7@wXk9", "127.0.0.1:5432/envdb"),  # host: wXk9@...
        "mixed": ("postgresql://alice", "Jq8/Vb3:Nm4?Tr6#Ls2%Wd5 Hg4", closed),
        "encoded": ("postgresql://alice", "Pe5%40Gh7%2FKm3", closed),
        "unicode": ("postgresql+psycopg://alice", "Ünï cødé Zy5", closed),
        # pymongo takes "kp4" (lowercased) for the host
        "mongo": ("mongodb://bob", "Mo9@Kp4/Rt3", closed + "?serverSelectionTimeoutMS=500"),
        "from_var": ("postgresql://alice", "${FROM_VAR_PW}", "127.0.0.1:5432/envdb"),
    }
    # every piece holds a letter past "f": pymongo's error names a random hex ObjectId, which once
    # spelled "ab2" of an earlier password here (CI)
    monkeypatch.setenv("FROM_VAR_PW", "Vr1@Aw2@Cy3")
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    (schemas / "environments.yaml").write_text(
        "environments:\n"
        + "".join(
            f"  {name}:\n    url: {json.dumps(f'{who}:{pw}@{rest}')}\n    datasets: [shop]\n"
            for name, (who, pw, rest) in envs.items()
        )
    )
    monkeypatch.setenv("TDM_SCHEMAS", str(schemas))
    passwords = {name: pw for name, (_, pw, _) in envs.items()} | {"from_var": "Vr1@Aw2@Cy3"}
    for argv in (["envs"], ["envs", "--json"]):
        assert main(argv) == 0
        out, err = capsys.readouterr()
        text = (out + err).lower()
        for name, password in passwords.items():
            pieces = fragments(password) | {password, unquote(password)}
            assert not {p for p in pieces if p.lower() in text}, f"{name}: a piece shows in\n{text}"
    shown = {e["name"]: e for e in json.loads(out)}
    for name, (who, _, rest) in envs.items():
        assert shown[name]["url"] == f"{who}:***@{rest}"
        assert shown[name]["errors"]["shop"]
    assert "'***@127.0.0.1'" in shown["raw_at"]["errors"]["shop"]  # the driver's echo, scrubbed
    assert "refused" in shown["mixed"]["errors"]["shop"]


def test_a_failed_connection_never_shows_a_raw_at_password():
    """The real driver, given host "ssXq1@127.0.0.1" by make_url, fails naming that host."""
    url = "postgresql://alice:p@ssXq1@127.0.0.1:5432/envdb"
    table = TableSpec.model_validate(
        {"source": True, "primary_key": "id", "columns": {"id": {"type": "int"}}}
    )
    for call in (
        lambda: open_target(url).current("x"),
        lambda: live_schema(url, "x"),
        lambda: SourceReader(url).count("t", table),
    ):
        with pytest.raises(TdmError) as e:
            call()
        text = str(e.value)
        assert "alice:***@127.0.0.1:5432/envdb" in text
        assert "ssXq1" not in text and "p@ss" not in text
        assert "'***@127.0.0.1'" in text, "the driver's message names the host it was given"
