"""``inferlog stats --query``: the same statistics as a query to run where the logs live.

- ``duckdb``: one DuckDB query over ``read_json`` of local files, a glob, or object
  storage (``s3://``, ``gs://``, ``https://`` after ``INSTALL httpfs; LOAD httpfs;``).
  It is the very query ``inferlog stats`` runs, so it gives the same figures.
- ``bigquery``: the same SQL over a Cloud Logging sink's export to BigQuery, where the
  record's fields are columns of ``jsonPayload``.
- ``cloudwatch``: a CloudWatch Logs Insights query for the CloudWatch sink's log
  group. Logs Insights has no window functions, so its percentiles are its own
  (``pct``, not re-weighted by ``sample_rate``), and the token/latency relation comes
  as the weighted sums from which the correlation and slope follow (formulas in the
  query's comments).

Field names follow the schema the records were written with (``inferlog`` or
``otel``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final, Literal

from inferlog import schema
from inferlog.analysis.engine import read_json_sql
from inferlog.analysis.sql import (
    BIGQUERY,
    QUANTILES,
    TOKEN_FIELDS,
    StatsSpec,
    source_columns,
    stats_sql,
)

__all__ = [
    "DEFAULT_BIGQUERY_TABLE",
    "QUERY_TARGETS",
    "QueryTarget",
    "bigquery_query",
    "cloudwatch_query",
    "duckdb_query",
    "render_query",
]

QueryTarget = Literal["cloudwatch", "bigquery", "duckdb"]
#: The accepted values of ``--query``.
QUERY_TARGETS: Final[tuple[QueryTarget, ...]] = ("cloudwatch", "bigquery", "duckdb")
#: Table a BigQuery query reads unless told otherwise: a Cloud Logging export's
#: date-sharded tables are named after the log.
DEFAULT_BIGQUERY_TABLE: Final = "PROJECT.DATASET.inferlog_*"
_PLAIN_NAME: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def duckdb_query(spec: StatsSpec, location: str | Sequence[str]) -> str:
    """The stats query over ``location`` (a path list, a glob, or an object-storage URL)."""
    header = "-- inferlog stats, as one DuckDB query.\n"
    if isinstance(location, str) and re.match(r"^[a-z0-9]+://", location):
        header += "-- Object storage needs: INSTALL httpfs; LOAD httpfs; (and credentials).\n"
    header += "SET TimeZone = 'UTC';\n"
    source = read_json_sql(location, source_columns(spec))
    return header + stats_sql(spec, source).rstrip() + ";\n"


def bigquery_query(spec: StatsSpec, table: str = DEFAULT_BIGQUERY_TABLE) -> str:
    """The stats query over a Cloud Logging export table (``project.dataset.table``)."""
    header = (
        "-- inferlog stats in BigQuery, over a Cloud Logging sink's export;\n"
        "-- the record's fields are columns of jsonPayload.\n"
    )
    return header + stats_sql(spec, f"`{table}`", BIGQUERY).rstrip() + ";\n"


def _cw(name: str) -> str:
    """A field reference in Logs Insights (backquoted unless a plain name)."""
    return name if _PLAIN_NAME.match(name) else f"`{name}`"


def cloudwatch_query(spec: StatsSpec) -> str:
    """The Logs Insights query for the CloudWatch sink's log group."""
    unsupported = [ref.name for ref in (*spec.by, *(f.field for f in spec.filters)) if ref.path]
    model = _cw(spec.field(schema.MODEL_ID))
    latency = _cw(spec.field(schema.LATENCY_MS))
    status = _cw(spec.field(schema.STATUS))
    rate = _cw(spec.field(schema.SAMPLE_RATE))
    filters = [f"ispresent({model})", f"ispresent({latency})"]
    for f in spec.filters:
        if f.field.path:
            continue
        operator = "!=" if f.negate else "="
        filters.append(f'{_cw(spec.field(f.field.root))} {operator} "{_escape(f.value)}"')
    derived = [
        f"coalesce(1 / {rate}, 1) as w",
        f'strcontains({status}, "error") * w as failed_w',
        f"w * {latency} as w_latency",
    ]
    sums = [
        "count(*) as records",
        "sum(w) as calls",
        "sum(failed_w) as failed_calls",
        *(f"pct({latency}, {int(q * 100)}) as latency_{name}_ms" for name, q in QUANTILES),
        "sum(w_latency) as latency_wsum",
    ]
    for short, field in TOKEN_FIELDS:
        x = _cw(spec.field(field))
        derived += [
            f"ispresent({x}) * w as {short}_w",
            f"w * {x} as {short}_x",
            f"w * {x} * {x} as {short}_xx",
            f"ispresent({x}) * w * {latency} as {short}_y",
            f"ispresent({x}) * w * {latency} * {latency} as {short}_yy",
            f"w * {x} * {latency} as {short}_xy",
        ]
        sums += [
            f"sum({short}_{part}) as {short}_{part}" for part in ("w", "x", "xx", "y", "yy", "xy")
        ]
    groups = [_cw(spec.field(ref.root)) for ref in spec.by if not ref.path]
    lines = [
        "# inferlog stats in CloudWatch Logs Insights (the CloudWatch sink's log group).",
        "# Calls are weighted by 1 / sample_rate; pct() is Logs Insights' own percentile,",
        "# not weighted. From the sums, per group and token kind k (input, output):",
        "#   error_rate = failed_calls / calls,  latency_mean_ms = latency_wsum / calls,",
        "#   mean tokens = k_x / k_w,  cov = k_xy/k_w - (k_x/k_w)(k_y/k_w),",
        "#   var_x = k_xx/k_w - (k_x/k_w)^2,  var_y = k_yy/k_w - (k_y/k_w)^2,",
        "#   r = cov / sqrt(var_x var_y),  ms per 1k tokens = 1000 cov / var_x",
    ]
    if unsupported:
        lines.append(f"# Payload paths are not available here and were left out: {unsupported}")
    lines.append("filter " + " and ".join(filters))
    lines.append("| fields " + ",\n    ".join(derived))
    by = f"\n  by {', '.join(groups)}" if groups else ""
    lines.append("| stats " + ",\n    ".join(sums) + by)
    if groups:
        lines.append(f"| sort {', '.join(f'{g} asc' for g in groups)}")
    return "\n".join(lines) + "\n"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def render_query(
    target: QueryTarget, spec: StatsSpec, *, location: str | Sequence[str] | None = None
) -> str:
    """The stats query for ``target``.

    ``location`` is the files, glob or URL (duckdb) or the table (bigquery).
    """
    if target == "duckdb":
        return duckdb_query(spec, location if location is not None else "logs/*.jsonl*")
    if target == "bigquery":
        table = location if isinstance(location, str) else DEFAULT_BIGQUERY_TABLE
        return bigquery_query(spec, table)
    return cloudwatch_query(spec)
