"""The pipeline's stages and the extension points for new sinks.

* :mod:`inferlog.pipeline.queue`: :class:`QueueHandler`, the bounded queue and its
  listener thread, in front of every sink;
* :mod:`inferlog.pipeline.lifecycle`: the :class:`Lifecycle` protocol that every
  handler with a buffer or a thread implements, its registry and
  :func:`shutdown_all` (exit hook, SIGTERM, fork);
* :mod:`inferlog.pipeline.batch`: :class:`BatchSink`, the base of sinks fed in
  batches, with acknowledgement, deadline and cancel;
* :mod:`inferlog.pipeline.spool`: :class:`Spool`, one on-disk format for what could
  not be delivered, and :func:`resend`.

See :doc:`/architecture` for how the stages fit and a worked example of a new sink.
"""

from __future__ import annotations

from inferlog.pipeline.batch import BatchSink
from inferlog.pipeline.lifecycle import (
    DEFAULT_SHUTDOWN_TIMEOUT,
    STAGE_QUEUE,
    STAGE_SINK,
    Lifecycle,
    ShutdownReport,
    install_signal_handlers,
    live_participants,
    register_at_fork,
    register_participant,
    shutdown_all,
    unregister_participant,
)
from inferlog.pipeline.queue import QueueHandler, QueueStats
from inferlog.pipeline.spool import Spool, resend

__all__ = [
    "DEFAULT_SHUTDOWN_TIMEOUT",
    "STAGE_QUEUE",
    "STAGE_SINK",
    "BatchSink",
    "Lifecycle",
    "QueueHandler",
    "QueueStats",
    "ShutdownReport",
    "Spool",
    "install_signal_handlers",
    "live_participants",
    "register_at_fork",
    "register_participant",
    "resend",
    "shutdown_all",
    "unregister_participant",
]
