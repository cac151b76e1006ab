"""``inferlog demo``: the simulated service, then ``inferlog stats`` on what it wrote."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from inferlog.analysis.errors import MissingExtraError, UsageError
from inferlog.cli._output import render
from inferlog.cli._progress import ProgressBar

__all__ = ["DEFAULT_CALLS", "register", "run"]

#: Calls the demo simulates unless ``--calls`` says otherwise.
DEFAULT_CALLS = 200


def register(sub: Any) -> None:
    """Add the ``demo`` command to the subcommand parsers ``sub``."""
    parser = sub.add_parser(
        "demo",
        help="run a simulated inference service through the full pipeline, then stats",
        description=(
            "Serve simulated LLM, fraud-scoring and vision calls (several model versions, "
            "a few users, varied token counts, some failures) through inferlog's pipeline "
            "(request context, inference records, redaction, sampling, the queue, rotating "
            "JSON files), then print `inferlog stats` on what this run wrote."
        ),
    )
    parser.add_argument(
        "--calls",
        "--requests",
        dest="calls",
        type=int,
        default=DEFAULT_CALLS,
        help=f"calls to simulate ({DEFAULT_CALLS})",
    )
    parser.add_argument(
        "--out",
        "--log-dir",
        dest="out",
        default="logs",
        help="directory the JSON files go to (./logs)",
    )
    parser.add_argument("--seed", type=int, default=7, help="random seed for the simulation (7)")
    parser.add_argument("--workers", type=int, default=4, help="serving threads (4)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run ``inferlog demo``."""
    from inferlog.demo import RUN_FIELD, format_summary, run_demo

    if args.calls < 1:
        raise UsageError("--calls must be at least 1")
    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    with ProgressBar(args.calls, "demo calls") as bar:
        summary = run_demo(
            args.calls, log_dir=args.out, seed=args.seed, workers=args.workers, on_call=bar.advance
        )
    print(format_summary(summary))
    try:
        from inferlog.analysis.selection import FieldFilter, FieldRef
        from inferlog.analysis.sql import StatsSpec
        from inferlog.analysis.stats import compute_stats

        spec = StatsSpec(filters=(FieldFilter(FieldRef(RUN_FIELD), summary.run_id),))
        result = compute_stats([str(path) for path in summary.files], spec)
    except MissingExtraError as err:
        print(f"\n(for the stats table: {err})", file=sys.stderr)
        return 0
    print(f"\ninferlog stats {args.out} --filter {RUN_FIELD}={summary.run_id}")
    render("table", result.columns, result.rows, out=sys.stdout)
    return 0
