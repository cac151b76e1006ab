"""``inferlog stats``: per group, calls, error rate, latency and the token relation."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from inferlog.analysis.errors import UsageError
from inferlog.analysis.selection import FieldRef
from inferlog.cli._common import add_paths, add_selection, report_files, selection
from inferlog.cli._output import FORMATS, render

__all__ = ["DEFAULT_BY", "register", "run"]

#: Grouping unless ``--by`` says otherwise.
DEFAULT_BY = "model_id,model_version"


def register(sub: Any) -> None:
    """Add the ``stats`` command to the subcommand parsers ``sub``."""
    parser = sub.add_parser(
        "stats",
        help="calls, error rate, latency p50/p95/p99 and the token/latency relation per group",
        description=(
            "Per group: calls (re-weighted by sample_rate), error rate, latency p50/p95/p99 "
            "and mean, input/output token means, and the correlation of latency with token "
            "counts with its slope in ms per 1k tokens. Reads plain and gzip files, rotated "
            "sets, spill files and globs; unreadable lines are counted, skipped and reported."
        ),
    )
    add_paths(parser, required=False)
    parser.add_argument(
        "--by",
        default=DEFAULT_BY,
        metavar="FIELDS",
        help=f"comma-separated fields to group by, or 'none' (default: {DEFAULT_BY})",
    )
    add_selection(parser)
    parser.add_argument("--format", choices=FORMATS, default="table", help="output (table)")
    parser.add_argument(
        "--query",
        choices=("cloudwatch", "bigquery", "duckdb"),
        help="print the same statistics as a query to run where the logs live, and exit",
    )
    parser.add_argument(
        "--source",
        metavar="WHERE",
        help="with --query: the files/URL glob (duckdb) or project.dataset.table (bigquery)",
    )
    parser.add_argument(
        "--plot", metavar="OUT.png", help="also draw latency against tokens and per group"
    )
    parser.add_argument(
        "--memory-limit", default=None, metavar="SIZE", help="DuckDB's memory ceiling (1GB)"
    )
    parser.set_defaults(run=run)


def parse_by(text: str) -> tuple[FieldRef, ...]:
    """``model_id,model_version`` -> field references; ``none`` -> no grouping."""
    if text.strip().lower() in ("", "none"):
        return ()
    return tuple(FieldRef.parse(name) for name in text.split(","))


def run(args: argparse.Namespace) -> int:
    """Run ``inferlog stats``."""
    from inferlog.analysis.sql import StatsSpec

    window, filters = selection(args)
    spec = StatsSpec(by=parse_by(args.by), window=window, filters=filters, schema=args.schema)
    if args.query:
        from inferlog.analysis.queries import render_query
        from inferlog.analysis.sources import resolve_paths

        location: str | list[str] | None = args.source
        if location is None and args.paths and args.query == "duckdb":
            location = [str(path) for path in resolve_paths(args.paths)]
        sys.stdout.write(render_query(args.query, spec, location=location))
        return 0
    if not args.paths:
        raise UsageError("give the log files to read (or --query to print a query)")
    from inferlog.analysis.stats import compute_stats

    if args.plot:
        from inferlog.analysis.plot import matplotlib_pyplot

        matplotlib_pyplot()  # fail before the work, not after it
    result = compute_stats(args.paths, spec, memory_limit=args.memory_limit, plot_path=args.plot)
    report_files("stats", result.files)
    extra = {
        "records": result.records,
        "unreadable_lines": result.unreadable,
        "files": [
            {"path": r.path, "records": r.records, "unreadable": r.unreadable, "torn": r.torn}
            for r in result.files
        ],
    }
    render(args.format, result.columns, result.rows, extra=extra, out=sys.stdout)
    if args.format == "table":
        if not result.rows:
            print(f"no inference records among {result.records} records", file=sys.stderr)
        if args.plot:
            print(f"plot written to {args.plot}", file=sys.stderr)
    return 0
