"""The operator's runtime does not load the official Kubernetes client (docs/design.md §3).

``kubernetes`` (with google-auth, pydantic and requests-oauthlib behind ``kubernetes.config``)
is most of a bare operator's memory and start time; the runtime speaks HTTP itself ("The
transport"). Each entry
point is imported in a fresh interpreter, so nothing another test loaded can hide an import.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.test_layering import ROOT

ENTRY_POINTS = ["app.operator", "app.cli", "plugin.cli", "manager.manager", "runner.entry"]


@pytest.mark.parametrize("module", ENTRY_POINTS)
def test_an_entry_point_does_not_import_the_official_client(module: str) -> None:
    probe = (
        f"import sys, json, {module}; "
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'kubernetes')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
