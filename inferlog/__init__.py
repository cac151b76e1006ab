"""inferlog: observable model-inference calls with nothing but the standard ``logging``.

Quick start::

    import logging
    import inferlog

    inferlog.configure()                      # JSON lines to ./logs/inferlog.jsonl and stderr
    log = logging.getLogger("fraud")
    with inferlog.request_context(user_id="u-42"):
        with inferlog.inference(model_id="fraud-gbm", model_version="3.2.0") as call:
            call.request({"amount": 12.5})
            call.response({"score": 0.03})

The public surface is re-exported here; modules whose names start with ``_`` are
implementation details.
"""

from __future__ import annotations

from inferlog import middleware
from inferlog._version import __version__
from inferlog.config import Pipeline, configure, shutdown
from inferlog.context import (
    ContextFilter,
    bind,
    current_context,
    current_request_id,
    new_request_id,
    request_context,
    unbind,
)
from inferlog.formatting import ConsoleFormatter, JsonFormatter
from inferlog.inference import InferenceCall, current_inference, inference
from inferlog.pipeline.queue import QueueHandler, install_process_sender
from inferlog.propagation import (
    ContextProcessPoolExecutor,
    ContextThread,
    ContextThreadPoolExecutor,
    extract_headers,
    inject_headers,
    wrap,
)
from inferlog.reader import read_records
from inferlog.redaction import RedactionFilter, Redactor
from inferlog.sampling import ErrorBufferHandler, SamplingFilter, force_sampling

__all__ = [
    "ConsoleFormatter",
    "ContextFilter",
    "ContextProcessPoolExecutor",
    "ContextThread",
    "ContextThreadPoolExecutor",
    "ErrorBufferHandler",
    "InferenceCall",
    "JsonFormatter",
    "Pipeline",
    "QueueHandler",
    "RedactionFilter",
    "Redactor",
    "SamplingFilter",
    "__version__",
    "bind",
    "configure",
    "current_context",
    "current_inference",
    "current_request_id",
    "extract_headers",
    "force_sampling",
    "inference",
    "inject_headers",
    "install_process_sender",
    "middleware",
    "new_request_id",
    "read_records",
    "request_context",
    "shutdown",
    "unbind",
    "wrap",
]
