"""The manager Deployment: flags the CLI accepts, probes and ports that match them, and a pod
that the ``restricted`` Pod Security Standard admits.
"""

from __future__ import annotations

from typing import Any

from tests.deploy.manifests import (
    DEPLOYMENT,
    MANAGER_CONTAINER,
    MANIFEST_IMAGE,
    OPERATOR_NAMESPACE,
    SERVICE_ACCOUNT,
    only,
    render,
)

# controller-runtime's graceful shutdown timeout, the CLI's --graceful-shutdown-timeout default.
DRAIN_SECONDS = 30
EXPECTED_ARGS = [
    "--leader-elect",
    "--metrics-bind-address=:8443",
    "--metrics-secure",
    "--health-probe-bind-address=:8081",
    "--log-format=json",
]


def _deployment() -> dict[str, Any]:
    return only(render("default"), "Deployment", DEPLOYMENT)


def _pod_spec() -> dict[str, Any]:
    spec: dict[str, Any] = _deployment()["spec"]["template"]["spec"]
    return spec


def _container() -> dict[str, Any]:
    containers: list[dict[str, Any]] = _pod_spec()["containers"]
    assert [c["name"] for c in containers] == [MANAGER_CONTAINER]
    return containers[0]


def _port(container: dict[str, Any], port: int | str) -> int:
    if isinstance(port, int):
        return port
    by_name: dict[str, int] = {p["name"]: p["containerPort"] for p in container["ports"]}
    return by_name[port]


def test_manager_runs_the_entrypoint_with_the_documented_flags() -> None:
    container = _container()
    # No `command`: the image's exec-form ENTRYPOINT ["dbbackup-operator"] runs.
    assert "command" not in container
    assert container["args"] == EXPECTED_ARGS
    assert container["image"] == MANIFEST_IMAGE


def test_every_flag_is_one_the_cli_accepts_and_means_what_the_pod_expects() -> None:
    from app.cli import build_parser

    args, unknown = build_parser().parse_known_args(_container()["args"])
    assert unknown == []
    assert args.command is None  # the operator itself, not a subcommand
    assert args.leader_elect is True
    assert args.metrics_secure is True  # HTTPS, every scrape reviewed by the API server
    assert args.metrics_cert_dir == ""  # self-signed at start (config/certmanager mounts one)
    assert args.log_format == "json"
    # The Lease lives where the pod runs: the CLI defaults the namespace to $POD_NAMESPACE.
    env = {e["name"]: e for e in _container()["env"]}
    assert env["POD_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"
    assert env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert args.graceful_shutdown_timeout == DRAIN_SECONDS


def test_probes_and_ports_are_where_the_bind_addresses_put_them() -> None:
    from app.cli import build_parser
    from manager.httpserver import parse_bind_address

    container = _container()
    args = build_parser().parse_args(container["args"])
    metrics = parse_bind_address(args.metrics_bind_address)
    health = parse_bind_address(args.health_probe_bind_address)
    assert metrics is not None and health is not None
    # Bound on every interface, or the kubelet and Prometheus could not reach them.
    assert metrics[0] == "" and health[0] == ""
    ports = {p["name"]: (p["containerPort"], p["protocol"]) for p in container["ports"]}
    assert ports == {"metrics": (metrics[1], "TCP"), "health": (health[1], "TCP")}
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        http_get = container[probe]["httpGet"]
        assert http_get["path"] == path
        assert _port(container, http_get["port"]) == health[1]
        assert http_get.get("scheme", "HTTP") == "HTTP"


def test_manager_pod_passes_the_restricted_pod_security_profile() -> None:
    from tests.support.pod_security import restricted_violations

    assert restricted_violations(_pod_spec()) == []


def test_manager_pod_is_hardened_beyond_what_the_profile_requires() -> None:
    pod = _pod_spec()
    container = _container()
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 65532
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    context = container["securityContext"]
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["runAsUser"] == 65532
    assert pod["serviceAccountName"] == SERVICE_ACCOUNT
    # The ServiceAccount opts out of automounting; the operator's pod opts back in.
    assert pod["automountServiceAccountToken"] is True
    assert pod.get("hostNetwork", False) is False


def test_shutdown_fits_in_the_grace_period_and_resources_are_bounded() -> None:
    from app.cli import build_parser

    pod = _pod_spec()
    drain = build_parser().parse_args(_container()["args"]).graceful_shutdown_timeout
    # SIGTERM -> drain (<= drain seconds) -> release the Lease -> exit, before SIGKILL;
    # the margin covers releasing the Lease and stopping the servers.
    assert pod["terminationGracePeriodSeconds"] >= drain + 10
    resources = _container()["resources"]
    assert set(resources["requests"]) == {"cpu", "memory"}
    assert set(resources["limits"]) == {"cpu", "memory"}


def test_namespace_enforces_the_restricted_pod_security_level() -> None:
    namespace = only(render("default"), "Namespace", OPERATOR_NAMESPACE)
    labels = namespace["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert _deployment()["metadata"]["namespace"] == OPERATOR_NAMESPACE
