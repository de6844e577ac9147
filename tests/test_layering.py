"""The import rules of STYLE.md: ``api`` imports nothing of ours; ``manager`` knows nothing of
backups; the emulator imports none of the operator's packages; the backup runner (its own
image) imports only ``api``, and nothing of ours imports it; the kubectl plugin imports ``api``
and ``manager`` (types, REST client), never the operator's controllers."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = {"api", "manager", "controller", "emulator", "runner", "plugin"}
FORBIDDEN: dict[str, set[str]] = {
    "api": {"manager", "controller", "emulator", "runner", "plugin"},
    "manager": {"api", "controller", "emulator", "runner", "plugin"},
    "emulator": {"api", "manager", "controller", "runner", "plugin"},
    "controller": {"emulator", "runner", "plugin"},
    "runner": {"manager", "controller", "emulator", "plugin"},
    "plugin": {"controller", "emulator", "runner"},
}


def _imported_top_levels(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & OURS


# The sandbox is the one place the operator side may start the emulator.
ALLOWED = {("controller", "emulator"): {"sandbox.py"}}


def _violations(package: str) -> list[str]:
    bad = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for name in sorted(_imported_top_levels(path) & FORBIDDEN[package]):
            if path.name in ALLOWED.get((package, name), set()):
                continue
            bad.append(f"{path.relative_to(ROOT)} imports {name}")
    return bad


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_respects_import_rules(package: str) -> None:
    assert (ROOT / package / "__init__.py").exists()
    assert _violations(package) == []


def test_checker_sees_forbidden_imports(tmp_path: Path) -> None:
    """The checker itself must notice a violation, or the rule above proves nothing."""
    sample = tmp_path / "m.py"
    sample.write_text("import manager.rest\nfrom controller import cli\nimport json\n")
    assert _imported_top_levels(sample) == {"manager", "controller"}
