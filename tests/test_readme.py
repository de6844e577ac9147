"""The README stays true: its first two commands, and the image contract it embeds."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_readme_opens_with_the_run_and_test_commands() -> None:
    block = re.search(r"```sh\n(.*?)```", README, re.S)
    assert block is not None
    commands = [line.split("#")[0].strip() for line in block.group(1).splitlines()]
    assert commands == ["make install && make run", "make test"]
    assert README.index("```sh") < README.index("\n## ")


def test_readme_make_targets_exist() -> None:
    for target in ("install", "run", "test", "lint", "manifests"):
        result = subprocess.run(
            ["make", "-n", target], cwd=ROOT, capture_output=True, text=True, timeout=30
        )
        assert result.returncode == 0, (target, result.stderr)


def test_readme_embeds_the_generated_image_contract() -> None:
    contract = (ROOT / "api/v1alpha1/CONTRACT.md").read_text().split("\n", 1)[1].strip()
    embedded = re.search(r"<!-- contract:begin[^>]*-->\n(.*?)\n<!-- contract:end -->", README, re.S)
    assert embedded is not None
    assert embedded.group(1).strip() == contract
