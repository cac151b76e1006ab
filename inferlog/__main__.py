"""``python -m inferlog``: the same as the ``inferlog`` command."""

from __future__ import annotations

import sys

from inferlog.cli import main

sys.exit(main())
