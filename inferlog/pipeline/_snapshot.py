"""The copy of a record that a queue holds: taken on the caller's thread, safe to keep.

The copy must not change after the call, and must not keep alive what the caller
is done with: the exception becomes data (a traceback holds frames), and the
message is formatted at once when an argument could still be mutated.
"""

from __future__ import annotations

import logging
import sys
from typing import Final

from inferlog._exceptions import EXCEPTION_ATTR, describe_exception
from inferlog._record import copy_record

# Message arguments of these types cannot change after the call, so formatting them
# can wait for the listener thread; anything else is formatted on the caller.
IMMUTABLE_ARG_TYPES: Final[frozenset[type]] = frozenset(
    {str, int, float, bool, type(None), bytes, complex}
)


def _args_are_immutable(args: object) -> bool:
    if type(args) is not tuple:
        return False
    # map() over a C-level predicate: no generator frame on the caller's hot path.
    return all(map(IMMUTABLE_ARG_TYPES.__contains__, map(type, args)))


def snapshot_record(record: logging.LogRecord) -> logging.LogRecord:
    """Return the copy of ``record`` to queue (``QueueHandler.prepare`` documents it)."""
    new = copy_record(record)
    exc_info = new.exc_info
    if exc_info:
        if exc_info is True:  # type: ignore[comparison-overlap]
            exc_info = sys.exc_info()
        new.__dict__[EXCEPTION_ATTR] = describe_exception(exc_info)
        new.exc_info = None
        new.exc_text = None
    args = new.args
    if args and not _args_are_immutable(args):
        try:
            new.msg = new.getMessage()
            new.args = ()
        except Exception:
            pass  # the sink's formatter reports the bad format string
    return new
