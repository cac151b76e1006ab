"""``inferlog spool resend``: deliver spooled records to their sink again."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
from typing import Any

from inferlog.analysis.errors import InputError, UsageError


def register(sub: Any) -> None:
    """Add ``spool`` (with ``resend``) to the command's subparsers."""
    parser = sub.add_parser(
        "spool",
        help="send spooled records again",
        description="Records a sink could not take are spooled as JSON lines; send them again.",
    )
    commands = parser.add_subparsers(dest="spool_command", required=True)
    again = commands.add_parser(
        "resend",
        help="deliver a spool's records to a sink and remove them from the spool",
        description=(
            "Deliver the records spooled for SINK_NAME to a handler built by FACTORY "
            "(module:callable returning a logging.Handler), then remove them from the spool. "
            "Without --handler the records are appended to --file as JSON lines."
        ),
    )
    again.add_argument("path", help="a spool file or a directory of spool files")
    again.add_argument("--handler", metavar="FACTORY", help="module:callable making the sink")
    again.add_argument("--file", metavar="PATH", help="a JSON-lines log file to append to")
    again.add_argument("--sink", metavar="SINK_NAME", help="only records spooled for this sink")
    parser.set_defaults(run=run)


def _handler(args: argparse.Namespace) -> logging.Handler:
    handler: logging.Handler
    if args.handler:
        module_name, _, attribute = str(args.handler).partition(":")
        if not module_name or not attribute:
            raise UsageError(f"--handler must be module:callable, got {args.handler!r}")
        try:
            factory = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as err:
            raise UsageError(f"--handler {args.handler!r}: {err}") from err
        made = factory()
        if not isinstance(made, logging.Handler):
            raise UsageError(f"--handler {args.handler!r} did not return a logging.Handler")
        handler = made
    elif args.file:
        from inferlog.handlers import RotatingJsonFileHandler

        handler = RotatingJsonFileHandler(args.file)
    else:
        raise UsageError("give --handler FACTORY or --file PATH")
    if args.sink:
        handler.set_name(args.sink)
    return handler


def run(args: argparse.Namespace) -> int:
    """Resend; exit 0 when everything was delivered, 1 when some records are left."""
    from inferlog.pipeline.spool import resend

    if not os.path.exists(args.path):
        raise InputError(f"no spool at {args.path}")
    handler = _handler(args)
    try:
        sent, left = resend(args.path, handler)
    finally:
        handler.close()
    print(f"resent {sent} record(s); {left} left in the spool")
    return 0 if left == 0 else 1
