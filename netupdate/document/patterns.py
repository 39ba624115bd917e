"""Regular expressions compiled when first used: a command compiles only the patterns of what it
does (issue 15: nothing is compiled at import time that the verb does not use).  Every
module-level pattern of the package is one (``tests/test_cold_start.py``)."""

from __future__ import annotations


class Pattern:
    """``re.compile(pattern, flags)``, done on the first use of any of its methods."""

    __slots__ = ("args", "compiled")

    def __init__(self, pattern, flags: int = 0):
        self.args = (pattern, flags)
        self.compiled = None

    def __getattr__(self, name: str):
        if self.compiled is None:
            import re
            self.compiled = re.compile(*self.args)
        return getattr(self.compiled, name)
