"""Which files an analysis reads: paths, directories, globs, rotated sets and spill files.

A directory stands for the JSON-lines files in it (as :func:`inferlog.read_records`
reads them); a path with ``*``, ``?`` or ``[`` is a glob. Every path must match
something: a typo is an :class:`~inferlog.analysis.errors.InputError`, not an empty
report.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Sequence

from inferlog.analysis.errors import InputError
from inferlog.reader import expand_paths

__all__ = ["resolve_paths"]

_GLOB_CHARS = frozenset("*?[")


def _is_glob(path: str) -> bool:
    return not os.path.exists(path) and any(char in path for char in _GLOB_CHARS)


def resolve_paths(paths: str | Iterable[str]) -> list[str]:
    """Return the files that ``paths`` (files, directories, globs) stand for, in order.

    Raises:
        InputError: when no path is given, a path does not exist, a glob matches
            nothing, or a directory holds no file.
    """
    items: Sequence[str] = [paths] if isinstance(paths, str) else list(paths)
    if not items:
        raise InputError("no log files given")
    expanded: list[str] = []
    for item in items:
        if _is_glob(item):
            matches = sorted(glob.glob(item))
            if not matches:
                raise InputError(f"{item}: no file matches this pattern")
            expanded.extend(matches)
        elif not os.path.exists(item):
            raise InputError(f"{item}: no such file or directory")
        else:
            expanded.append(item)
    files = expand_paths(expanded)
    if not files:
        raise InputError(f"no log files in {', '.join(items)}")
    for name in files:
        if not os.access(name, os.R_OK):
            raise InputError(f"{name}: not readable (permission denied)")
    return files
