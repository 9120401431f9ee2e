"""The bottom layer: errors with dotted paths, names, logical types, seeded randomness, keyed
permutations, Arrow helpers, distributions, settings, files, database URLs and secret hiding."""
