"""The PostgreSQL target: DDL, binary COPY into a staging schema, the one-transaction swap,
the application's existing tables, and reading a live schema back (introspection)."""
