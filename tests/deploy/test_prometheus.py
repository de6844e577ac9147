"""Prometheus wiring: the ServiceMonitor scrapes the metrics Service, and the alerts read the
series the operator, the runtime and kube-state-metrics actually export.

PromQL itself is not evaluated here (no Prometheus in the test environment); the rules were
checked with ``promtool check rules`` and ``promtool test rules`` against synthetic series
(docs/deploy.md). These tests pin what must stay true when anyone edits them.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.deploy.manifests import METRICS_SERVICE, of_kind, only, render

# The operator's series (per backup, labels namespace, name; the two histograms fleet-wide),
# as controller/ exports them.
OPERATOR_METRICS = {
    "dbbackup_last_success_timestamp_seconds",
    "dbbackup_last_run_duration_seconds",
    "dbbackup_next_schedule_timestamp_seconds",
    "dbbackup_expected_interval_seconds",
    "dbbackup_last_run_status",
    "dbbackup_runs_total",
    "dbbackup_run_duration_seconds",
    "dbbackup_job_creation_skew_seconds",
    "dbbackup_created_timestamp_seconds",
}
# The runtime's (manager/metrics.py) and Prometheus' own.
RUNTIME_METRICS = {"leader_election_master_status", "up"}
# kube-state-metrics' Job series (default metric set, no label allowlist needed).
KUBE_STATE_METRICS = {
    "kube_job_status_start_time",
    "kube_job_status_active",
    "kube_job_spec_active_deadline_seconds",
    "kube_job_owner",
}
ALERTS = {
    "DatabaseBackupMissed": {"dbbackup_last_success_timestamp_seconds"},
    "DatabaseBackupNeverSucceeded": {
        "dbbackup_created_timestamp_seconds",
        "dbbackup_expected_interval_seconds",
        "dbbackup_last_success_timestamp_seconds",
    },
    "DatabaseBackupLastRunFailed": {"dbbackup_last_run_status"},
    "DatabaseBackupJobPastDeadline": {"kube_job_status_start_time", "kube_job_status_active"},
    "DbbackupOperatorDown": {"up"},
    "DbbackupOperatorNotLeading": {"leader_election_master_status"},
}
PROMQL_KEYWORDS = {
    "and", "or", "unless", "on", "ignoring", "group_left", "group_right", "by", "without",
    "time", "max", "min", "sum", "absent", "label_replace", "offset", "bool",
}  # fmt: skip
DURATION = re.compile(r"^([0-9]+(ms|s|m|h|d|w|y))+$")


def _rules() -> list[dict[str, Any]]:
    (rule,) = of_kind(render("prometheus"), "PrometheusRule")
    return [r for group in rule["spec"]["groups"] for r in group["rules"]]


def _identifiers(expr: str) -> set[str]:
    """Metric and function names in an expression, minus strings, labels and keywords."""
    without_strings = re.sub(r'"[^"]*"', '""', expr)
    without_matchers = re.sub(r"\{[^}]*\}", "", without_strings)
    without_groupings = re.sub(
        r"\b(by|on|ignoring|without|group_left|group_right)\s*\([^)]*\)", r"\1", without_matchers
    )
    return set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", without_groupings)) - PROMQL_KEYWORDS


def test_service_monitor_scrapes_the_metrics_service_and_keeps_backup_labels() -> None:
    monitor = only(render("prometheus"), "ServiceMonitor", "dbbackup-operator-metrics-monitor")
    service = only(render("default"), "Service", METRICS_SERVICE)
    selector = monitor["spec"]["selector"]["matchLabels"]
    labels = service["metadata"]["labels"]
    assert all(labels.get(k) == v for k, v in selector.items())
    assert monitor["metadata"]["namespace"] == service["metadata"]["namespace"]
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
    assert endpoint["path"] == "/metrics"
    # HTTPS with Prometheus' own token: the operator reviews it (TokenReview) and its access
    # to /metrics (SubjectAccessReview). The certificate is self-signed unless cert-manager
    # issues it (monitor_tls_patch.yaml then verifies it).
    assert endpoint["scheme"] == "https"
    assert endpoint["bearerTokenFile"] == "/var/run/secrets/kubernetes.io/serviceaccount/token"
    assert endpoint["tlsConfig"] == {"insecureSkipVerify": True}
    # Backup series carry their own namespace/name labels; the target's must not win.
    assert endpoint["honorLabels"] is True
    assert DURATION.match(endpoint["interval"])


def test_rule_groups_are_well_formed() -> None:
    (rule,) = of_kind(render("prometheus"), "PrometheusRule")
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    names = [group["name"] for group in rule["spec"]["groups"]]
    assert len(names) == len(set(names))
    for r in _rules():
        assert set(r) <= {"alert", "expr", "for", "labels", "annotations"}, r
        assert DURATION.match(r["for"]), r["for"]
        assert r["labels"]["severity"] in {"warning", "critical"}
        assert r["annotations"]["summary"] and r["annotations"]["description"]
        assert r["expr"].count("(") == r["expr"].count(")"), r["alert"]


def test_the_alerts_users_asked_for_are_there() -> None:
    assert {r["alert"] for r in _rules()} == set(ALERTS)


@pytest.mark.parametrize("alert", sorted(ALERTS))
def test_alerts_read_only_series_that_exist(alert: str) -> None:
    (rule,) = [r for r in _rules() if r["alert"] == alert]
    used = _identifiers(rule["expr"])
    assert used <= OPERATOR_METRICS | RUNTIME_METRICS | KUBE_STATE_METRICS, used
    assert ALERTS[alert] <= used


def test_missed_backup_alert_compares_against_twice_the_interval() -> None:
    (rule,) = [r for r in _rules() if r["alert"] == "DatabaseBackupMissed"]
    expr = " ".join(rule["expr"].split())
    assert "2 * max by (namespace, name) (dbbackup_expected_interval_seconds)" in expr
    assert "on(namespace, name)" in expr


def test_operator_alerts_select_the_scrape_job_of_the_metrics_service() -> None:
    # The Prometheus Operator names the scrape job after the Service.
    for alert in ("DbbackupOperatorDown", "DbbackupOperatorNotLeading"):
        (rule,) = [r for r in _rules() if r["alert"] == alert]
        assert f'job="{METRICS_SERVICE}"' in rule["expr"]


def test_identifier_extraction_sees_through_matchers_and_groupings() -> None:
    expr = 'sum by (namespace) (foo{job="x", a=~"b"}) > on(job_name) group_left() bar'
    assert _identifiers(expr) == {"foo", "bar"}
