"""Reading extracted tables from a source database, in independent batches.

A spec may declare `source: {url: "${SOURCE_URL}"}` and, per table, `source: {table, where, key}`
instead of generators. `SourceReader` reads such a table the way generation partitions a
generated one: batch k holds rows [k*batch_size, (k+1)*batch_size) in key order, and every batch
is read on its own, in any order, on any process, with no cursor shared between batches:

    probe:  SELECT key FROM t WHERE (where) [AND (key) >= (<key of row r>)]
            ORDER BY key LIMIT 2 OFFSET start-r-1
    read:   SELECT cols FROM t WHERE (where) AND (key) >= (<key of row start>)
            ORDER BY key LIMIT stop-start

The probe walks the key index only (an index-only scan once the table is vacuumed; with a
`where` on other columns it must visit those rows too), counting from row r, the nearest row
before `start` whose key this reader already probed (else from the first row, r = 0); the read
is a range scan of that index. Batches read in order by one reader (a run's single process)
thus cost one batch of index entries each, O(rows) for a table; a batch read alone costs
O(start) (about 0.1 s at row 1,000,000 here). Composite keys use row-value comparison,
`(a, b) >= (x, y)`, which PostgreSQL and SQLite answer from a btree on (a, b). ORDER BY names the
source columns (qualified), so rows come in the source's key order whatever the spec types.

The key is `source.key`, else the table's primary key; it must be unique and not null in the
source (a duplicate or a NULL is reported as soon as a count or a batch meets it, instead of
silently duplicating or losing rows at a batch boundary).

PostgreSQL 11+ (postgresql://, postgresql+psycopg://, ...) is read through psycopg 3 with
`COPY (SELECT ...) TO STDOUT (FORMAT csv)`, parsed by `pyarrow.csv` with explicit column types: no
Python object per value. Each column is cast in SQL to its declared logical type (int -> int8,
decimal(p,s) -> numeric(p,s), timestamp -> UTC, uuid/json -> canonical text, ...), so the cast
rules are PostgreSQL's: a value that does not fit is an error naming the table. The session is
read-only, UTC, ISO dates and shortest-exact floats. SQLite (sqlite:///path) is supported for
small local sources (for instance a file a tdm SQLite environment holds); it goes through Python
rows.

`where` is trusted SQL written by the spec author: it is pasted into the queries as it stands
(in parentheses, on a read-only session), like the rest of the spec it is not user input.

Batches read at different times see the source as it is at that time: nothing makes them one
consistent snapshot. `snapshot()` fingerprints the source state, so a caller compares it before
and after a run (and keys versions by it) to know the rows did not move under it.

Errors are `TdmError`s that name the table; a URL is shown only through `hide_password`, and
the password is scrubbed from every message taken from a driver.
"""

from tdm.source.names import split_name
from tdm.source.reader import SourceReader

__all__ = ["SourceReader", "split_name"]
