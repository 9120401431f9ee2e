"""Masking strategies, one module per category, registered by name in STRATEGIES when this
package is imported.

    mask: email                                  # a strategy with its default parameters
    mask: {strategy: partial, keep_last: 4}      # other keys are parameters
"""

from tdm.masking.strategies import (  # noqa: F401  (each module registers its strategies)
    banking,
    contact,
    identifiers,
    json_paths,
    mail,
    network,
    perturb,
    simple,
    temporal,
    text,
)
from tdm.masking.strategies.base import STRATEGIES

__all__ = ["STRATEGIES", "warm_up"]


def warm_up() -> None:
    """Compile the masking kernels (numba) and write them to their on-disk cache, so that the
    first masking in a process loads them instead (~0.2 s, not ~6 s): for container images."""
    import pyarrow as pa

    from tdm.core.types import parse_type
    from tdm.masking.keys import MaskingKey
    from tdm.masking.strategies.base import MaskBatch, MaskColumn

    key = MaskingKey(b"warm-up-only-never-masks-data-00")
    emails = ["jane.doe42@gmail.com", "jo@x.io", "abc", "a-b-c-d-e-f-g@h.example"]
    for name, params, kind, values in [
        ("email", {}, "string", emails),
        ("email", {"style": "format"}, "string", emails),
        ("email", {"domain": "keep"}, "string", emails),
        ("pseudonymize", {}, "string", ["AB-123456", "x"]),
        ("pseudonymize", {}, "int", [1, 123456789]),
        ("phone", {}, "string", ["+44 20 7946 0958", "(555) 123-4567"]),
        ("phone", {"region": "JP"}, "string", ["090-1234-5678"]),  # a national prefix pattern
    ]:
        cls = STRATEGIES[name]
        mask = cls(cls.Params.model_validate(params), MaskColumn("t", "c", parse_type(kind)), key)
        mask.apply(pa.array(values), MaskBatch({}, 0))
