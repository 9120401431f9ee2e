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

__all__ = ["STRATEGIES"]
