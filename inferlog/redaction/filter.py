"""The :class:`RedactionFilter`: redacts every part of a log record before it is formatted."""

from __future__ import annotations

import logging
import operator
from collections.abc import Callable, Mapping
from typing import Any, Final

from inferlog import _diagnostics
from inferlog._exceptions import EXCEPTION_ATTR, ExceptionInfo, describe_exception
from inferlog._options import check_text
from inferlog._record import MEMO_ATTR, STANDARD_RECORD_ATTRS
from inferlog._safe import safe_str
from inferlog.redaction._walk import BIG_INT, FAILED_TOKEN, report_failure
from inferlog.redaction.redactor import Redactor
from inferlog.schema import MESSAGE_ARGS_FIELD, MESSAGE_ERROR_FIELD

#: Private record attribute (never an extra) naming the configuration that redacted it.
REDACTED_MARK_ATTR = "_inferlog_redacted"
# Layouts (attribute names in order) whose reading plan a filter keeps at most.
_PLAN_CACHE_LIMIT = 4_096
# Owner ids of the record's texts other than extras (which are numbered from 0).
_MESSAGE = -1
_TEXT_ATTR_BASE = -2
_TEXT_ATTRS = ("exc_text", "stack_info", "message")


class _Changes(dict[Any, Any]):
    """What redacting one record changed: ``{attribute: new value}``.

    ``dropped`` names the attributes it removed, ``layout`` the attribute names of
    the record it was computed from, in order: the changes are applied only to a
    copy that has the same.
    """

    __slots__ = ("dropped", "layout")

    dropped: tuple[Any, ...]
    layout: tuple[Any, ...]

    @classmethod
    def between(cls, before: dict[Any, Any], after: dict[Any, Any]) -> _Changes:
        """The changes that turn a record's ``before`` attributes into ``after``."""
        changes = cls()
        missing = before.get
        for key, value in after.items():
            if missing(key, _ABSENT) is not value:
                changes[key] = value
        changes.pop(REDACTED_MARK_ATTR, None)
        changes.dropped = tuple(key for key in before if key not in after)
        changes.layout = tuple(before)
        return changes


_ABSENT: Any = object()


class _RecordPlan:
    """The extras of one record layout: their names, and a C-level reader of their values."""

    __slots__ = ("keys", "values")

    def __init__(self, keys: tuple[str, ...]) -> None:
        self.keys = keys
        self.values: Callable[[Mapping[str, Any]], tuple[Any, ...]]
        if not keys:
            self.values = lambda _attributes: ()
        elif len(keys) == 1:
            key = keys[0]
            self.values = lambda attributes: (attributes[key],)
        else:
            self.values = operator.itemgetter(*keys)


_NO_PLAN: Any = object()
# Value types a record on the fast path may hold: strings and leaves without text
# (ints too when they are small, checked apart).
_FLAT_TYPES: frozenset[type] = frozenset({str, float, bool, type(None)})
# Containers whose strings the planned path collects (the walk takes the others).
_CONTAINER_TYPES: frozenset[type] = frozenset({dict, list, tuple})


_SCALAR_TYPES: Final = frozenset({str, int, float, bool, type(None)})


class RedactionFilter(logging.Filter):
    """A logging filter that redacts every part of a record before anything formats it.

    Redacts the message after ``%``-merging (``record.msg`` becomes the redacted text
    and ``record.args`` None; a dict message is redacted as data), every ``extra=``
    field (``drop`` mode deletes the field), the ``exception`` object (built from
    ``exc_info`` with :func:`~inferlog._exceptions.describe_exception` if a queue has
    not done so already, after which ``exc_info`` and ``exc_text`` are cleared so no
    formatter renders the raw traceback) and ``stack_info``. Always returns True.

    Takes the keyword arguments of :class:`Redactor` (plain types, so it can be
    built from ``logging.config.dictConfig``), or a ready ``redactor``.
    It never raises: a field whose redaction fails becomes ``[REDACTED:ERROR]``.
    """

    def __init__(self, name: str = "", *, redactor: Redactor | None = None, **options: Any):
        super().__init__(check_text("name", name))
        if redactor is not None and options:
            raise ValueError("pass either redactor= or Redactor options, not both")
        if redactor is not None and not isinstance(redactor, Redactor):
            raise TypeError(f"redactor must be a Redactor, got {redactor!r}")
        self.redactor = redactor if redactor is not None else Redactor(**options)
        #: ``errors``: fields replaced by ``[REDACTED:ERROR]`` since start-up.
        self.counters = _diagnostics.Counters()
        # Record layout (its attribute names, in order; records logged from one call
        # site share it) -> how to read its extras, or None for the general path.
        self._plans: dict[tuple[Any, ...], _RecordPlan | None] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact ``record`` and keep it; only attributes of this record object change.

        New values are assigned to the record's attributes; no value object is changed
        in place, so a copy of the record made for another sink keeps what it holds.
        A record that this filter, or any with an equivalent configuration, already
        redacted carries a private mark and is not scanned again.

        Copies of one record made for several sinks share a memo dict (see
        ``inferlog._record.MEMO_ATTR``): the first copy a configuration redacts
        leaves the attributes it changed there under the configuration's mark, and
        every other copy of the same record with the same attributes gets them with
        one ``__dict__.update`` instead of a scan. A copy already changed by a filter
        of another configuration is scanned as usual and leaves no memo.
        """
        attributes = record.__dict__
        mark = self.redactor.mark
        done = attributes.get(REDACTED_MARK_ATTR)
        if done is mark:
            return True
        memo = attributes.get(MEMO_ATTR) if done is None else None
        before: dict[Any, Any] | None = None
        if type(memo) is dict:
            changes = memo.get(mark)
            if type(changes) is dict or (
                type(changes) is _Changes and changes.layout == tuple(attributes)
            ):
                attributes.update(changes)
                for key in getattr(changes, "dropped", ()):
                    attributes.pop(key, None)
                attributes[REDACTED_MARK_ATTR] = mark
                return True
            if changes is None:
                before = attributes.copy()
        try:
            self._redact_record(record)
            attributes[REDACTED_MARK_ATTR] = mark
        except Exception as err:  # pragma: no cover - every field is guarded below
            self._failed("record", err)
            record.msg, record.args = FAILED_TOKEN, None
            return True
        if before is not None and type(memo) is dict:
            memo.setdefault(mark, _Changes.between(before, attributes))
        return True

    def _failed(self, where: str, err: BaseException) -> None:
        self.counters.add("errors")
        report_failure(where, err)

    def _plan(self, layout: tuple[Any, ...]) -> _RecordPlan | None:
        """How to read the extras of records with this layout; None for the general path.

        The fast path takes records whose extra names are all str, none names a
        secret, and none is ``exception``; what their values hold is checked per record.
        """
        redactor = self.redactor
        keys: list[str] = []
        for key in layout:
            if not isinstance(key, str):
                return None
            if key in STANDARD_RECORD_ATTRS or key[:1] == "_":
                continue
            if key == EXCEPTION_ATTR or redactor.is_secret_field(key):
                return None
            keys.append(key)
        return _RecordPlan(tuple(keys))

    def _redact_record(self, record: logging.LogRecord) -> None:
        """Redact ``record``: the planned path for the common record, else the general one.

        The common record (a str message, no exception, extras under names that are not
        secret holding strings, numbers, None, or dicts, lists and tuples of those) is
        read with one C call and its strings scanned joined, once; only the strings a
        match touches are redacted, each from its first match.
        """
        attributes = record.__dict__
        if type(record.msg) is not str or record.exc_info is not None:
            self._redact_record_general(record)
            return
        layout = tuple(attributes)
        plans = self._plans
        plan = plans.get(layout, _NO_PLAN)
        if plan is _NO_PLAN:
            if len(plans) >= _PLAN_CACHE_LIMIT:
                plans.clear()
            plan = plans[layout] = self._plan(layout)
        if plan is None or not self._redact_planned(record, plan):
            self._redact_record_general(record)

    def _redact_planned(self, record: logging.LogRecord, plan: _RecordPlan) -> bool:
        """Redact a record of a planned layout; False (nothing changed) sends it to the
        general path: a value of another type, or one whose nesting asks for a walk."""
        attributes = record.__dict__
        values = plan.values(attributes)
        redactor = self.redactor
        # The message, then every extra's strings (a big int as its digits), then the
        # other text attributes; owners[i] numbers the part that holds texts[i].
        texts: list[str] = []
        owners: list[int] = []
        # Checked with a C-level call: most records hold only these types.
        if set(map(type, values)) <= _FLAT_TYPES:
            for number, value in enumerate(values):
                if type(value) is str:
                    texts.append(value)
                    owners.append(number)
        else:
            collect = redactor.collect_texts
            for number, value in enumerate(values):
                kind = type(value)
                if kind is str:
                    texts.append(value)
                    owners.append(number)
                elif kind is int:
                    # An int as long as a card number is text to scan.
                    if not -BIG_INT < value < BIG_INT:
                        texts.append(str(value))
                        owners.append(number)
                elif kind in _CONTAINER_TYPES:
                    before = len(texts)
                    if collect(value, texts):
                        return False
                    owners.extend([number] * (len(texts) - before))
                elif kind not in _FLAT_TYPES:
                    return False
        try:
            message = record.getMessage()
        except Exception:
            # The general path keeps the formatter's markers of a format mismatch.
            return False
        record.msg, record.args = message, None
        texts.append(message)
        owners.append(_MESSAGE)
        for number, attr in enumerate(_TEXT_ATTRS):
            extra_text = attributes.get(attr)
            if isinstance(extra_text, str):
                texts.append(extra_text)
                owners.append(_TEXT_ATTR_BASE - number)
        found = redactor.first_matches(texts)
        if not found:
            return True
        done: set[int] = set()
        for index in sorted(found):
            owner = owners[index]
            if owner in done:
                continue
            done.add(owner)
            if owner == _MESSAGE:
                record.msg = self._guarded("message", message, found[index])
            elif owner < _MESSAGE:
                attr = _TEXT_ATTRS[_TEXT_ATTR_BASE - owner]
                setattr(record, attr, self._guarded(attr, texts[index], found[index]))
            else:
                key, value = plan.keys[owner], values[owner]
                new: Any
                try:
                    if type(value) is str:
                        new, dropped = redactor.redact_from(value, found[index])
                        changed = new is not value
                    else:
                        # The strings of this value, each from its first match (None:
                        # none in it); they follow one another in texts.
                        get = found.get
                        first = owners.index(owner)
                        starts = [get(i) for i in range(first, first + owners.count(owner))]
                        new, changed, dropped = redactor.redact_field(key, value, 0, starts)
                except Exception as err:  # pragma: no cover - redact_field never raises
                    self._failed("field", err)
                    new, changed, dropped = FAILED_TOKEN, True, False
                if dropped:
                    del attributes[key]
                elif changed:
                    attributes[key] = new
        return True

    def _redact_record_general(self, record: logging.LogRecord) -> None:
        redactor = self.redactor
        message: Any
        if isinstance(record.msg, Mapping) and not record.args:
            message = record.msg
        else:
            message = self._message_text(record)
            record.msg, record.args = message, None

        if record.exc_info and not isinstance(getattr(record, EXCEPTION_ATTR, None), dict):
            try:
                info = describe_exception(record.exc_info)
            except Exception as err:
                self._failed("exception", err)
                info = ExceptionInfo(type="Exception", message=FAILED_TOKEN, stack=[])
            if info is not None:
                setattr(record, EXCEPTION_ATTR, info)
        if record.exc_info is not None:
            record.exc_info = None
            record.exc_text = None

        # Gather every string of the record and scan them joined, once. Fields that a
        # gate match touches (or that need a walk whatever their text: secret key
        # names, objects) are then redacted one by one; the others are not looked at.
        texts: list[str] = []
        owners: list[int] = []
        # Owner -> index in texts of the owners that are one plain string: those are
        # redacted from where the record's scan found their first match.
        text_of: dict[int, int] = {}
        # Owner -> the slice of texts of an owner that is a container or a big int.
        spans: dict[int, tuple[int, int]] = {}
        if type(message) is str:
            text_of[_MESSAGE] = 0
        full_walk = redactor.collect_texts(message, texts)
        owners.extend([_MESSAGE] * len(texts))
        # This loop runs on every record: it inlines iter_extras() (same rule: not a
        # standard attribute, not private) and the common leaf types.
        extras: list[tuple[Any, Any]] = []
        attributes = record.__dict__
        # A set difference in C leaves the dozen extras out of some thirty attributes.
        for key in attributes.keys() - STANDARD_RECORD_ATTRS:
            # ``extra={1: ...}`` leaves non-str keys here: keep them, their values may
            # hold PII, but only str names can be private or name a secret.
            is_name = isinstance(key, str)
            if is_name and key[:1] == "_":
                continue
            value = attributes[key]
            number = len(extras)
            extras.append((key, value))
            if full_walk:
                continue
            kind = type(value)
            # A name that mentions a secret decides alone only for a value that could
            # be one; other scalars are scanned like any field.
            if (
                is_name
                and redactor.is_secret_field(key)
                and (kind not in _SCALAR_TYPES or redactor.hides_value(key, value))
            ):
                full_walk = True
                continue
            if kind is str:
                text_of[number] = len(texts)
                texts.append(value)
                owners.append(number)
            elif value is None or kind is float or kind is bool:
                continue
            else:
                before = len(texts)
                full_walk = redactor.collect_texts(value, texts)
                owners.extend([number] * (len(texts) - before))
                spans[number] = (before, len(texts))
        for number, attr in enumerate(_TEXT_ATTRS):
            extra_text = record.__dict__.get(attr)
            if isinstance(extra_text, str):
                text_of[_TEXT_ATTR_BASE - number] = len(texts)
                texts.append(extra_text)
                owners.append(_TEXT_ATTR_BASE - number)
        found: dict[int, int] = {}
        touched: set[int] | None = None
        if not full_walk:
            found = redactor.first_matches(texts)
            if not found:
                return
            touched = {owners[index] for index in found}

        def start_of(owner: int) -> int:
            index = text_of.get(owner)
            return 0 if index is None else found.get(index, 0)

        if touched is None or _MESSAGE in touched:
            record.msg = self._guarded("message", message, start_of(_MESSAGE))
        for number, (key, value) in enumerate(extras):
            if touched is not None and number not in touched:
                continue
            # record.__dict__ rather than setattr/delattr: keys need not be str.
            new: Any
            try:
                if (
                    key == EXCEPTION_ATTR
                    and isinstance(value, dict)
                    and not redactor.is_secret_field(key)
                ):
                    new, changed, dropped = self._redact_exception(value), True, False
                else:
                    span = spans.get(number) if touched is not None else None
                    starts = None
                    if span is not None:
                        # Only the strings the record's scan found anything in are
                        # scanned again, each from its first match.
                        get = found.get
                        starts = [get(index) for index in range(*span)]
                    new, changed, dropped = redactor.redact_field(
                        key, value, start_of(number), starts
                    )
            except Exception as err:
                self._failed("field", err)
                new, changed, dropped = FAILED_TOKEN, True, False
            if dropped:
                del attributes[key]
            elif changed:
                attributes[key] = new
        for number, attr in enumerate(_TEXT_ATTRS):
            if touched is not None and _TEXT_ATTR_BASE - number not in touched:
                continue
            extra_text = record.__dict__.get(attr)
            if isinstance(extra_text, str):
                start = start_of(_TEXT_ATTR_BASE - number)
                setattr(record, attr, self._guarded(attr, extra_text, start))

    def _message_text(self, record: logging.LogRecord) -> str:
        try:
            return record.getMessage()
        except Exception as err:
            # A %-format mismatch: the JSON formatter's markers, as extras that the
            # record's walk then redacts like any other (the arguments may hold PII).
            attributes = record.__dict__
            attributes[MESSAGE_ERROR_FIELD] = f"{type(err).__name__}: {safe_str(err)}"
            attributes[MESSAGE_ARGS_FIELD] = record.args
            return safe_str(record.msg)

    def _guarded(self, where: str, value: Any, start: int = 0) -> Any:
        """Redact one top-level value (drop falls back to mask); never raises.

        ``start``: for a str, the byte offset of its first possible match.
        """
        try:
            if isinstance(value, str):
                return self.redactor.redact_from(value, start)[0]
            return self.redactor.redact_value(value)
        except Exception as err:
            self._failed(where, err)
            return FAILED_TOKEN

    def _redact_exception(self, info: dict[str, Any]) -> dict[str, Any]:
        out = dict(info)
        message = info.get("message")
        if isinstance(message, str):
            out["message"] = self._guarded("exception", message)
        stack = info.get("stack")
        if isinstance(stack, list):
            out["stack"] = [
                self._guarded("exception", line) if isinstance(line, str) else line
                for line in stack
            ]
        for key, value in info.items():
            if key not in ("message", "stack", "type"):
                out[key] = self._guarded("exception", value)
        return out
