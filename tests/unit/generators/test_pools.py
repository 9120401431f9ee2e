def test_a_pool_is_the_same_whatever_the_process_built_before():
    """Pools are a function of (locale, pool) alone: built again after other pools drew from
    Faker in this process, one is identical (a shared Faker made them depend on history)."""
    from tdm.generators import pools

    pools.sampled.cache_clear()
    first = pools.sampled("en_US", "first_name")
    pools.sampled("en_US", "first_name", 10)  # another draw for the same pool, other size
    pools.sampled("de_DE", "last_name")
    pools.sampled.cache_clear()
    assert pools.sampled("en_US", "first_name").equals(first)
