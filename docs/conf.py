"""Sphinx configuration for the inferlog documentation."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inferlog._version import __version__

project = "inferlog"
author = "inferlog developers"
copyright = "2026, inferlog developers"
release = __version__
version = __version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.intersphinx",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
# perf-*.md are fragments that performance.md includes, not pages of their own.
exclude_patterns = ["_build", "perf-*.md"]
html_theme = "alabaster"
autodoc_member_order = "bysource"
autodoc_typehints = "description"
intersphinx_mapping: dict[str, tuple[str, None]] = {}
nitpicky = False
