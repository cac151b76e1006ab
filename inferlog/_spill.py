"""Former home of the spill; see :mod:`inferlog.pipeline.spool`."""

from __future__ import annotations

from inferlog.pipeline.spool import (
    DEFAULT_SPILL_NAME,
    SPILL_FILE_MODE,
    default_spill_path,
    record_to_spill_dict,
    spill_records,
)

__all__ = [
    "DEFAULT_SPILL_NAME",
    "SPILL_FILE_MODE",
    "default_spill_path",
    "record_to_spill_dict",
    "spill_records",
]
