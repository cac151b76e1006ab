"""``import inferlog`` stays cheap: public names are imported on first use.

Every check runs in a fresh interpreter and looks at ``sys.modules``; nothing here
is timed (the figures are in benchmarks/bench_import.py and docs/performance.md).
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import inferlog

ROOT = Path(__file__).resolve().parents[1]

#: Modules that ``import inferlog`` must not load: costly ones, and optional extras.
NOT_ON_IMPORT = (
    "multiprocessing",
    "concurrent.futures.process",
    "asyncio",
    "http.server",
    "duckdb",
    "boto3",
    "google",
)


def _modules_after(code: str) -> set[str]:
    """The names in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    ).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


def test_import_inferlog_loads_none_of_the_costly_modules() -> None:
    loaded = _modules_after("import inferlog")
    assert [] == [name for name in NOT_ON_IMPORT if name in loaded]
    assert {"inferlog", "inferlog._version"} == {m for m in loaded if m.startswith("inferlog")}


@pytest.mark.parametrize(
    "code",
    [
        "import inferlog.middleware",
        "from inferlog import inference, request_context, bind, ContextFilter",
        "from inferlog.propagation import extract_headers, inject_headers",
    ],
)
def test_the_request_path_loads_no_process_machinery(code: str) -> None:
    loaded = _modules_after(code)
    assert [] == [name for name in NOT_ON_IMPORT if name in loaded]


def test_inference_and_request_context_do_not_load_the_error_buffer_or_the_formatter() -> None:
    loaded = _modules_after("from inferlog import inference, request_context")
    unwanted = ("logging.handlers", "inferlog.sampling.error_buffer", "inferlog.formatting", "re2")
    assert [] == [name for name in unwanted if name in loaded]


def test_every_public_name_resolves_and_is_listed_by_dir() -> None:
    assert set(inferlog.__all__) <= set(dir(inferlog))
    for name in inferlog.__all__:
        assert getattr(inferlog, name) is not None


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        inferlog.no_such_name


def test_importing_the_inference_package_first_keeps_inferlog_inference_the_function() -> None:
    code = (
        "import inferlog.inference\n"
        "from inferlog.inference import InferenceCall\n"
        "import inferlog, types\n"
        "assert not isinstance(inferlog.inference, types.ModuleType)\n"
        "assert inferlog.inference is inferlog.inference.__globals__['inference']\n"
    )
    _modules_after(code)


def test_the_process_pool_executor_is_imported_on_first_use() -> None:
    loaded = _modules_after(
        "from inferlog.propagation import ContextProcessPoolExecutor as E\nassert E.submit"
    )
    assert "concurrent.futures.process" in loaded


def test_the_supported_platforms_are_posix_in_the_classifiers_and_the_docs() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    for classifier in (
        "Operating System :: POSIX",
        "Operating System :: POSIX :: Linux",
        "Operating System :: MacOS",
    ):
        assert f'"{classifier}"' in pyproject
    assert "Linux and macOS" in (ROOT / "docs" / "getting-started.md").read_text("utf-8")


def test_only_the_fork_module_calls_register_at_fork_in_these_modules() -> None:
    package = ROOT / "inferlog"
    callers = sorted(
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if "os.register_at_fork(" in path.read_text("utf-8")
    )
    assert ["_fork.py"] == callers


@pytest.mark.parametrize(
    "package",
    ["inferlog.sampling", "inferlog.propagation", "inferlog.context", "inferlog.inference"],
)
def test_every_name_a_package_exports_resolves_and_is_listed_by_dir(package: str) -> None:
    module = importlib.import_module(package)
    assert set(module.__all__) <= set(dir(module))
    for name in module.__all__:
        assert getattr(module, name) is not None
