"""Former home of the queue; everything here now lives in :mod:`inferlog.pipeline`.

Kept so that ``inferlog.queueing.QueueHandler`` in existing ``dictConfig`` files and
imports goes on working.
"""

from __future__ import annotations

from inferlog.pipeline.queue import *  # noqa: F403
from inferlog.pipeline.queue import __all__ as __all__
