"""The ``inferlog audit`` command: ``verify DB``, ``show REQUEST_ID``, ``prune DB``.

Wired into the ``inferlog`` console script through :func:`add_parser` and :func:`run`.
Exit codes: 0 when the chain verifies (or the call was found, or pruning worked), 1
when verification finds a problem or no call has that request id, 2 for usage
errors and a database that cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from typing import Any

from inferlog.audit.chain import DEFAULT_KEY_ENV, resolve_key
from inferlog.audit.retention import prune
from inferlog.audit.show import find_calls, format_call
from inferlog.audit.verify import verify

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``audit`` (with ``verify``, ``show``, ``prune``) to ``subparsers``; return it."""
    audit = subparsers.add_parser(
        "audit",
        help="verify or read the audit trail (SQLite)",
        description="Check the hash chain of an audit database, or print one call from it.",
    )
    sub = audit.add_subparsers(dest="audit_command", required=True)
    check = sub.add_parser(
        "verify",
        help="check the hash chain; name the first edited, deleted, inserted or reordered row",
    )
    check.add_argument("db", help="the audit database file")
    check.add_argument(
        "--key-env",
        default=DEFAULT_KEY_ENV,
        help=f"environment variable holding the HMAC key, if the chain has one ({DEFAULT_KEY_ENV})",
    )
    check.add_argument("--json", action="store_true", help="print the result as JSON")
    show = sub.add_parser("show", help="print the call(s) with a request id")
    show.add_argument("request_id", help="the request id to look up")
    show.add_argument("--db", default="audit.db", help="the audit database file (audit.db)")
    trim = sub.add_parser("prune", help="delete old rows, keeping the chain verifiable")
    trim.add_argument("db", help="the audit database file")
    trim.add_argument(
        "--max-age-days", type=float, default=None, help="delete rows older than this"
    )
    trim.add_argument("--max-rows", type=int, default=None, help="keep at most this many rows")
    audit.set_defaults(run=run)
    parser: argparse.ArgumentParser = audit
    return parser


def _verify(args: argparse.Namespace) -> int:
    result = verify(args.db, key=resolve_key(None, args.key_env))
    if args.json:
        problem = result.problem
        print(
            json.dumps(
                {
                    "ok": result.ok,
                    "rows": result.rows,
                    "first_seq": result.first_seq,
                    "last_seq": result.last_seq,
                    "problem": None
                    if problem is None
                    else {
                        "kind": problem.kind,
                        "seq": problem.seq,
                        "request_id": problem.request_id,
                        "detail": problem.detail,
                    },
                }
            )
        )
    elif result.ok:
        print(f"OK: {result.rows} rows verified (seq {result.first_seq}..{result.last_seq})")
    else:
        print(f"FAILED after {result.rows} good rows: {result.problem}")
    return 0 if result.ok else 1


def _show(args: argparse.Namespace) -> int:
    calls = find_calls(args.db, args.request_id)
    if not calls:
        print(f"no call with request_id {args.request_id!r} in {args.db}", file=sys.stderr)
        return 1
    for call in calls:
        print(format_call(call))
    return 0


def _prune(args: argparse.Namespace) -> int:
    if args.max_age_days is None and args.max_rows is None:
        print("inferlog audit prune: give --max-age-days and/or --max-rows", file=sys.stderr)
        return 2
    if (args.max_rows is not None and args.max_rows < 0) or (
        args.max_age_days is not None and args.max_age_days < 0
    ):
        print("inferlog audit prune: limits must be >= 0", file=sys.stderr)
        return 2
    max_age = None if args.max_age_days is None else args.max_age_days * 86_400
    deleted = prune(args.db, max_age=max_age, max_rows=args.max_rows)
    print(f"deleted {deleted} rows; the chain is anchored at the last deleted row")
    return 0


def run(args: argparse.Namespace) -> int:
    """Run the ``audit`` subcommand parsed into ``args``; return the exit code."""
    commands = {"verify": _verify, "show": _show, "prune": _prune}
    try:
        return commands[args.audit_command](args)
    except FileNotFoundError as err:
        print(f"inferlog audit: {err}", file=sys.stderr)
        return 2
    except sqlite3.Error as err:
        print(f"inferlog audit: cannot read {args.db}: {err}", file=sys.stderr)
        return 2
