"""Checks for option values of the shapes configuration files give: text, names, maps.

Each check returns the value in the form the class keeps, or raises ``TypeError``
naming the option and the accepted values (the numeric and level checks are in
:mod:`inferlog._validation`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

_T = TypeVar("_T")


def check_text(name: str, value: object, *, empty: bool = True) -> str:
    """Return ``value`` if it is a ``str`` (non-empty unless ``empty``)."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {value!r}")
    if not empty and not value.strip():
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    return value


def check_list(name: str, value: object, item: Callable[[str, object], _T]) -> list[_T]:
    """Return the items of a list-like ``value``, each passed through ``item``.

    A bare string is refused: ``"password"`` for ``["password"]`` is a common slip
    that would otherwise be read as eight one-letter names.
    """
    if not isinstance(value, list | tuple | set | frozenset):
        raise TypeError(f"{name} must be a list, got {value!r}")
    # dictConfig's ConvertingList resolves "ext://module.name" when indexed, not when
    # iterated.
    elements = [value[i] for i in range(len(value))] if isinstance(value, list) else value
    return [item(f"{name} item", element) for element in elements]


def check_names(name: str, value: object) -> list[str]:
    """Return a list-like ``value`` of strings as a list."""
    return check_list(name, value, lambda where, element: check_text(where, element))


def check_mapping(
    name: str, value: object, item: Callable[[str, object], Any] | None = None
) -> dict[str, Any]:
    """Return a mapping ``value`` with string keys as a dict; ``item`` checks each value."""
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a mapping of names to values, got {value!r}")
    out: dict[str, Any] = {}
    for key, element in value.items():
        if not isinstance(key, str):
            raise TypeError(f"{name} keys must be strings, got {key!r}")
        out[key] = element if item is None else item(f"{name}[{key!r}]", element)
    return out


def check_bool(name: str, value: object) -> bool:
    """Return ``value`` if it is a ``bool`` (``"yes"`` or ``1`` are refused, not guessed)."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be true or false, got {value!r}")
    return value


def check_callable(name: str, value: object) -> Callable[..., Any]:
    """Return ``value`` if it can be called."""
    if not callable(value):
        raise TypeError(f"{name} must be callable, got {value!r}")
    return value


def check_handler(name: str, value: object) -> logging.Handler:
    """Return ``value`` if it is a ``logging.Handler``."""
    if not isinstance(value, logging.Handler):
        raise TypeError(
            f"{name} must be a logging.Handler (or its name in dictConfig), got {value!r}"
        )
    return value


def check_logger(name: str, value: object, default: str) -> logging.Logger:
    """Return the logger ``value`` names (a ``Logger``, a name, or None for ``default``)."""
    if value is None:
        return logging.getLogger(default)
    if isinstance(value, logging.Logger):
        return value
    if isinstance(value, str):
        return logging.getLogger(value)
    raise TypeError(f"{name} must be a logging.Logger, a logger name or None, got {value!r}")
