"""The errors the analysis modules raise, each mapped to one exit code by the CLI."""

from __future__ import annotations

__all__ = ["AnalysisError", "InputError", "MissingExtraError", "UsageError"]


class AnalysisError(Exception):
    """Base of the errors an analysis step reports to its user (never a crash)."""


class InputError(AnalysisError):
    """The logs to read are missing, unreadable or hold nothing to analyse."""


class UsageError(AnalysisError, ValueError):
    """An argument cannot work: a bad field name, time, filter or callable."""


class MissingExtraError(AnalysisError, ImportError):
    """An optional dependency is not installed; the message names the extra."""

    def __init__(self, package: str, extra: str) -> None:
        super().__init__(
            f"{package} is not installed; install it with: pip install 'inferlog[{extra}]'"
        )
        self.package = package
        self.extra = extra
