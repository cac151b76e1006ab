"""A tamper-evident audit trail of inference calls: :class:`AuditHandler` and its tools.

* :class:`AuditHandler` writes one hash-chained row per inference call to SQLite,
  and :func:`attach_audit_trail` puts it on a path of its own, out of sampling's reach;
* :func:`verify` checks the chain and names the first edited, deleted, inserted or
  reordered row; :func:`find_calls` reads the rows of a request id back;
* :func:`prune` deletes old rows and keeps the chain verifiable.

``inferlog audit verify DB`` and ``inferlog audit show REQUEST_ID`` are the same on
the command line (:mod:`inferlog.audit.cli`). See ``docs/audit.md``.
"""

from __future__ import annotations

from inferlog.audit.attach import attach_audit_trail
from inferlog.audit.handler import DEFAULT_AUDIT_PATH, AuditHandler
from inferlog.audit.retention import prune
from inferlog.audit.show import find_calls
from inferlog.audit.verify import Problem, VerifyResult, verify

__all__ = [
    "DEFAULT_AUDIT_PATH",
    "AuditHandler",
    "Problem",
    "VerifyResult",
    "attach_audit_trail",
    "find_calls",
    "prune",
    "verify",
]
