"""The design references stay inside the repository and land on a real section.

Code, manifests and docs cite ``docs/design.md`` by section (``docs/design.md §6`` or
``section 6``). Every such citation must name a section the page has, and nothing may send a
reader to a design brief outside the repository (:data:`OUTSIDE_BRIEF` anywhere but ``docs/``).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DESIGN = ROOT / "docs/design.md"
CITATION = re.compile(r"docs/design\.md,? (?:§ ?|section )(\d+)")
HEADING = re.compile(r"^## (\d+)\. ", re.M)
# The shared brief's file name; docs/design.md took over what the code needs from it.
OUTSIDE_BRIEF = re.compile(r"DESIGN\.md")


def _tracked_text_files() -> list[Path]:
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, check=True, capture_output=True, text=True, timeout=30,
    ).stdout  # fmt: skip
    files = []
    for name in out.splitlines():
        path = ROOT / name
        if path.suffix in (".py", ".md", ".yaml", ".yml", ".toml", "") and path.is_file():
            files.append(path)
    return files


def test_every_design_citation_names_an_existing_section() -> None:
    sections = {int(n) for n in HEADING.findall(DESIGN.read_text())}
    cited: dict[str, set[int]] = {}
    for path in _tracked_text_files():
        for number in CITATION.findall(path.read_text(errors="replace")):
            cited.setdefault(str(path.relative_to(ROOT)), set()).add(int(number))
    assert cited, "no file cites docs/design.md by section"
    dangling = {name: numbers - sections for name, numbers in cited.items() if numbers - sections}
    assert dangling == {}


def test_nothing_outside_docs_points_to_a_design_brief_elsewhere() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in _tracked_text_files()
        if OUTSIDE_BRIEF.search(path.read_text(errors="replace"))
        and path.relative_to(ROOT).parts[0] != "docs"
    ]
    assert offenders == []
