"""The Python examples of docs/redaction.md run as printed, and show what they return."""

from __future__ import annotations

import ast
import re
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "redaction.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)


def _run(block: str, namespace: dict[str, object]) -> None:
    lines = block.splitlines()
    statements: list[str] = []
    for line in lines:
        if line.startswith("# ") and statements:
            # "# <repr>" right after an expression: that expression's value.
            expected = ast.literal_eval(line[2:])
            code = "\n".join(statements)
            tree = ast.parse(code)
            last = tree.body[-1]
            assert isinstance(last, ast.Expr), line
            exec(compile(ast.Module(tree.body[:-1], []), str(DOC), "exec"), namespace)
            value = eval(compile(ast.Expression(last.value), str(DOC), "eval"), namespace)
            assert expected == value
            statements = []
        else:
            statements.append(line)
    exec(compile("\n".join(statements), str(DOC), "exec"), namespace)


def test_every_python_example_runs_and_returns_what_its_comment_says() -> None:
    # The page reads top to bottom: later examples use what earlier ones imported.
    namespace: dict[str, object] = {}
    for block in BLOCKS:
        _run(block, namespace)


def test_the_docs_have_python_examples() -> None:
    assert len(BLOCKS) >= 3
