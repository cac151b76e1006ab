"""The ``inferlog`` console script."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="inferlog", description="Observable model-inference calls with standard logging."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo",
        help="run a simulated inference service through the full pipeline",
        description=(
            "Serve simulated LLM, fraud-scoring and vision calls (several model versions, "
            "a few users, varied token counts, some failures) through inferlog's pipeline "
            "into rotating JSON files, then summarise what was written."
        ),
    )
    demo.add_argument("--requests", type=int, default=200, help="calls to simulate (200)")
    demo.add_argument("--log-dir", default="logs", help="where the JSON files go (./logs)")
    demo.add_argument("--seed", type=int, default=7, help="random seed for the simulation (7)")
    demo.add_argument("--workers", type=int, default=4, help="serving threads (4)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``inferlog`` command; returns the process exit code."""
    args = _build_parser().parse_args(argv)
    if args.command == "demo":
        from inferlog.demo import format_summary, run_demo

        if args.requests < 1:
            print("inferlog demo: --requests must be at least 1", file=sys.stderr)
            return 2
        summary = run_demo(
            args.requests, log_dir=args.log_dir, seed=args.seed, workers=args.workers
        )
        print(format_summary(summary))
        return 0
    return 2  # pragma: no cover - argparse rejects unknown commands first


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
