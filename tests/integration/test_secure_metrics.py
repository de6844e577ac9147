"""``config/default``'s manager serves /metrics only to scrapers the cluster allows.

The real command runs with the args of the rendered Deployment (its bind addresses moved to
loopback ports) as its ServiceAccount, against the emulator in RBAC mode holding exactly the
RBAC objects ``config/default`` renders. A scraper with no token gets 401, one whose token the
API server does not know 401, one without the ``metrics-reader`` role 403, and Prometheus'
ServiceAccount, bound to that role as ``config/rbac/metrics_reader_role.yaml`` says, 200 with
the operator's series.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emulator.server import ApiServer
from tests.deploy.manifests import DEPLOYMENT, only, render
from tests.support.operator import OPERATOR_USER, OperatorProcess, apply_sample, setup_cluster

PROMETHEUS_TOKEN = "prometheus-k8s-token"
PROMETHEUS_USER = "system:serviceaccount:monitoring:prometheus-k8s"
STRANGER_TOKEN = "some-pod-token"
STRANGER_USER = "system:serviceaccount:default:some-pod"
RBAC_KINDS = {"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "ServiceAccount"}
LOCAL_ONLY = ("--metrics-bind-address", "--health-probe-bind-address")


@pytest.fixture
def server() -> Iterator[ApiServer]:
    with ApiServer(rbac=True) as api:
        yield api


def _deployment_args() -> tuple[str, ...]:
    deployment = only(render("default"), "Deployment", DEPLOYMENT)
    args: list[str] = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    return tuple(a for a in args if not a.startswith(LOCAL_ONLY))


@pytest.mark.timeout(90)
def test_default_deploy_answers_401_403_and_200(server: ApiServer) -> None:
    kubeconfig = setup_cluster(server)
    for obj in render("default"):
        if obj["kind"] in RBAC_KINDS:
            server.create_object(obj)
    server.create_object({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "prometheus-k8s-dbbackup-metrics"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": "dbbackup-operator-metrics-reader"},
        "subjects": [{"kind": "ServiceAccount", "name": "prometheus-k8s",
                      "namespace": "monitoring"}],
    })  # fmt: skip
    server.add_user(PROMETHEUS_TOKEN, PROMETHEUS_USER)
    server.add_user(STRANGER_TOKEN, STRANGER_USER)
    apply_sample(server, "dbbackup_v1alpha1_postgres_daily_backup.yaml")
    operator = OperatorProcess(kubeconfig, extra_args=_deployment_args(), metrics_secure=True)
    try:
        operator.wait_ready()
        assert operator.scrape(None) == (401, "Unauthorized\n")
        assert operator.scrape("a-token-nobody-issued")[0] == 401
        assert operator.scrape(STRANGER_TOKEN) == (
            403,
            f"Authorization denied for user {STRANGER_USER}\n",
        )
        body = operator.metrics(PROMETHEUS_TOKEN)
        assert 'dbbackup_next_schedule_timestamp_seconds{name="postgres-daily-backup"' in body
        assert operator.stop() == 0
    finally:
        operator.kill()
    refused = [r for r in server.audit.records if r.user == OPERATOR_USER and r.code == 403]
    assert refused == []
