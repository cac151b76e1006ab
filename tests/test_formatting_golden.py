"""``JsonFormatter`` writes exactly the checked-in golden lines (tests/formatting_golden.py)."""

from __future__ import annotations

import pytest

from inferlog.formatting import JsonFormatter
from tests.formatting_golden import GOLDEN_PATH, cases

GOLDEN = GOLDEN_PATH.read_text(encoding="utf-8").splitlines()
CASES = list(cases())


def test_the_golden_file_has_one_line_per_case() -> None:
    assert len(CASES) == len(GOLDEN)


@pytest.mark.parametrize(("index", "case"), list(enumerate(CASES)), ids=[c[0] for c in CASES])
def test_format_writes_the_golden_line_byte_for_byte(index: int, case: tuple) -> None:
    _name, options, factory = case
    assert GOLDEN[index] == JsonFormatter(**options).format(factory())
