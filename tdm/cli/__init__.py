"""`tdm ...`: the command line, the top layer (the only part of tdm that may call the Dagster
layer, lazily)."""
