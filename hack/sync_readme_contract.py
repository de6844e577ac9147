"""Copy the generated backup-image contract (api/v1alpha1/CONTRACT.md) into README.md.

Run by ``make manifests`` after the CRD and contract are regenerated, so the README's copy
cannot drift (``tests/test_readme.py`` fails if it does).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"(<!-- contract:begin[^>]*-->\n)(.*?)(\n<!-- contract:end -->)", re.S)


def main() -> int:
    contract = (ROOT / "api/v1alpha1/CONTRACT.md").read_text().split("\n", 1)[1].strip()
    readme_path = ROOT / "README.md"
    readme = readme_path.read_text()
    if not BLOCK.search(readme):
        print("README.md has no contract:begin/contract:end block", file=sys.stderr)
        return 1
    updated = BLOCK.sub(lambda m: m.group(1) + contract + m.group(3), readme)
    if updated != readme:
        readme_path.write_text(updated)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
