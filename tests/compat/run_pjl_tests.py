"""``make compat``: python-json-logger's formatter tests, run against inferlog.

Downloads the source distribution of python-json-logger (``--version``, 4.2.0 by
default) with pip into ``--cache`` (under ``build/``, never committed), unpacks it, and
runs its ``tests/test_formatters.py`` with :mod:`tests.compat.pjl_adapter`, which puts
``inferlog.JsonFormatter`` under test and marks the documented differences
(``tests/compat/pjl_differences.json``) as strict xfails. Exits with pytest's status.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_VERSION = "4.2.0"
DEFAULT_CACHE = ROOT / "build" / "compat"


def fetch_sdist(version: str, cache: Path) -> Path:
    """Return the unpacked source tree of python-json-logger ``version``, downloading once."""
    tree = cache / f"python_json_logger-{version}"
    if (tree / "tests" / "test_formatters.py").is_file():
        return tree
    cache.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--disable-pip-version-check",
            "-q",
            "--no-binary",
            ":all:",
            "--no-deps",
            f"python-json-logger=={version}",
            "-d",
            str(cache),
        ],
        check=True,
    )
    archive = next(cache.glob(f"python_json_logger-{version}.tar.gz"))
    with tarfile.open(archive) as sdist:
        # Only the test modules: their tests/__init__.py would make the module
        # ``tests.test_formatters``, which our own ``tests`` package shadows.
        members = [
            member
            for member in sdist.getmembers()
            if member.isfile() and "/tests/test_" in member.name
        ]
        sdist.extractall(cache, members=members, filter="data")
    return tree


def main(argv: list[str] | None = None) -> int:
    """Download, then run the formatter tests; returns pytest's exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default=DEFAULT_VERSION)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args, pytest_args = parser.parse_known_args(argv)
    tree = fetch_sdist(args.version, args.cache)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    command = [
        sys.executable,
        "-m",
        "pytest",
        str(tree / "tests" / "test_formatters.py"),
        "-p",
        "tests.compat.pjl_adapter",
        "-p",
        "no:cacheprovider",
        "-c",
        os.devnull,
        "--rootdir",
        str(tree),
        "-q",
        "-rxX",
        *pytest_args,
    ]
    return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
