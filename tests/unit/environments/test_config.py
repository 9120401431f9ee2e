"""schemas/environments.yaml: clear errors naming the environment and field; secrets hidden."""

from __future__ import annotations

import pytest

from tdm.core.errors import SpecError, TdmError
from tdm.environments.config import get_environment, load_environments


def problems(write_spec, text: str):
    path = write_spec(text, "environments.yaml")
    with pytest.raises(SpecError) as err:
        load_environments(path)
    return {p.path: p for p in err.value.problems}


def test_mistakes_name_the_environment_and_the_field(write_spec):
    found = problems(
        write_spec,
        """
        environments:
          qa:
            url: postgresql://db/qa
            shema: qa
            refresh: "every morning"
          files:
            description: no url
    """,
    )
    assert found["environments.qa.shema"].hint == 'did you mean "schema"?'
    assert "not a cron expression" in found["environments.qa.refresh"].message
    assert found["environments.qa.refresh"].line == 5
    assert "missing required field 'url'" in found["environments.files.url"].message


@pytest.mark.parametrize("cron", ["0 6 * * 1-5", "*/15 * * * *", "0 0 1 jan *", "@daily"])
def test_valid_crons_pass(write_spec, cron):
    path = write_spec(f"environments:\n  qa:\n    url: sqlite:///x\n    refresh: '{cron}'\n")
    assert load_environments(path)["qa"].spec.refresh == cron


def test_variables_and_passwords(write_spec, monkeypatch):
    path = write_spec(
        """
        environments:
          qa:
            url: postgresql://app:${QA_PASSWORD}@db:5432/{dataset}
          other:
            url: ${OTHER_URL:-sqlite:///fallback.sqlite}
    """,
        "environments.yaml",
    )
    qa = get_environment("qa", path)
    with pytest.raises(
        TdmError,
        match=r"environments\.qa\.url needs the environment variable "
        r"QA_PASSWORD",
    ):
        qa.url("shop")
    monkeypatch.setenv("QA_PASSWORD", "s3cret-value")
    assert qa.url("shop") == "postgresql://app:s3cret-value@db:5432/shop"
    assert "s3cret" not in qa.display_url("shop") and "app:***@db" in qa.display_url("shop")
    assert get_environment("other", path).url() == "sqlite:///fallback.sqlite"
    with pytest.raises(SpecError, match='did you mean "qa"'):
        get_environment("qaa", path)
