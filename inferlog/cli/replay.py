"""``inferlog replay``: logged requests against a shadow model."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import orjson

from inferlog.analysis.errors import UsageError
from inferlog.cli import EXIT_FOUND
from inferlog.cli._common import add_paths, add_selection, selection
from inferlog.cli._output import render
from inferlog.cli._progress import ProgressBar
from inferlog.reader import InvalidLine

__all__ = ["register", "run"]


def register(sub: Any) -> None:
    """Add the ``replay`` command to the subcommand parsers ``sub``."""
    parser = sub.add_parser(
        "replay",
        help="feed logged requests to a shadow model and compare the answers",
        description=(
            "Call MODEL with each logged request_payload and compare its answer with the "
            "logged response_payload (or with BASELINE's answer). Reports agreement per "
            "input shape, so an input format that changed shows up with the time it "
            "first appeared. Exit code 1 when agreement is below --min-agreement."
        ),
    )
    add_paths(parser)
    parser.add_argument(
        "--model", required=True, metavar="MODULE:CALLABLE", help="the model to replay against"
    )
    parser.add_argument(
        "--baseline",
        metavar="MODULE:CALLABLE",
        help="compare with this model's answers instead of the logged ones",
    )
    add_selection(parser)
    parser.add_argument(
        "--tolerance", type=float, default=1e-6, help="relative tolerance for numbers (1e-6)"
    )
    parser.add_argument(
        "--compare",
        metavar="KEY",
        help="compare only this part of the answers (decision, scores.fraud)",
    )
    parser.add_argument(
        "--min-agreement",
        type=float,
        default=1.0,
        metavar="SHARE",
        help="exit 1 when fewer records than this share agree (default 1.0: any difference)",
    )
    parser.add_argument(
        "--show", type=int, default=5, metavar="N", help="differing records to print (5)"
    )
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run ``inferlog replay``."""
    from inferlog.analysis.replay import load_callable, replay

    if not 0.0 <= args.min_agreement <= 1.0:
        raise UsageError("--min-agreement must be between 0 and 1")
    window, filters = selection(args)
    model = load_callable(args.model)
    baseline = load_callable(args.baseline) if args.baseline else None
    skipped: list[InvalidLine] = []
    with ProgressBar(None, "replayed") as bar:
        report = replay(
            args.paths,
            model,
            baseline=baseline,
            window=window,
            filters=filters,
            tolerance=args.tolerance,
            compare=args.compare,
            max_differences=max(args.show, 0),
            on_invalid=skipped.append,
            on_record=bar.advance,
        )
    if skipped:
        print(f"inferlog replay: skipped {len(skipped)} unreadable line(s)", file=sys.stderr)
    if report.replayed == 0:
        print(
            f"inferlog replay: nothing to replay ({report.skipped} records without a usable "
            "request or expected answer)",
            file=sys.stderr,
        )
    columns = [
        "shape",
        "first_seen",
        "last_seen",
        "replayed",
        "agreed",
        "failed",
        "agreement",
        "first_error",
    ]
    rows = [
        {
            "shape": s.shape,
            "first_seen": s.first_seen,
            "last_seen": s.last_seen,
            "replayed": s.replayed,
            "agreed": s.agreed,
            "failed": s.failed,
            "agreement": f"{100.0 * s.agreement:.1f}%",
            "first_error": s.first_error or "",
        }
        for s in report.shapes
    ]
    if args.format == "json":
        extra = {
            "replayed": report.replayed,
            "agreed": report.agreed,
            "failed": report.failed,
            "skipped": report.skipped,
            "agreement": report.agreement,
            "differences": [vars(d) for d in report.differences],
        }
        render("json", columns, rows, extra=extra, out=sys.stdout)
    else:
        against = "baseline" if baseline else "logged answers"
        print(
            f"replayed {report.replayed} requests against {against}: {report.agreed} agree "
            f"({100.0 * report.agreement:.1f}%), {report.differed} differ "
            f"({report.failed} raised), {report.skipped} skipped"
        )
        print("\nby input shape (first seen first):")
        render("table", columns, rows, out=sys.stdout)
        if report.differences:
            print(f"\nfirst {len(report.differences)} differing records:")
        for diff in report.differences:
            got = diff.error or orjson.dumps(diff.actual, default=str).decode()
            print(
                f"  {diff.timestamp} {diff.request_id}: request "
                f"{orjson.dumps(diff.request, default=str).decode()[:120]}\n"
                f"    expected {orjson.dumps(diff.expected, default=str).decode()[:120]}\n"
                f"    got      {got[:120]}"
            )
    return EXIT_FOUND if report.replayed and report.agreement < args.min_agreement else 0
