"""Arguments and messages the analysis commands share."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from inferlog import schema
from inferlog.analysis.engine import FileReport
from inferlog.analysis.selection import FieldFilter, TimeWindow, parse_filter, parse_time

__all__ = ["add_paths", "add_selection", "report_files", "selection"]


def add_paths(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    """``PATHS...``: files, directories (rotated sets, spill files) and globs."""
    parser.add_argument(
        "paths",
        nargs="+" if required else "*",
        metavar="PATHS",
        help="JSON-lines files (plain or .gz), directories of them, or globs",
    )


def add_selection(parser: argparse.ArgumentParser) -> None:
    """``--since``, ``--until``, ``--filter`` and ``--schema``."""
    parser.add_argument(
        "--since",
        metavar="TIME",
        help="only records at or after TIME (ISO 8601, or 30m, 12h, 7d ago)",
    )
    parser.add_argument("--until", metavar="TIME", help="only records before TIME")
    parser.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="only records whose FIELD is (=) or is not (!=) VALUE; repeat to combine",
    )
    parser.add_argument(
        "--schema",
        choices=schema.SCHEMAS,
        default="inferlog",
        help="field names the records were written with (default: inferlog)",
    )


def selection(args: argparse.Namespace) -> tuple[TimeWindow, tuple[FieldFilter, ...]]:
    """The time window and filters of ``args`` (raises UsageError for bad ones)."""
    window = TimeWindow(
        since=parse_time(args.since) if args.since else None,
        until=parse_time(args.until) if args.until else None,
    )
    return window, tuple(parse_filter(text) for text in args.filter)


def report_files(command: str, reports: Sequence[FileReport]) -> None:
    """Say on stderr which lines were skipped, per file (nothing when none were)."""
    for report in reports:
        if not (report.unreadable or report.note):
            continue
        parts = []
        if report.unreadable:
            skipped = f"{report.unreadable} unreadable line(s) skipped"
            if report.torn:
                skipped += ", the last one torn (its writer stopped mid-line)"
            parts.append(skipped)
        if report.note:
            parts.append(report.note)
        what = "; ".join(parts)
        print(f"inferlog {command}: {report.path}: {what}", file=sys.stderr)
