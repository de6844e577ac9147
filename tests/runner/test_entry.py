"""``dbbackup-runner`` where the runner's dependencies are missing (the operator image ships
the script too): one readable line and the contract's configuration exit code, no traceback."""

from __future__ import annotations

import sys

import pytest

from api.v1alpha1.contract import EXIT_CONFIG
from runner import entry


def test_missing_dependency_is_one_line_and_the_config_exit_code(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in [m for m in sys.modules if m == "runner" or m.startswith("runner.")]:
        if name not in ("runner", "runner.entry"):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "zstandard", None)  # as if not installed

    assert entry.main(["list"]) == EXIT_CONFIG

    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "missing Python module 'zstandard'" in err
    assert "dbbackup-operator[runner]" in err
