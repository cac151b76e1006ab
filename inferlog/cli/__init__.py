"""The ``inferlog`` command (also ``python -m inferlog``).

Commands: ``demo``, ``stats``, ``trace``, ``replay``, ``drift``; one module each in
this package. Analysis commands need DuckDB: ``pip install 'inferlog[analysis]'``.

Exit codes:

====  =============================================================================
0     success
1     the check found something: ``drift`` flagged drift, ``replay`` found outputs
      that differ, ``trace`` found no record of the request
2     bad arguments (unknown option, malformed time, filter, field or callable)
3     the logs cannot be read (no such file, a glob that matches nothing)
4     an optional dependency is missing (the message names the extra to install)
130   interrupted (Ctrl-C)
====  =============================================================================
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Final

from inferlog.analysis.errors import InputError, MissingExtraError, UsageError

__all__ = [
    "EXIT_FOUND",
    "EXIT_INPUT",
    "EXIT_INTERRUPTED",
    "EXIT_MISSING_EXTRA",
    "EXIT_OK",
    "EXIT_USAGE",
    "build_parser",
    "main",
]

EXIT_OK: Final = 0
#: The check found something (drift, differing outputs, an unknown request).
EXIT_FOUND: Final = 1
#: Bad arguments; argparse uses the same code.
EXIT_USAGE: Final = 2
#: The logs cannot be read.
EXIT_INPUT: Final = 3
#: An optional dependency is missing.
EXIT_MISSING_EXTRA: Final = 4
#: Interrupted by Ctrl-C (128 + SIGINT).
EXIT_INTERRUPTED: Final = 130

Command = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    from inferlog.audit import cli as audit
    from inferlog.cli import demo, drift, replay, spool, stats, trace

    parser = argparse.ArgumentParser(
        prog="inferlog",
        description="Observable model-inference calls with standard logging.",
        epilog="exit codes: 0 ok, 1 the check found something, 2 bad arguments, "
        "3 unreadable logs, 4 missing optional dependency, 130 interrupted",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (demo, stats, trace, replay, drift, spool):
        module.register(sub)
    audit.add_parser(sub).set_defaults(run=audit.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``inferlog`` command; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    run: Command = args.run
    name = f"inferlog {args.command}"
    try:
        return run(args)
    except UsageError as err:
        print(f"{name}: {err}", file=sys.stderr)
        return EXIT_USAGE
    except InputError as err:
        print(f"{name}: {err}", file=sys.stderr)
        return EXIT_INPUT
    except MissingExtraError as err:
        print(f"{name}: {err}", file=sys.stderr)
        return EXIT_MISSING_EXTRA
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `inferlog stats ... | head`: the reader left; nothing more to say.
        return EXIT_OK
