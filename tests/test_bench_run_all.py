"""``make bench``'s runner: its quick mode names only benchmarks that exist."""

from __future__ import annotations

from benchmarks import run_all


def test_quick_mode_names_existing_benchmarks() -> None:
    scripts = {path.name for path in run_all.HERE.glob("bench_*.py")}
    assert sorted(set(run_all.QUICK) - scripts) == []


def test_quick_mode_sizes_are_option_value_pairs() -> None:
    for name, arguments in run_all.QUICK.items():
        options, values = arguments[::2], arguments[1::2]
        assert all(option.startswith("-") for option in options), name
        assert all(value.isdigit() and int(value) > 0 for value in values), name
