"""A Dockerfile read as its instructions, for tests that check images without an engine.

Continuation lines are joined and comments dropped; each instruction is ``(KEYWORD, rest)``
with the keyword upper-cased. Not covered: heredocs and parser directives (neither project
Dockerfile uses them).
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["instructions"]


def instructions(path: Path) -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` pairs of the Dockerfile at ``path``, in order."""
    joined = re.sub(r"\\\n", " ", path.read_text())
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out
