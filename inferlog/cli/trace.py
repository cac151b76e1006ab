"""``inferlog trace``: every record of one request, in time order, as a tree."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import orjson

from inferlog import schema
from inferlog.cli import EXIT_FOUND
from inferlog.cli._common import add_paths, add_selection, selection
from inferlog.reader import InvalidLine

__all__ = ["register", "run"]


def register(sub: Any) -> None:
    """Add the ``trace`` command to the subcommand parsers ``sub``."""
    parser = sub.add_parser(
        "trace",
        help="every record of one request across files and processes, as a tree",
        description=(
            "Find every record of REQUEST_ID in the files (all processes and services "
            "that logged it), in time order; the access record is the parent of the "
            "records logged while it ran. Exit code 1 when no record has that id."
        ),
    )
    parser.add_argument("request_id", metavar="REQUEST_ID")
    add_paths(parser)
    add_selection(parser)
    parser.add_argument(
        "--format", choices=("tree", "json"), default="tree", help="tree (default) or JSON lines"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run ``inferlog trace``."""
    from inferlog.analysis.trace import build_tree, describe, find_request, is_error, walk

    window, filters = selection(args)
    skipped: list[InvalidLine] = []
    records = find_request(
        args.paths, args.request_id, window=window, filters=filters, on_invalid=skipped.append
    )
    lines = [line for line in skipped if not line.is_note]
    if lines:
        torn = sum(1 for line in lines if line.torn)
        print(
            f"inferlog trace: skipped {len(lines)} unreadable line(s) ({torn} torn)",
            file=sys.stderr,
        )
    for note in skipped:
        if note.is_note:
            print(f"inferlog trace: {note.path}: {note.excerpt}", file=sys.stderr)
    if not records:
        print(f"inferlog trace: no record has request_id {args.request_id!r}", file=sys.stderr)
        return EXIT_FOUND
    nodes = list(walk(build_tree(records)))
    if args.format == "json":
        for depth, node in nodes:
            line = {"depth": depth, **node.record}
            sys.stdout.write(orjson.dumps(line, default=str).decode() + "\n")
        return 0
    errors = sum(1 for _, node in nodes if is_error(node.record))
    print(f"request {args.request_id}: {len(records)} records, {errors} with errors")
    for depth, node in nodes:
        record = node.record
        indent = "   " * max(0, depth - 1) + ("└─ " if depth else "")
        mark = "  ✗" if is_error(record) else ""
        print(
            f"{record.get(schema.TIMESTAMP, '?')}  {indent}"
            f"{record.get(schema.LEVEL, '')!s:<7} {record.get(schema.LOGGER, '')}: "
            f"{describe(record)}{mark}"
        )
    return 0
