"""The statistics of ``inferlog stats`` as one SQL query, for DuckDB and BigQuery.

One builder writes the query for every SQL engine, so the figures a user gets from
``inferlog stats`` and from the printed ``--query duckdb`` / ``--query bigquery`` are
computed the same way:

- calls are re-weighted by ``1 / sample_rate`` (a record kept at rate 0.1 stands for
  ten calls); the error rate is the weighted share of ``status = 'error'``;
- latency quantiles are exact and weighted: the smallest latency whose cumulative
  weight reaches the quantile's share of the group's weight (with weights of 1 this is
  NumPy's ``inverted_cdf`` method); the sort that needs spills to disk in DuckDB;
- the token/latency relation is the weighted Pearson correlation of latency with
  input (and output) token counts, and the least-squares slope in ms per 1,000 tokens,
  over the calls that logged token counts.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Final

from inferlog import schema
from inferlog.analysis.engine import quote_identifier
from inferlog.analysis.selection import FieldFilter, FieldRef, TimeWindow

__all__ = [
    "BIGQUERY",
    "DUCKDB",
    "QUANTILES",
    "STAT_COLUMNS",
    "TOKEN_FIELDS",
    "Dialect",
    "StatsSpec",
    "calls_sql",
    "source_columns",
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
        spec.field(schema.TIMESTAMP): "TIMESTAMPTZ",
        spec.field(schema.MODEL_ID): "VARCHAR",
        spec.field(schema.LATENCY_MS): "DOUBLE",
        spec.field(schema.STATUS): "VARCHAR",
        spec.field(schema.SAMPLE_RATE): "DOUBLE",
    }
    for _, field in TOKEN_FIELDS:
        columns[spec.field(field)] = "DOUBLE"
    for ref in (*spec.by, *(f.field for f in spec.filters)):
        columns.setdefault(spec.field(ref.root), ref.column_type())
    return columns


def _moments(short: str, x: str) -> list[str]:
    """Weighted sums over the calls that logged ``x``, from which r and slope follow."""
    has = f"{x} IS NOT NULL"
    return [
        f"SUM(CASE WHEN {has} THEN w END) AS {short}_w",
        f"SUM(w * {x}) AS {short}_x",
        f"SUM(w * {x} * {x}) AS {short}_xx",
        f"SUM(CASE WHEN {has} THEN w * latency_ms END) AS {short}_y",
        f"SUM(CASE WHEN {has} THEN w * latency_ms * latency_ms END) AS {short}_yy",
        f"SUM(w * {x} * latency_ms) AS {short}_xy",
    ]


def _spread(short: str) -> list[str]:
    """Weighted means, then covariance and variances, from the sums of :func:`_moments`."""
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


def calls_sql(spec: StatsSpec, source: str, dialect: Dialect = DUCKDB) -> str:
    """The selected calls of ``source``, one row each: group columns, ``latency_ms``,
    ``input_tokens``, ``output_tokens``, the weight ``w`` and ``failed`` (1.0 or 0.0).
    """
    groups = [
        f"{dialect.text(spec.ref(ref))} AS {alias}"
        for ref, alias in zip(spec.by, spec.group_aliases(), strict=False)
    ]
    rate = dialect.number(spec.field(schema.SAMPLE_RATE))
    status = dialect.text(FieldRef(spec.field(schema.STATUS)))
    latency = dialect.number(spec.field(schema.LATENCY_MS))
    columns = [
        *groups,
        f"{latency} AS latency_ms",
        *(
            f"{dialect.number(spec.field(field))} AS {short}_tokens"
            for short, field in TOKEN_FIELDS
        ),
        f"CASE WHEN {rate} > 0 AND {rate} <= 1 THEN 1.0 / {rate} ELSE 1.0 END AS w",
        f"CASE WHEN {status} = 'error' THEN 1.0 ELSE 0.0 END AS failed",
    ]
    where = [
        f"{dialect.text(FieldRef(spec.field(schema.MODEL_ID)))} IS NOT NULL",
        f"{latency} IS NOT NULL",
        *spec.window.sql_conditions(dialect.timestamp, dialect.time_literal),
        *(f.sql(dialect.text(spec.ref(f.field))) for f in spec.filters),
    ]
    return (
        "  SELECT\n    "
        + ",\n    ".join(columns)
        + f"\n  FROM {source}\n  WHERE "
        + "\n    AND ".join(where)
    )


def stats_sql(spec: StatsSpec, source: str, dialect: Dialect = DUCKDB) -> str:
    """Return the query computing :data:`STAT_COLUMNS` per group of ``spec.by``.

    ``source`` is what the query reads ``FROM`` (a table, a ``read_json(...)`` call,
    a BigQuery table name).
    """
    aliases = spec.group_aliases()
    partition = f"PARTITION BY {', '.join(aliases)} " if aliases else ""
    group_by = f"GROUP BY {', '.join(aliases)}" if aliases else ""
    order_by = f"ORDER BY {', '.join(aliases)}" if aliases else ""
    sums = [
        *aliases,
        "COUNT(*) AS records",
        "SUM(w) AS calls",
        "SUM(w * failed) AS failed_calls",
        *(
            f"MIN(CASE WHEN cum_w >= {fraction} * total_w THEN latency_ms END) AS latency_{name}_ms"
            for name, fraction in QUANTILES
        ),
        "SUM(w * latency_ms) AS latency_wsum",
        *(m for short, _ in TOKEN_FIELDS for m in _moments(short, f"{short}_tokens")),
    ]
    means = [
        f"{short}_{part[0]} / NULLIF({short}_w, 0) AS {short}_m{part[0]}"
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
        *(f"latency_{name}_ms" for name, _ in QUANTILES),
        "latency_wsum / calls AS latency_mean_ms",
        *_ordered(relation),
    ]
    indent = ",\n    "
    return (
        "WITH calls AS (\n" + calls_sql(spec, source, dialect) + "\n),\n"
        "ranked AS (\n  SELECT *,\n"
        f"    SUM(w) OVER ({partition}ORDER BY latency_ms ROWS BETWEEN UNBOUNDED PRECEDING "
        "AND CURRENT ROW) AS cum_w,\n"
        f"    SUM(w) OVER ({partition.rstrip()}) AS total_w\n  FROM calls\n),\n"
        "sums AS (\n  SELECT\n    " + indent.join(sums) + f"\n  FROM ranked\n  {group_by}\n),\n"
        "means AS (\n  SELECT *,\n    " + indent.join(means) + "\n  FROM sums\n),\n"
        "spread AS (\n  SELECT *,\n    " + indent.join(spread) + "\n  FROM means\n)\n"
        "SELECT\n  " + ",\n  ".join(final) + f"\nFROM spread\n{order_by}\n"
    )
