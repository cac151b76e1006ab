"""docs/audit.md: its examples run as printed, in order, and print what the page says."""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from inferlog.audit import cli

PAGE = Path(__file__).resolve().parent.parent / "docs" / "audit.md"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.DOTALL)


def _said(printed: str) -> None:
    assert f"prints `{printed}`" in " ".join(PAGE.read_text(encoding="utf-8").split())


def test_the_examples_run_in_order_and_print_what_the_page_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("INFERLOG_AUDIT_KEY", raising=False)
    namespace: dict[str, Any] = {}
    printed: list[str] = []
    for block in _blocks("python"):
        exec(compile(block, str(PAGE), "exec"), namespace)
        printed.append(capsys.readouterr().out.strip())
    assert printed == [
        "True 50",
        "chat ok 50 256",
        "{'prompt': 'summarise ticket 0 for [REDACTED:EMAIL]'}",
    ]
    for line in printed:
        _said(line)

    (console,) = _blocks("console")
    lines = console.strip().splitlines()
    command, expected = lines[0], lines[1:]
    argv = shlex.split(command.removeprefix("$ "))
    assert argv[0] == "inferlog"
    parser = argparse.ArgumentParser(prog="inferlog")
    cli.add_parser(parser.add_subparsers(dest="command"))
    assert cli.run(parser.parse_args(argv[1:])) == 0
    assert capsys.readouterr().out.splitlines() == expected
