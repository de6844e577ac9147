"""The Grafana dashboard reads only series the operator really exports.

``config/grafana/dbbackup-dashboard.json`` is checked against a live scrape: the real operator
runs the product brief's sample to a successful and a failed run on the emulator (virtual
clock, simulated job runner), ``/metrics`` is parsed, and every metric name in every PromQL
expression of the dashboard (panels and variables) must be among the exported sample names,
with every literal ``label="value"`` matcher matching an exported sample. Only ``up`` comes
from Prometheus itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from emulator.jobrunner import RunnerOptions, SimulatedJobRunner
from emulator.server import ApiServer
from tests.integration.test_rbac_least_privilege import LEASE_TIMINGS
from tests.support.clock import HeldClock
from tests.support.operator import OperatorProcess, apply_sample, setup_cluster, wait_for

DASHBOARD = Path(__file__).resolve().parents[2] / "config/grafana/dbbackup-dashboard.json"
SPEED = 60.0  # one virtual minute per real second
START = datetime(2025, 3, 27, 0, 59, 0, tzinfo=UTC)  # a minute before the sample's 01:00 slot
PROMETHEUS_OWN = {"up"}
# Labels Prometheus adds to every scraped series (target labels), not the operator.
TARGET_LABELS = {"job", "instance", "pod", "service", "endpoint", "container"}
PROMQL_WORDS = {
    "and", "or", "unless", "on", "ignoring", "group_left", "group_right", "by", "without",
    "bool", "offset", "time", "vector", "sum", "count", "min", "max", "avg", "topk", "bottomk",
    "sort", "sort_desc", "rate", "increase", "histogram_quantile", "label_values", "le",
}  # fmt: skip
# What the fleet view must show (the list), by the series that carry it.
REQUIRED = {
    "backups by last status": "dbbackup_last_run_status",
    "oldest last success": "dbbackup_last_success_timestamp_seconds",
    "upcoming runs": "dbbackup_next_schedule_timestamp_seconds",
    "run duration": "dbbackup_run_duration_seconds_bucket",
    "Job creation skew": "dbbackup_job_creation_skew_seconds_bucket",
    "reconcile errors": "controller_runtime_reconcile_errors_total",
    "reconcile latency": "controller_runtime_reconcile_time_seconds_bucket",
    "work-queue depth": "workqueue_depth",
    "leader": "leader_election_master_status",
}
SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}")
EQUALITY = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"([^"]*)"')


def expressions() -> list[str]:
    doc = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in doc["panels"] for t in p.get("targets", ())]
    exprs += [v["definition"] for v in doc["templating"]["list"] if v["type"] == "query"]
    return exprs


def metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression: identifiers minus strings, matchers, ranges,
    groupings, Grafana variables, functions and keywords."""
    text = re.sub(r'"[^"]*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)
    text = re.sub(r"\$\w+", "", text)
    text = re.sub(r"\b(by|on|ignoring|without|group_left|group_right)\s*\([^)]*\)", r"\1", text)
    text = re.sub(r"label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,[^)]*\)", r"\1", text)
    return set(re.findall(r"\b[a-zA-Z_:][a-zA-Z0-9_:]*\b", text)) - PROMQL_WORDS


class World:
    def __init__(self) -> None:
        self.clock = HeldClock(speed=SPEED, start=START)  # started once the sample exists
        self.server = ApiServer(clock=self.clock.now).start()
        self.runner = SimulatedJobRunner(
            self.server.url, self.server.ADMIN_TOKEN,
            RunnerOptions(start_delay=1, run_duration=30, speed=SPEED, now=self.clock.now),
        )  # fmt: skip


@pytest.fixture
def world() -> Iterator[World]:
    w = World()
    try:
        yield w
    finally:
        w.runner.stop()
        w.server.stop()


def test_the_expression_parser_finds_metric_names() -> None:
    expr = (
        'histogram_quantile(0.5, sum by (le) (rate(a_bucket{job="x"}[$__rate_interval]))) '
        '> on(namespace) group_left() b unless count(c{namespace=~"$namespace"}) or vector(0)'
    )
    assert metric_names(expr) == {"a_bucket", "b", "c"}


@pytest.mark.timeout(90)
def test_every_dashboard_query_reads_series_the_operator_exports(world: World) -> None:
    kubeconfig = setup_cluster(world.server)
    apply_sample(world.server, "dbbackup_v1alpha1_postgres_daily_backup.yaml")
    world.clock.run()
    world.runner.start()
    operator = OperatorProcess(
        kubeconfig,
        clock_start=START,
        clock_origin=world.clock.origin,
        clock_speed=SPEED,
        extra_args=(
            "--leader-elect",
            "--leader-election-namespace",
            "dbbackup-system",
            *LEASE_TIMINGS,
        ),
    )
    try:
        operator.wait_ready()
        wait_for(
            lambda: "dbbackup_last_success_timestamp_seconds{" in operator.metrics(),
            30,
            "a successful run in /metrics",
        )
        exposition = operator.metrics()
        assert operator.stop() == 0
    finally:
        operator.kill()
    samples: dict[str, list[dict[str, str]]] = {}
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append(dict(sample.labels))

    used: set[str] = set()
    for expr in expressions():
        names = metric_names(expr)
        assert names, expr
        unknown = names - set(samples) - PROMETHEUS_OWN
        assert unknown == set(), f"{expr}: not exported: {sorted(unknown)}"
        used |= names
        for metric, matchers in SELECTOR.findall(expr):
            if metric in PROMETHEUS_OWN:
                continue
            for label, value in EQUALITY.findall(matchers):
                if label in TARGET_LABELS:
                    continue
                assert any(s.get(label) == value for s in samples[metric]), (expr, label, value)
    missing = {topic: m for topic, m in REQUIRED.items() if m not in used}
    assert missing == {}


def test_the_dashboard_is_importable_json_with_unique_panel_ids() -> None:
    doc: dict[str, Any] = json.loads(DASHBOARD.read_text())
    ids = [p["id"] for p in doc["panels"]]
    assert len(ids) == len(set(ids))
    assert doc["uid"] and doc["title"]
    for panel in doc["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            assert panel["targets"], panel["title"]
