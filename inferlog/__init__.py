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
implementation details. The names are imported on first use (PEP 562), so that
``import inferlog`` stays cheap: a process pays for the formatter, redaction engine
or middleware only when it touches them.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from inferlog._version import __version__

if TYPE_CHECKING:
    from inferlog import middleware
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
    from inferlog.sampling import (
        ErrorBufferHandler,
        SampledLogger,
        SamplingFilter,
        force_sampling,
    )

#: Where each lazily imported public name lives: name -> module.
_LAZY: dict[str, str] = {
    "middleware": "inferlog.middleware",
    "Pipeline": "inferlog.config",
    "configure": "inferlog.config",
    "shutdown": "inferlog.config",
    "ContextFilter": "inferlog.context",
    "bind": "inferlog.context",
    "current_context": "inferlog.context",
    "current_request_id": "inferlog.context",
    "new_request_id": "inferlog.context",
    "request_context": "inferlog.context",
    "unbind": "inferlog.context",
    "ConsoleFormatter": "inferlog.formatting",
    "JsonFormatter": "inferlog.formatting",
    "InferenceCall": "inferlog.inference",
    "current_inference": "inferlog.inference",
    "inference": "inferlog.inference",
    "ContextProcessPoolExecutor": "inferlog.propagation",
    "ContextThread": "inferlog.propagation",
    "ContextThreadPoolExecutor": "inferlog.propagation",
    "extract_headers": "inferlog.propagation",
    "inject_headers": "inferlog.propagation",
    "wrap": "inferlog.propagation",
    "QueueHandler": "inferlog.pipeline.queue",
    "install_process_sender": "inferlog.pipeline.queue",
    "read_records": "inferlog.reader",
    "RedactionFilter": "inferlog.redaction",
    "Redactor": "inferlog.redaction",
    "ErrorBufferHandler": "inferlog.sampling",
    "SampledLogger": "inferlog.sampling",
    "SamplingFilter": "inferlog.sampling",
    "force_sampling": "inferlog.sampling",
}

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
    "SampledLogger",
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


def __getattr__(name: str) -> Any:
    """Import a public name on first use and keep it (PEP 562)."""
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(module_name)
    value = module if module_name == f"{__name__}.{name}" and name not in _SHADOWED else None
    if value is None:
        value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


#: Public names that are also the names of submodules. Importing the submodule makes
#: importlib set it as an attribute of this package, which would hide the public name
#: (``inferlog.inference`` the function behind ``inferlog.inference`` the package);
#: :class:`_Package` keeps the public name.
_SHADOWED: frozenset[str] = frozenset({"inference"})


class _Package(types.ModuleType):
    """This package's module type: a submodule import never hides a public name."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _SHADOWED and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
