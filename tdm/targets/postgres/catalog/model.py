"""What the catalog of a PostgreSQL schema declares, as plain data: types (enums, domains,
arrays, ranges), columns, keys, unique indexes, foreign keys, tables and the schema."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class PgType:
    oid: int
    name: str  # as format_type() writes it, schema-qualified when not visible
    typname: str  # pg_type.typname (int4, varchar, order_status, _text, ...)
    kind: str  # base, enum, domain, range, array, composite, pseudo, multirange
    category: str  # pg_type.typcategory (N numeric, S string, D date/time, ...)
    labels: list[str] = field(default_factory=list)  # enum
    base: PgType | None = None  # domain: the type it is over
    checks: list[str] = field(default_factory=list)  # domain: its CHECK expressions (on VALUE)
    element: PgType | None = None  # array: the element type; range: the subtype

    def resolved(self) -> PgType:
        """The type under any domains."""
        return self.base.resolved() if self.kind == "domain" and self.base else self


@dataclass
class PgColumn:
    name: str
    type: PgType
    sql_type: str  # format_type() with the modifier: varchar(40), numeric(10,2), ...
    not_null: bool
    default: str | None
    identity: str  # '' | 'a' (ALWAYS) | 'd' (BY DEFAULT)
    generated: bool  # GENERATED ALWAYS AS (...) STORED: never written
    comment: str | None
    attnum: int = 0

    @property
    def serial(self) -> bool:
        return bool(self.default and self.default.startswith("nextval("))


@dataclass
class PgForeignKey:
    name: str
    columns: list[str]
    ref_schema: str
    ref_table: str
    ref_columns: list[str]
    on_delete: str  # NO ACTION, RESTRICT, CASCADE, SET NULL, SET DEFAULT
    on_update: str
    deferrable: bool
    lifted_from: str | None = None  # the partition it was declared on


@dataclass
class PgUnique:
    name: str
    columns: list[str]  # empty when the index is on expressions only
    primary: bool = False
    predicate: str | None = None  # a partial unique index: unique among rows matching it
    expressions: bool = False  # some key parts are expressions (lower(email))


@dataclass
class PgTable:
    name: str
    oid: int
    partitioned: bool = False
    partition_key: str | None = None  # RANGE (paid_at), LIST (region), HASH (id)
    partitions: list[tuple[str, str]] = field(default_factory=list)  # (name, FOR VALUES ...)
    comment: str | None = None
    columns: dict[str, PgColumn] = field(default_factory=dict)
    primary_key: list[str] = field(default_factory=list)
    uniques: list[PgUnique] = field(default_factory=list)
    foreign_keys: list[PgForeignKey] = field(default_factory=list)
    checks: list[tuple[str, str, bool]] = field(default_factory=list)  # name, expr, validated
    exclusions: list[tuple[str, str]] = field(default_factory=list)  # name, definition
    triggers: list[tuple[str, str, str]] = field(default_factory=list)  # name, enabled, def


@dataclass
class PgSchema:
    schema: str
    database: str
    tables: dict[str, PgTable]
    views: list[str]  # views and materialized views: never filled
    other: list[str]  # foreign tables and the like: not filled either

    def parents(self, names: list[str]) -> dict[str, set[str]]:
        """For each table of `names`, the other tables of `names` its foreign keys reference."""
        inside = set(names)
        return {
            t: {
                fk.ref_table
                for fk in self.tables[t].foreign_keys
                if fk.ref_schema == self.schema and fk.ref_table in inside and fk.ref_table != t
            }
            for t in names
        }
