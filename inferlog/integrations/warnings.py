"""``warnings.warn`` through the pipeline: :func:`logging.captureWarnings`, routed.

With capture on, the stdlib logs each warning on the ``py.warnings`` logger at
WARNING; it propagates to the root logger, and a forwarder covers a pipeline that is
attached to other loggers only.
"""

from __future__ import annotations

import logging
from typing import Final

from inferlog.integrations._forward import attach, detach, forwarders

__all__ = ["WARNINGS_LOGGER", "capture_warnings", "release_warnings"]

#: The logger :func:`logging.captureWarnings` writes to.
WARNINGS_LOGGER: Final = "py.warnings"


def capture_warnings(target: logging.Handler) -> list[str]:
    """Turn on :func:`logging.captureWarnings` and forward ``py.warnings`` to ``target``."""
    logging.captureWarnings(True)
    attach(target, WARNINGS_LOGGER)
    return [WARNINGS_LOGGER]


def release_warnings(target: logging.Handler) -> None:
    """Undo :func:`capture_warnings` for ``target``.

    Capture is turned off when no other pipeline still forwards warnings: when
    :func:`inferlog.configure` replaces a pipeline, the new one is installed first.
    """
    if detach(target, WARNINGS_LOGGER) and not forwarders(WARNINGS_LOGGER):
        logging.captureWarnings(False)
