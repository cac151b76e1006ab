"""inferlog._text.safe_str: the one never-raising ``str`` of the library, and its users."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from inferlog._exceptions import describe_exception
from inferlog._text import safe_str, type_name


class NoStr:
    def __str__(self) -> str:
        raise RuntimeError("no str")


class Nothing(NoStr):
    def __repr__(self) -> str:
        raise ValueError("no repr")


class HostileError(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no str")


def test_safe_str_is_str_when_str_works() -> None:
    assert "12" == safe_str(12)


def test_safe_str_falls_back_to_repr() -> None:
    value = NoStr()
    assert repr(value) == safe_str(value)


def test_safe_str_names_the_type_when_nothing_works() -> None:
    assert f"<unrepresentable {__name__}.Nothing: str() raised RuntimeError>" == safe_str(Nothing())


@given(st.one_of(st.text(), st.integers(), st.floats(), st.binary(), st.none()))
def test_safe_str_of_plain_values_is_their_str(value: object) -> None:
    assert str(value) == safe_str(value)


def test_type_name_is_bare_for_builtins_and_qualified_otherwise() -> None:
    assert ("int", f"{__name__}.NoStr") == (type_name(1), type_name(NoStr()))


def test_an_exception_whose_str_raises_is_described_by_its_repr() -> None:
    error = HostileError("x")
    described = describe_exception((HostileError, error, None))
    assert described is not None
    assert "HostileError('x')" == described["message"]
