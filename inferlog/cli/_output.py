"""Printing results: tables that fit the terminal, JSON and CSV."""

from __future__ import annotations

import csv
import io
import math
import shutil
from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal, TextIO

import orjson

__all__ = [
    "DROP_ORDER",
    "FORMATS",
    "HEADERS",
    "OutputFormat",
    "format_value",
    "render",
    "render_table",
    "terminal_width",
]

OutputFormat = Literal["table", "json", "csv"]
#: The accepted values of ``--format``.
FORMATS: Final[tuple[OutputFormat, ...]] = ("table", "json", "csv")

#: Short headers for the statistics columns; any other column keeps its name.
HEADERS: Final[Mapping[str, str]] = {
    "model_id": "model",
    "model_version": "version",
    "records": "records",
    "calls": "calls",
    "error_rate": "err %",
    "latency_p50_ms": "p50 ms",
    "latency_p95_ms": "p95 ms",
    "latency_p99_ms": "p99 ms",
    "latency_mean_ms": "mean ms",
    "input_tokens_mean": "in tok",
    "output_tokens_mean": "out tok",
    "input_tokens_latency_corr": "r(in)",
    "latency_ms_per_1k_input_tokens": "ms/1k in",
    "output_tokens_latency_corr": "r(out)",
    "latency_ms_per_1k_output_tokens": "ms/1k out",
}
_GAP: Final = "  "


def format_value(column: str, value: Any) -> str:
    """How a table shows ``value`` of ``column`` (``-`` for none)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if column == "error_rate":
        return f"{100.0 * value:.1f}"
    if column.endswith("_corr") or column in ("psi", "ks"):
        return f"{value:.2f}"
    if column == "calls":
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.1f}"


#: Columns left out first when a table is wider than the terminal, in this order.
DROP_ORDER: Final = (
    "records",
    "latency_mean_ms",
    "latency_p99_ms",
    "input_tokens_mean",
    "output_tokens_mean",
)


def _aligned(columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> list[str]:
    headers = [HEADERS.get(column, column) for column in columns]
    cells = [[format_value(column, row.get(column)) for column in columns] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    numeric = [
        all(isinstance(row.get(c), (int, float)) or row.get(c) is None for row in rows)
        for c in columns
    ]

    def line(values: Sequence[str]) -> str:
        cells = zip(values, widths, numeric, strict=True)
        parts = [v.rjust(w) if num else v.ljust(w) for v, w, num in cells]
        return _GAP.join(parts).rstrip()

    return [line(headers), *(line(r) for r in cells)]


def render_table(
    columns: Sequence[str], rows: Sequence[Mapping[str, Any]], *, width: int | None = None
) -> str:
    """Rows as an aligned table no wider than ``width`` (None: no limit).

    Too wide, it leaves out the columns of :data:`DROP_ORDER` one by one and says so;
    still too wide, it shows one block of ``header  value`` lines per row.
    """
    shown = list(columns)
    lines = _aligned(shown, rows)
    hidden: list[str] = []
    for column in DROP_ORDER:
        if width is None or max(len(line) for line in lines) <= width:
            break
        if column in shown:
            shown.remove(column)
            hidden.append(HEADERS.get(column, column))
            lines = _aligned(shown, rows)
    if width is None or max(len(line) for line in lines) <= width:
        if hidden:
            lines.append(f"({', '.join(hidden)} left out to fit; --format json has them)")
        return "\n".join(lines)
    headers = [HEADERS.get(column, column) for column in columns]
    label = max(len(h) for h in headers)
    blocks = [
        "\n".join(
            f"{h.rjust(label)}  {format_value(c, row.get(c))}"
            for h, c in zip(headers, columns, strict=True)
        )
        for row in rows
    ]
    return "\n\n".join(blocks)


def terminal_width(out: TextIO) -> int | None:
    """Columns of the terminal ``out`` writes to, or None when it is not one."""
    if not getattr(out, "isatty", lambda: False)():
        return None
    return shutil.get_terminal_size((100, 24)).columns


def render(
    fmt: OutputFormat,
    columns: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
    *,
    extra: Mapping[str, Any] | None = None,
    out: TextIO,
) -> None:
    """Write ``rows`` to ``out`` as a table, JSON (with ``extra`` keys) or CSV."""
    if fmt == "json":
        document = {"columns": list(columns), "rows": [dict(r) for r in rows], **(extra or {})}
        out.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")
    elif fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
        out.write(buffer.getvalue())
    else:
        out.write(render_table(columns, rows, width=terminal_width(out)) + "\n")
