"""Lists of names in messages: the first few, and how many there are in all when some are left
out (the store's unknown-version message and the CLI's unknown-name hint share it)."""

from tdm.cli.known import SHOWN, suggest
from tdm.core.errors import listed


def test_listed_names_the_first_few_and_counts_the_rest():
    assert listed([], 3) == ""
    assert listed(["a", "b", "c"], 3) == "a, b, c"
    assert listed(["a", "b", "c", "d"], 3) == "a, b, c, ... (4 in all)"
    assert listed(["a", "b", "c", "d"], 2, ": ask") == "a, b, ... (4 in all: ask)"


def test_an_unknown_name_far_from_all_lists_the_known_ones():
    names = [f"dataset_{i:02d}" for i in range(SHOWN + 3)]
    hint = suggest("zzz", reversed(names))
    assert hint == f"known: {', '.join(names[:SHOWN])}, ... ({SHOWN + 3} in all)"
    assert suggest("zzz", names[:2]) == "known: dataset_00, dataset_01"
    assert suggest("zzz", []) == "none is known yet"
    assert suggest("dataset_0", ["dataset_01", "other"]) == 'did you mean "dataset_01"?'
