"""The statistics of ``inferlog stats`` as one SQL query, for DuckDB and BigQuery.

One builder writes the query for every SQL engine, so the figures a user gets from
``inferlog stats`` and from the printed ``--query duckdb`` / ``--query bigquery`` are
computed the same way:

- calls are re-weighted by ``1 / sample_rate`` (a record kept at rate 0.1 stands for
  ten calls); the error rate is the weighted share of ``status = 'error'``;
- latency quantiles are exact and weighted: the smallest latency whose cumulative
  weight reaches the quantile's share of the group's weight (with weights of 1 this is
  NumPy's ``inverted_cdf`` method);
- the token/latency relation is the weighted Pearson correlation of latency with
  input (and output) token counts, and the least-squares slope in ms per 1,000 tokens,
  over the calls that logged token counts.

The query reads the records once (:func:`parts_sql`), summing the calls per group
(every sum the rates, means and token relation need) and, for the quantiles, the
weight of the calls per group and distinct latency (a *cell*); the statistics follow
from those parts (:func:`stats_from_parts_sql`). Its memory therefore grows with the
number of distinct latencies (inferlog writes them to the microsecond), not with the
number of records, and DuckDB spills even that to disk beyond its memory limit.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from inferlog import schema
from inferlog.analysis.engine import quote_identifier
from inferlog.analysis.selection import FieldFilter, FieldRef, TimeWindow

__all__ = [
    "BIGQUERY",
    "DUCKDB",
    "PART_CELL",
    "PART_FILE",
    "PART_GROUP",
    "QUANTILES",
    "STAT_COLUMNS",
    "TOKEN_FIELDS",
    "Dialect",
    "StatsSpec",
    "calls_sql",
    "parts_sql",
    "source_columns",
    "stats_from_parts_sql",
    "stats_sql",
]

#: The latency quantiles reported, as (column suffix, fraction).
QUANTILES: Final = (("p50", 0.50), ("p95", 0.95), ("p99", 0.99))
#: Token fields the relation to latency is computed for, as (short name, field).
TOKEN_FIELDS: Final = (
    ("input", schema.INPUT_TOKEN_COUNT),
    ("output", schema.OUTPUT_TOKEN_COUNT),
)
#: The statistics, in output order, after the group columns.
STAT_COLUMNS: Final[tuple[str, ...]] = (
    "records",
    "calls",
    "error_rate",
    *(f"latency_{name}_ms" for name, _ in QUANTILES),
    "latency_mean_ms",
    *(f"{short}_tokens_mean" for short, _ in TOKEN_FIELDS),
    *(
        column
        for short, _ in TOKEN_FIELDS
        for column in (f"{short}_tokens_latency_corr", f"latency_ms_per_1k_{short}_tokens")
    ),
)


@dataclass(frozen=True)
class Dialect:
    """How one SQL engine names a record field and writes a time literal."""

    name: str
    #: Format of a reference to a top-level field (``{}`` is the field name).
    column_format: str
    #: Format of that field as a number.
    number_format: str
    #: Format of that field as text.
    text_format: str
    #: Reference to the record's timestamp, as a timestamp.
    timestamp: str
    #: Format of a time literal (``{}`` is an ISO 8601 UTC time).
    time_literal: str

    def column(self, field: str) -> str:
        """Reference to top-level field ``field``."""
        return self.column_format.format(_name(self, field))

    def number(self, field: str) -> str:
        """``field`` as a number (NULL when it is not one)."""
        return self.number_format.format(self.column(field))

    def text(self, ref: FieldRef) -> str:
        """``ref`` as text (NULL when absent)."""
        if ref.path:
            path = "$." + ".".join(ref.path)
            if self.name == "bigquery":
                return f"JSON_VALUE(TO_JSON({self.column(ref.root)}), '{path}')"
            return f"json_extract_string({self.column(ref.root)}, '{path}')"
        return self.text_format.format(self.column(ref.root))


def _name(dialect: Dialect, field: str) -> str:
    if dialect.name == "bigquery":
        # A Cloud Logging export to BigQuery turns characters other than letters,
        # digits and underscores into underscores in jsonPayload column names.
        return re.sub(r"[^A-Za-z0-9_]", "_", field)
    return quote_identifier(field)


#: DuckDB over the table :func:`~inferlog.analysis.engine.load_records` fills (or the
#: same ``read_json`` call): fields arrive typed, so references are plain.
DUCKDB: Final = Dialect(
    name="duckdb",
    column_format="{}",
    number_format="{}",
    text_format="{}",
    timestamp=quote_identifier(schema.TIMESTAMP),
    time_literal="TIMESTAMPTZ '{}'",
)
#: BigQuery over a Cloud Logging sink's export (JSON fields under ``jsonPayload``).
BIGQUERY: Final = Dialect(
    name="bigquery",
    column_format="jsonPayload.{}",
    number_format="SAFE_CAST({} AS FLOAT64)",
    text_format="CAST({} AS STRING)",
    timestamp="timestamp",
    time_literal="TIMESTAMP '{}'",
)


@dataclass(frozen=True)
class StatsSpec:
    """What to compute: grouping, selection, and the schema the records use."""

    by: tuple[FieldRef, ...] = (FieldRef(schema.MODEL_ID), FieldRef(schema.MODEL_VERSION))
    window: TimeWindow = dataclasses.field(default_factory=TimeWindow)
    filters: tuple[FieldFilter, ...] = ()
    schema: schema.SchemaName = "inferlog"

    def field(self, name: str) -> str:
        """The name inferlog field ``name`` has in the records."""
        return schema.field_name(name, self.schema)

    def ref(self, ref: FieldRef) -> FieldRef:
        """``ref`` with its root renamed for the records' schema."""
        return FieldRef(self.field(ref.root), ref.path)

    def group_aliases(self) -> list[str]:
        """Output column name of each group (its field name, made an identifier)."""
        return [re.sub(r"\W", "_", ref.name) for ref in self.by]


def source_columns(spec: StatsSpec) -> dict[str, str]:
    """The fields (as named in the records) and DuckDB types the stats query reads."""
    columns = {
        spec.field(schema.MODEL_ID): "VARCHAR",
        spec.field(schema.LATENCY_MS): "DOUBLE",
        spec.field(schema.STATUS): "VARCHAR",
        spec.field(schema.SAMPLE_RATE): "DOUBLE",
    }
    for _, field in TOKEN_FIELDS:
        columns[spec.field(field)] = "DOUBLE"
    if spec.window.since is not None or spec.window.until is not None:
        # Parsed only for a window: reading it as a time costs more than as text.
        columns[spec.field(schema.TIMESTAMP)] = "TIMESTAMPTZ"
    for ref in (*spec.by, *(f.field for f in spec.filters)):
        columns.setdefault(spec.field(ref.root), ref.column_type())
    return columns


def _call_condition(spec: StatsSpec, dialect: Dialect) -> str:
    """SQL: the row is a selected inference call (model, latency, window, filters)."""
    latency = dialect.number(spec.field(schema.LATENCY_MS))
    conditions = [
        f"{dialect.text(FieldRef(spec.field(schema.MODEL_ID)))} IS NOT NULL",
        f"{latency} IS NOT NULL",
        *spec.window.sql_conditions(dialect.timestamp, dialect.time_literal),
        *(f.sql(dialect.text(spec.ref(f.field))) for f in spec.filters),
    ]
    return " AND ".join(conditions)


def calls_sql(spec: StatsSpec, source: str, dialect: Dialect = DUCKDB) -> str:
    """The selected calls of ``source``, one row each: group columns, ``latency_ms``,
    ``input_tokens``, ``output_tokens``, the weight ``w`` and ``failed`` (1.0 or 0.0).
    """
    return _rows_sql(spec, source, dialect) + f"\n  WHERE {_call_condition(spec, dialect)}"


def _weight(spec: StatsSpec, dialect: Dialect) -> str:
    rate = dialect.number(spec.field(schema.SAMPLE_RATE))
    return f"CASE WHEN {rate} > 0 AND {rate} <= 1 THEN 1.0 / {rate} ELSE 1.0 END"


def _rows_sql(
    spec: StatsSpec, source: str, dialect: Dialect, extra: Sequence[str] = (), weight: str = ""
) -> str:
    groups = [
        f"{dialect.text(spec.ref(ref))} AS {alias}"
        for ref, alias in zip(spec.by, spec.group_aliases(), strict=True)
    ]
    status = dialect.text(FieldRef(spec.field(schema.STATUS)))
    columns = [
        *groups,
        f"{dialect.number(spec.field(schema.LATENCY_MS))} AS latency_ms",
        *(
            f"{dialect.number(spec.field(field))} AS {short}_tokens"
            for short, field in TOKEN_FIELDS
        ),
        f"{weight or _weight(spec, dialect)} AS w",
        f"CASE WHEN {status} = 'error' THEN 1.0 ELSE 0.0 END AS failed",
        *extra,
    ]
    return "  SELECT\n    " + ",\n    ".join(columns) + f"\n  FROM {source}"


def _group_sums() -> list[tuple[str, str]]:
    """(alias, SQL) of the sums per group every statistic but the quantiles follows from.

    They read the calls of :func:`_rows_sql`, where ``w`` is NULL on a row that is not
    a call (so that it adds to no sum).
    """
    sums = [
        ("records", "COUNT(w)"),
        ("w", "SUM(w)"),
        ("failed_w", "SUM(w * failed)"),
        ("latency_wsum", "SUM(w * latency_ms)"),
    ]
    for short, _ in TOKEN_FIELDS:
        x, has = f"{short}_tokens", f"{short}_tokens IS NOT NULL"
        sums += [
            (f"{short}_w", f"SUM(CASE WHEN {has} THEN w END)"),
            (f"{short}_x", f"SUM(w * {x})"),
            (f"{short}_xx", f"SUM(w * {x} * {x})"),
            (f"{short}_y", f"SUM(CASE WHEN {has} THEN w * latency_ms END)"),
            (f"{short}_yy", f"SUM(CASE WHEN {has} THEN w * latency_ms * latency_ms END)"),
            (f"{short}_xy", f"SUM(w * {x} * latency_ms)"),
        ]
    return sums


#: The kinds of row of :func:`parts_sql`, in its ``part`` column.
PART_FILE: Final = "file"
PART_GROUP: Final = "group"
PART_CELL: Final = "cell"
_IS_GROUP: Final = f" WHERE part = '{PART_GROUP}'"


def parts_sql(
    spec: StatsSpec,
    source: str,
    dialect: Dialect = DUCKDB,
    *,
    per_file: str | None = None,
    unreadable: str | None = None,
    fan_out: bool = True,
) -> str:
    """One pass over ``source`` summing the selected calls into *parts*.

    A ``group`` row holds the weighted sums of a group's calls (:func:`_group_sums`);
    a ``cell`` row the weight ``cell_w`` of the group's calls with one distinct
    latency, from which the exact quantiles follow (cumulative weight) with at most as
    many cells per group as distinct latencies, however many records there are. With
    ``per_file`` (the column holding each row's file), a ``file`` row per file also
    counts its ``lines`` and ``bad`` ones (``unreadable``, an SQL condition).

    ``fan_out`` writes the aggregations as a ``UNION ALL`` over one shared scan,
    which DuckDB 2.0 and later stream to every aggregation at once; without it, one
    ``GROUPING SETS`` aggregation (slower: it keeps every sum for every cell), for
    older releases, which would hold the shared scan's rows in memory.
    """
    ctes = _parts_ctes(spec, source, dialect, per_file, unreadable, fan_out=fan_out)
    return f"WITH {ctes}\nSELECT * FROM parts"


def _parts_ctes(
    spec: StatsSpec,
    source: str,
    dialect: Dialect,
    per_file: str | None = None,
    unreadable: str | None = None,
    *,
    fan_out: bool = True,
) -> str:
    """The common table expressions of :func:`parts_sql`, the last one ``parts``."""
    aliases = spec.group_aliases()
    is_call = _call_condition(spec, dialect)
    sums = _group_sums()
    cells = [*aliases, "latency_ms"]
    if per_file is None:
        rows = _rows_sql(spec, source, dialect) + f"\n  WHERE {is_call}"
    else:
        extra = [f"{per_file} AS file", f"CASE WHEN {unreadable} THEN 1 ELSE 0 END AS bad"]
        weight = f"CASE WHEN {is_call} THEN {_weight(spec, dialect)} END"
        rows = _rows_sql(spec, source, dialect, extra, weight)
    # Every part has every column; each fills its own and leaves the others NULL.
    columns: dict[str, dict[str, str]] = {
        PART_FILE: {"file": "", "lines": "COUNT(*)", "bad": "SUM(bad)"},
        PART_GROUP: {**dict.fromkeys(aliases, ""), **dict(sums)},
        PART_CELL: {**dict.fromkeys(cells, ""), "cell_w": "SUM(w)"},
    }
    keys = {PART_FILE: ["file"], PART_GROUP: aliases, PART_CELL: cells}
    if per_file is None:
        del columns[PART_FILE], keys[PART_FILE]
    names = list(dict.fromkeys(name for part in columns.values() for name in part))
    if not fan_out:
        return f"parts AS (\n{_grouping_sets_sql(rows, columns, keys, names)}\n)"
    union = _union(
        [
            (
                {"part": f"'{part}'", **own},
                "calls" if part == PART_FILE or per_file is None else "calls WHERE w IS NOT NULL",
                keys[part],
            )
            for part, own in columns.items()
        ],
        ["part", *names],
    ).replace("\n", "\n  ")
    return f"calls AS (\n{rows}\n),\nparts AS (\n  {union}\n)"


def _union(selects: Sequence[tuple[dict[str, str], str, Sequence[str]]], names: list[str]) -> str:
    """``UNION ALL`` of aggregations, each ``(columns, FROM clause, GROUP BY keys)``.

    Every select lists ``names`` in order: its own ``columns`` (an empty expression
    is the column itself), NULL for the others.
    """
    parts = []
    for own, source, keys in selects:
        values = [
            (f"{own[name]} AS {name}" if own[name] else name) if name in own else f"NULL AS {name}"
            for name in names
        ]
        group_by = f"\nGROUP BY {', '.join(keys)}" if keys else ""
        parts.append("SELECT\n  " + ",\n  ".join(values) + f"\nFROM {source}{group_by}")
    return "\nUNION ALL\n".join(parts)


def _grouping_sets_sql(
    rows: str, columns: dict[str, dict[str, str]], keys: dict[str, list[str]], names: list[str]
) -> str:
    """:func:`parts_sql` as one ``GROUPING SETS`` aggregation.

    Every set computes every sum: a part's columns are read from its own rows only.
    A row that is not a call (``w`` NULL) makes a cell of NULL weight, which never
    counts, and a group of no records, which is left out.
    """
    part = "CASE "
    if PART_FILE in columns:
        part += f"WHEN GROUPING(file) = 0 THEN '{PART_FILE}' "
    part += f"WHEN GROUPING(latency_ms) = 1 THEN '{PART_GROUP}' ELSE '{PART_CELL}' END"
    every = {name: own[name] for own in columns.values() for name in own}
    values = [f"{part} AS part", *(f"{every[n]} AS {n}" if every[n] else n for n in names)]
    sets = ", ".join("(" + ", ".join(k) + ")" for k in keys.values())
    return (
        "SELECT\n  "
        + ",\n  ".join(values)
        + f"\nFROM (\n{rows}\n) AS calls\nGROUP BY GROUPING SETS ({sets})"
    )


def _spread(short: str) -> list[str]:
    """Weighted covariance and variances from the group's sums."""
    return [
        f"{short}_xy / NULLIF({short}_w, 0) - {short}_mx * {short}_my AS {short}_cov",
        f"{short}_xx / NULLIF({short}_w, 0) - {short}_mx * {short}_mx AS {short}_var_x",
        f"{short}_yy / NULLIF({short}_w, 0) - {short}_my * {short}_my AS {short}_var_y",
    ]


def _relation(short: str) -> list[str]:
    return [
        f"{short}_mx AS {short}_tokens_mean",
        f"CASE WHEN {short}_var_x > 0 AND {short}_var_y > 0 "
        f"THEN {short}_cov / SQRT({short}_var_x * {short}_var_y) END"
        f" AS {short}_tokens_latency_corr",
        f"CASE WHEN {short}_var_x > 0 THEN 1000 * {short}_cov / {short}_var_x END"
        f" AS latency_ms_per_1k_{short}_tokens",
    ]


def _ordered(relation: list[str]) -> list[str]:
    """The relation columns in :data:`STAT_COLUMNS` order (means first, then r and slope)."""
    by_alias = {column.rsplit(" AS ", 1)[1]: column for column in relation}
    return [by_alias[name] for name in STAT_COLUMNS if name in by_alias]


def stats_from_parts_sql(spec: StatsSpec, parts: str, *, prefix: str = "WITH ") -> str:
    """The statistics per group from the group and cell rows of :func:`parts_sql` in ``parts``."""
    aliases = spec.group_aliases()
    keys = dict.fromkeys(aliases, "")
    partition = f"PARTITION BY {', '.join(aliases)} " if aliases else ""
    group_by = f"GROUP BY {', '.join(aliases)}\n  " if aliases else ""
    order_by = f"ORDER BY {', '.join(aliases)}\n" if aliases else ""
    quantiles = {
        f"latency_{name}_ms": f"MIN(CASE WHEN cum_w >= {fraction} * total_w THEN latency_ms END)"
        for name, fraction in QUANTILES
    }
    group_sums = [name for name, _ in _group_sums()]
    pieces = _union(
        [
            ({**keys, **quantiles}, "ranked", aliases),
            ({**keys, **dict.fromkeys(group_sums, "")}, f"{parts} AS parts{_IS_GROUP}", ()),
        ],
        [*aliases, *group_sums, *quantiles],
    ).replace("\n", "\n  ")
    renamed = {"w": "calls", "failed_w": "failed_calls"}
    sums = [
        *aliases,
        *(f"SUM({name}) AS {renamed.get(name, name)}" for name in group_sums),
        *(f"MIN({name}) AS {name}" for name in quantiles),
    ]
    means = [
        f"{short}_{part} / NULLIF({short}_w, 0) AS {short}_m{part}"
        for short, _ in TOKEN_FIELDS
        for part in ("x", "y")
    ]
    spread = [column for short, _ in TOKEN_FIELDS for column in _spread(short)]
    relation = [column for short, _ in TOKEN_FIELDS for column in _relation(short)]
    final = [
        *aliases,
        "records",
        "calls",
        "failed_calls / calls AS error_rate",
        *quantiles,
        "latency_wsum / calls AS latency_mean_ms",
        *_ordered(relation),
    ]
    indent = ",\n    "
    # The window sorts the cells alone (a few columns), not the wide group rows.
    return (
        f"{prefix}ranked AS (\n  SELECT\n    "
        + indent.join([*aliases, "latency_ms"])
        + f",\n    SUM(cell_w) OVER ({partition}ORDER BY latency_ms ROWS BETWEEN UNBOUNDED "
        "PRECEDING AND CURRENT ROW) AS cum_w,\n"
        f"    SUM(cell_w) OVER ({partition.rstrip()}) AS total_w\n"
        f"  FROM {parts} AS parts\n  WHERE part = '{PART_CELL}'\n),\n"
        f"pieces AS (\n  {pieces}\n),\n"
        "sums AS (\n  SELECT\n    " + indent.join(sums) + "\n  FROM pieces\n  "
        f"{group_by}HAVING SUM(records) > 0\n),\n"
        "means AS (\n  SELECT *,\n    " + indent.join(means) + "\n  FROM sums\n),\n"
        "spread AS (\n  SELECT *,\n    " + indent.join(spread) + "\n  FROM means\n)\n"
        "SELECT\n  " + ",\n  ".join(final) + f"\nFROM spread\n{order_by}"
    )


def stats_sql(spec: StatsSpec, source: str, dialect: Dialect = DUCKDB) -> str:
    """Return the one query computing :data:`STAT_COLUMNS` per group of ``spec.by``.

    ``source`` is what the query reads ``FROM`` (a ``read_json(...)`` call, a
    BigQuery table name).
    """
    ctes = _parts_ctes(spec, source, dialect)
    return stats_from_parts_sql(spec, "parts", prefix=f"WITH {ctes},\n")
