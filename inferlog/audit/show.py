"""Reading one call back: the rows of a request id, as dicts."""

from __future__ import annotations

import contextlib
import json
import os
from typing import Any, Final

from inferlog.audit.schema import TABLE, connect

__all__ = ["JSON_COLUMNS", "find_calls", "format_call"]

#: Columns that hold JSON text; :func:`find_calls` gives them back parsed.
JSON_COLUMNS: Final = ("parameters", "request_payload", "response_payload")


def find_calls(path: str | os.PathLike[str], request_id: str) -> list[dict[str, Any]]:
    """Every row with ``request_id``, in chain order, JSON columns parsed.

    Raises ``FileNotFoundError`` when there is no database.
    """
    conn = connect(path, create=False)
    try:
        cursor = conn.execute(
            f"SELECT * FROM {TABLE} WHERE request_id = ? ORDER BY seq", (request_id,)
        )
        names = [d[0] for d in cursor.description]
        calls = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        conn.close()
    for call in calls:
        call["redacted"] = bool(call.get("redacted"))
        for name in JSON_COLUMNS:
            text = call.get(name)
            if isinstance(text, str):
                with contextlib.suppress(ValueError):
                    call[name] = json.loads(text)
    return calls


def format_call(call: dict[str, Any]) -> str:
    """One call as indented JSON, for people."""
    return json.dumps(call, indent=2, ensure_ascii=False, default=str)
