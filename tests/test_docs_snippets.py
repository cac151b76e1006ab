"""Every ``python`` block of the docs and the README runs as printed.

Each block runs alone, in a fresh interpreter, in an empty temporary directory, with a
timeout, and must exit 0 with nothing on stderr that looks like a crash. A block that
is deliberately a fragment (a signature, a piece of a larger program) is fenced as
```` ```python fragment ```` and its doc says "(fragment)" in the text just before it,
so a reader sees it too. Pages added later are picked up by themselves.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: Pages whose blocks need a service a test starts (moto's server, the fake Cloud
#: Logging server): their own test module runs every block of the page against it.
OWN_RUNNER = {
    "cloudwatch.md": "test_cloudwatch_docs.py",
    "gcp.md": "test_cloud_logging_docs.py",
    "migrating.md": "test_migrating_docs.py",
}
#: The pages whose blocks run here: every other page of the docs, and the README.
PAGES = [
    *sorted(p for p in (ROOT / "docs").glob("*.md") if p.name not in OWN_RUNNER),
    ROOT / "README.md",
]
#: Info string of a block that is deliberately not a whole program.
FRAGMENT_INFO = "python fragment"
#: What the text before a fragment says, so readers know it does not run alone.
FRAGMENT_NOTE = "(fragment)"
#: Longest a block may run; the slowest ones start a pipeline and shut it down.
TIMEOUT_S = 60.0
# An opening fence, its info string, then everything up to the closing fence of the
# same length (MyST allows longer fences around blocks that contain fences).
_FENCE = re.compile(
    r"^(?P<fence>`{3,})(?P<info>[^`\n]*)\n(?P<body>.*?)^(?P=fence)\s*$", re.M | re.S
)
# Text that shows an interpreter crashed rather than a program that logged an error.
_CRASH = re.compile(r"^Traceback \(most recent call last\):", re.M)


@dataclass(frozen=True)
class Block:
    """One fenced python block of a page."""

    page: Path
    line: int
    info: str
    code: str
    before: str

    @property
    def name(self) -> str:
        return f"{self.page.name}:{self.line}"


def _blocks(page: Path) -> list[Block]:
    text = page.read_text(encoding="utf-8")
    found = []
    for match in _FENCE.finditer(text):
        info = " ".join(match.group("info").split())
        if info.split(" ")[0:1] != ["python"]:
            continue
        line = text.count("\n", 0, match.start()) + 1
        # The paragraph just before the fence: where a fragment must say so.
        before = text[: match.start()].rstrip().rsplit("\n\n", 1)[-1]
        found.append(Block(page, line, info, match.group("body"), before))
    return found


ALL_BLOCKS = [block for page in PAGES for block in _blocks(page)]
RUNNABLE = [block for block in ALL_BLOCKS if block.info != FRAGMENT_INFO]
FRAGMENTS = [block for block in ALL_BLOCKS if block.info == FRAGMENT_INFO]


def _environment() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("INFERLOG_")}
    # Keep the interpreter's own noise out of the check for a crash.
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.pop("PYTHONPATH", None)
    return env


def test_the_docs_have_python_blocks_to_run() -> None:
    assert 20 <= len(RUNNABLE)


@pytest.mark.parametrize("page", sorted(OWN_RUNNER))
def test_pages_left_to_their_own_runner_have_one_that_reads_them(page: str) -> None:
    runner = ROOT / "tests" / OWN_RUNNER[page]
    assert page in runner.read_text(encoding="utf-8")


@pytest.mark.parametrize("block", RUNNABLE, ids=[b.name for b in RUNNABLE])
def test_block_runs_as_printed(block: Block, tmp_path: Path) -> None:
    script = tmp_path / "snippet.py"
    script.write_text(block.code, encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=work,
        env=_environment(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    shown = f"{block.name} exited {result.returncode}\n{result.stderr[-3000:]}"
    assert 0 == result.returncode, shown
    assert _CRASH.search(result.stderr) is None, shown


@pytest.mark.parametrize("block", FRAGMENTS, ids=[b.name for b in FRAGMENTS])
def test_fragment_is_marked_for_readers_too(block: Block) -> None:
    assert FRAGMENT_NOTE in block.before, f"{block.name}: say {FRAGMENT_NOTE!r} before it"


def test_fence_parser_finds_fragments_and_longer_fences() -> None:
    page_text = (
        "Text (fragment):\n\n```python fragment\nx(\n```\n\n"
        "````markdown\n```python\nnot code\n```\n````\n\n```python\nprint(1)\n```\n"
    )
    page = Path(os.devnull)
    blocks = [
        Block(page, 0, " ".join(m.group("info").split()), m.group("body"), "")
        for m in _FENCE.finditer(page_text)
    ]
    assert [("python fragment", "x(\n"), ("markdown", "```python\nnot code\n```\n")] == [
        (b.info, b.code) for b in blocks[:2]
    ]
    assert ("python", "print(1)\n") == (blocks[2].info, blocks[2].code)
