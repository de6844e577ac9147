"""The alerts, evaluated by Prometheus' own tool: ``promtool check rules`` and ``test rules``.

``tests/deploy/promtool/alerts_test.yaml`` feeds synthetic series to the rules of
``config/prometheus/alerts.yaml`` and says when each alert fires and when it must not.
``.ci/run`` installs promtool (Debian's ``prometheus`` package); on a machine without it the
tests skip, unless ``CI`` is set, where a missing promtool is a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.deploy.manifests import REPO, of_kind, render

PROMTOOL = shutil.which("promtool")
PROMTOOL_TIMEOUT = 120.0  # seconds; the unit tests evaluate a few hundred minutes of series


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    if PROMTOOL is None:
        if os.environ.get("CI"):
            pytest.fail("promtool is not installed (apt-get install prometheus)")
        pytest.skip("promtool is not installed (apt-get install prometheus)")
    (rule,) = of_kind(render("prometheus"), "PrometheusRule")
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rule["spec"], sort_keys=False))
    shutil.copy(REPO / "tests/deploy/promtool/alerts_test.yaml", tmp_path / "alerts_test.yaml")
    return tmp_path


def _promtool(rules_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run(
        [PROMTOOL, *args], cwd=rules_dir, capture_output=True, text=True,
        timeout=PROMTOOL_TIMEOUT, check=False,
    )  # fmt: skip


def test_promtool_accepts_the_rules(rules_dir: Path) -> None:
    proc = _promtool(rules_dir, "check", "rules", "rules.yaml")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_alert_fires_when_it_should_and_not_before(rules_dir: Path) -> None:
    proc = _promtool(rules_dir, "test", "rules", "alerts_test.yaml")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_unit_tests_cover_every_alert() -> None:
    tests = yaml.safe_load((REPO / "tests/deploy/promtool/alerts_test.yaml").read_text())
    tested = {case["alertname"] for group in tests["tests"] for case in group["alert_rule_test"]}
    (rule,) = of_kind(render("prometheus"), "PrometheusRule")
    alerts = {r["alert"] for group in rule["spec"]["groups"] for r in group["rules"]}
    assert tested == alerts
