"""``inferlog drift``: PSI and KS of a logged input feature between windows or groups."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from inferlog.analysis.errors import UsageError
from inferlog.analysis.selection import TimeWindow, parse_time
from inferlog.cli import EXIT_FOUND
from inferlog.cli._common import add_paths, add_selection, report_files, selection
from inferlog.cli._output import FORMATS, render

__all__ = ["parse_window", "register", "run"]


def register(sub: Any) -> None:
    """Add the ``drift`` command to the subcommand parsers ``sub``."""
    parser = sub.add_parser(
        "drift",
        help="compare a logged input feature between time windows or model versions",
        description=(
            "Compare the distribution of FEATURE (a field, or a payload path such as "
            "request_payload.features.amount) in --window against --baseline-window, or "
            "across the groups of --by, with PSI and the two-sample KS statistic. Exit "
            "code 1 when drift is flagged."
        ),
    )
    add_paths(parser)
    parser.add_argument("--feature", required=True, metavar="FIELD", help="the feature to compare")
    parser.add_argument(
        "--baseline-window",
        metavar="START/END",
        help="baseline time window (either end may be empty)",
    )
    parser.add_argument("--window", metavar="START/END", help="time window compared with it")
    parser.add_argument("--by", metavar="FIELD", help="compare groups instead (model_version)")
    parser.add_argument(
        "--baseline", metavar="GROUP", help="with --by: the baseline group (first seen)"
    )
    parser.add_argument(
        "--psi-threshold", type=float, default=0.2, help="flag PSI at or above (0.2)"
    )
    parser.add_argument("--ks-threshold", type=float, default=0.1, help="flag KS at or above (0.1)")
    add_selection(parser)
    parser.add_argument("--format", choices=FORMATS, default="table", help="output (table)")
    parser.set_defaults(run=run)


def parse_window(text: str) -> TimeWindow:
    """``START/END`` -> a :class:`TimeWindow` (times as ``--since`` takes them)."""
    start, sep, end = text.partition("/")
    if not sep:
        raise UsageError(f"{text!r} is not a window: write START/END (either may be empty)")
    return TimeWindow(
        since=parse_time(start) if start.strip() else None,
        until=parse_time(end) if end.strip() else None,
    )


def run(args: argparse.Namespace) -> int:
    """Run ``inferlog drift``."""
    from inferlog.analysis.drift import compare
    from inferlog.analysis.selection import FieldRef

    window, filters = selection(args)
    if args.by and (args.window or args.baseline_window):
        raise UsageError("give either --by or the two windows, not both")
    if not args.by and not (args.window and args.baseline_window):
        raise UsageError("give --baseline-window and --window, or --by FIELD")
    if window.since or window.until:
        raise UsageError("drift takes --window/--baseline-window rather than --since/--until")
    result = compare(
        args.paths,
        FieldRef.parse(args.feature),
        baseline_window=parse_window(args.baseline_window) if args.baseline_window else None,
        window=parse_window(args.window) if args.window else None,
        by=FieldRef.parse(args.by) if args.by else None,
        baseline_group=args.baseline,
        filters=filters,
        schema_name=args.schema,
        psi_threshold=args.psi_threshold,
        ks_threshold=args.ks_threshold,
    )
    report_files("drift", result.files)
    columns = ["compared", "baseline_count", "count", "psi", "ks", "drifted"]
    rows = [
        {
            "compared": row.label,
            "baseline_count": row.baseline_count,
            "count": row.count,
            "psi": row.psi,
            "ks": row.ks,
            "drifted": "DRIFT" if row.drifted else "ok",
        }
        for row in result.rows
    ]
    if args.format == "table":
        print(f"{result.feature}: baseline {result.baseline}")
    render(
        args.format,
        columns,
        rows,
        extra={"feature": result.feature, "baseline": result.baseline},
        out=sys.stdout,
    )
    return EXIT_FOUND if result.drifted else 0
