"""inferlog: observable model-inference calls with nothing but the standard ``logging``.

The public surface is re-exported here; the modules behind it are implementation
details unless their own docstring says otherwise.
"""

from __future__ import annotations

from inferlog._version import __version__

__all__ = ["__version__"]
