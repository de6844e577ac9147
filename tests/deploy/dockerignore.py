"""A ``.dockerignore`` evaluator, enough to know which files a ``docker build`` context holds.

Docker's rules (moby's patternmatcher): one pattern per line, ``#`` comments, a leading ``!``
re-includes, the last matching pattern wins, ``*`` and ``?`` stop at ``/``, ``**`` spans
directories, and a pattern that matches a directory matches everything beneath it. Not
covered: character classes and escapes (the project's file uses neither).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, kw_only=True)
class Pattern:
    text: str
    negate: bool
    regex: re.Pattern[str]


def _translate(pattern: str) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))


def parse(text: str) -> list[Pattern]:
    patterns = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        body = os.path.normpath(line[1:] if negate else line).lstrip("/")
        patterns.append(Pattern(text=line, negate=negate, regex=_translate(body)))
    return patterns


def excluded(path: str, patterns: list[Pattern]) -> bool:
    """Whether ``path`` (relative, ``/``-separated) is left out of the build context."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    result = False
    for pattern in patterns:
        if any(pattern.regex.fullmatch(prefix) for prefix in prefixes):
            result = not pattern.negate
    return result


def context_files(root: Path, patterns: list[Pattern]) -> list[str]:
    """Every file under ``root`` the build context would hold, sorted."""
    reincluded_tops = {p.text[1:].strip("/").split("/")[0] for p in patterns if p.negate}
    files = []
    for directory, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(directory, root)
        rel_dir = "" if rel_dir == "." else rel_dir.replace(os.sep, "/")
        keep = []
        for name in dirnames:
            rel = f"{rel_dir}/{name}" if rel_dir else name
            # Prune what is excluded and cannot hold a re-included path.
            if excluded(rel, patterns) and rel.split("/")[0] not in reincluded_tops:
                continue
            keep.append(name)
        dirnames[:] = sorted(keep)
        for name in filenames:
            rel = f"{rel_dir}/{name}" if rel_dir else name
            if not excluded(rel, patterns):
                files.append(rel)
    return sorted(files)
