import pyarrow as pa
import pytest

from tdm.generators import pools


@pytest.fixture
def pool_cache(tmp_path, monkeypatch):
    """An empty pool cache of the test's own; no pool of this process's memory."""
    monkeypatch.setenv("TDM_POOL_CACHE", str(tmp_path / "pools"))
    pools.sampled.cache_clear()
    pools.provider_values.cache_clear()
    yield tmp_path / "pools"
    pools.sampled.cache_clear()
    pools.provider_values.cache_clear()


def test_a_pool_is_the_same_whatever_the_process_built_before(tmp_path, monkeypatch):
    """Pools are a function of (locale, pool) alone: built again after other pools drew from
    Faker in this process, one is identical (a shared Faker made them depend on history)."""
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("TDM_POOL_CACHE", str(tmp_path / "file"))  # no cache can be written
    pools.sampled.cache_clear()
    first = pools.sampled("en_US", "first_name")
    pools.sampled("en_US", "first_name", 10)  # another draw for the same pool, other size
    pools.sampled("de_DE", "last_name")
    pools.sampled.cache_clear()
    assert pools.sampled("en_US", "first_name").equals(first)
    assert not list(tmp_path.rglob("*.arrow"))
    pools.sampled.cache_clear()


def test_a_pool_kept_on_disk_is_the_pool_sampled_again(pool_cache, monkeypatch):
    fresh = pools.sampled("de_DE", "city")
    [kept] = pool_cache.rglob("de_DE.city.4096.arrow")
    assert kept.parent.name.startswith("faker-")
    pools.sampled.cache_clear()
    monkeypatch.setattr(pools, "faker", None)  # read back, not sampled: Faker is not called
    assert pools.sampled("de_DE", "city").equals(fresh)


def test_a_provider_list_kept_on_disk_is_the_list_read_again(pool_cache, monkeypatch):
    fresh = pools.provider_values("de_DE", "jobs")
    assert len(fresh) > 10 and fresh.null_count == 0
    assert len(set(fresh.to_pylist())) == len(fresh)  # deduplicated
    assert len(list(pool_cache.rglob("de_DE.attribute.jobs.arrow"))) == 1
    pools.provider_values.cache_clear()
    monkeypatch.setattr(pools, "faker", None)  # read back: no Faker is made
    assert pools.provider_values("de_DE", "jobs").equals(fresh)


def test_an_unknown_provider_list_is_an_error_and_keeps_nothing(pool_cache):
    with pytest.raises(LookupError, match="no 'no_such_list'"):
        pools.provider_values("en_US", "no_such_list")
    assert not list(pool_cache.rglob("*no_such_list*"))


@pytest.mark.parametrize("damage", [b"", b"not arrow at all", "short"])
def test_a_damaged_pool_file_is_sampled_again(pool_cache, damage):
    fresh = pools.sampled("en_GB", "last_name", 50)
    [kept] = pool_cache.rglob("en_GB.last_name.50.arrow")
    if damage == "short":  # a valid file of the wrong size
        with pa.OSFile(str(kept), "wb") as f:
            table = pa.table({"value": ["x"]})
            with pa.ipc.new_file(f, table.schema) as writer:
                writer.write_table(table)
    else:
        kept.write_bytes(damage)
    pools.sampled.cache_clear()
    assert pools.sampled("en_GB", "last_name", 50).equals(fresh)


PEOPLE = """
dataset: people
seed: 3
reference_date: 2026-01-01
locales: {en_US: 0.5, de_DE: 0.3, en_GB: 0.2}
tables:
  people:
    rows: 3000
    primary_key: id
    columns:
      id: {type: int, generator: sequence}
      first_name: {type: string, generator: first_name}
      last_name: {type: string, generator: last_name}
      email: {type: string, generator: email, first_name: first_name, last_name: last_name}
      phone: {type: string, generator: phone}
      street: {type: string, generator: street_address}
      city: {type: string, generator: city}
      postcode: {type: string, generator: postcode}
"""


def test_rows_generated_with_kept_pools_are_the_rows_generated_without(pool_cache, tmp_path):
    from tdm.plan.loading import load_spec

    spec = tmp_path / "people.yaml"
    spec.write_text(PEOPLE)
    plan = load_spec(spec)
    made = {t: plan.generate(t, 0, plan.rows[t]) for t in plan.order}  # pools sampled, kept
    assert list(pool_cache.rglob("*.arrow"))
    pools.sampled.cache_clear()
    again = load_spec(spec)
    for t in plan.order:
        assert again.generate(t, 0, plan.rows[t]).equals(made[t])
