"""Bundled project templates (`tdm init --template NAME`, `tdm templates`) and the library of
reusable definitions a spec can `use:` (library/*.yaml): data files only, read by
`tdm.spec.templates` and `tdm.cli.templates`. Documented in docs/templates.md."""
