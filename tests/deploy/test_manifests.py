"""Every kustomization renders, every object is valid for its kind, and the pieces fit.

"Fit" means what a cluster would otherwise only reveal after ``kubectl apply``: selectors
select the pods they are meant to, bindings name roles and accounts that exist, namespaced
objects land in the operator's namespace, and names are unique per kind.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.deploy.manifests import (
    DEPLOYMENT,
    KUSTOMIZATIONS,
    METRICS_SERVICE,
    OPERATOR_NAMESPACE,
    SERVICE_ACCOUNT,
    has_model,
    of_kind,
    only,
    render,
    schema_problems,
)

CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}


def _pod_labels() -> dict[str, str]:
    deployment = only(render("default"), "Deployment", DEPLOYMENT)
    labels: dict[str, str] = deployment["spec"]["template"]["metadata"]["labels"]
    return labels


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_each_kustomization_renders_valid_objects(name: str) -> None:
    objs = render(name)
    assert objs, f"config/{name} rendered nothing"
    problems = {
        f"{o['kind']}/{o['metadata']['name']}": schema_problems(o) for o in objs if has_model(o)
    }
    assert {k: v for k, v in problems.items() if v} == {}
    for obj in objs:
        assert obj["metadata"].get("name"), obj
        labels = obj["metadata"].get("labels", {})
        assert labels.get("app.kubernetes.io/name") == "dbbackup-operator" or obj["kind"] in {
            "CustomResourceDefinition"
        }, f"{obj['kind']}/{obj['metadata']['name']} lacks app.kubernetes.io/name"


def test_schema_check_catches_a_misplaced_field_and_a_wrong_type() -> None:
    deployment = copy.deepcopy(only(render("manager"), "Deployment", DEPLOYMENT))
    assert schema_problems(deployment) == []
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["readOnlyRootFilesystem"] = True  # belongs in securityContext
    assert any("readOnlyRootFilesystem" in p for p in schema_problems(deployment))
    del container["readOnlyRootFilesystem"]
    deployment["spec"]["replicas"] = "1"
    assert schema_problems(deployment) != []
    deployment["spec"]["replicas"] = 1
    del container["name"]
    assert schema_problems(deployment) != []


def test_default_renders_every_piece_once_in_the_operator_namespace() -> None:
    objs = render("default")
    seen: set[tuple[str, str]] = set()
    for obj in objs:
        key = (obj["kind"], obj["metadata"]["name"])
        assert key not in seen, f"duplicate {key}"
        seen.add(key)
        if obj["kind"] in CLUSTER_SCOPED:
            assert "namespace" not in obj["metadata"], key
        else:
            assert obj["metadata"].get("namespace") == OPERATOR_NAMESPACE, key
    kinds = {kind for kind, _ in seen}
    assert {
        "Namespace",
        "CustomResourceDefinition",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "RoleBinding",
        "Deployment",
        "Service",
        "NetworkPolicy",
    } <= kinds
    # The Prometheus Operator's kinds need its CRDs; they live in config/prometheus only.
    assert not kinds & {"ServiceMonitor", "PrometheusRule"}


@pytest.mark.parametrize("name", ["rbac", "manager", "network-policy", "prometheus"])
def test_each_base_renders_the_same_objects_default_does(name: str) -> None:
    # Names are not prefixed by config/default, so a base applied alone (e.g. config/rbac
    # bound by the RBAC test, config/prometheus on top) matches what default installs.
    default = {(o["kind"], o["metadata"]["name"]): o for o in render("default")}
    for obj in render(name):
        key = (obj["kind"], obj["metadata"]["name"])
        if obj["kind"] in {"ServiceMonitor", "PrometheusRule"}:
            assert obj["metadata"]["namespace"] == OPERATOR_NAMESPACE
            continue
        assert key in default, f"config/{name} renders {key}, config/default does not"
        assert obj["metadata"].get("namespace") == default[key]["metadata"].get("namespace")
        assert obj.get("spec") == default[key].get("spec")
        assert obj.get("rules") == default[key].get("rules")


def test_deployment_selector_matches_its_pod_template() -> None:
    deployment = only(render("default"), "Deployment", DEPLOYMENT)
    selector = deployment["spec"]["selector"]
    assert set(selector) == {"matchLabels"}
    assert _selects(selector["matchLabels"], _pod_labels())
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == SERVICE_ACCOUNT
    only(render("default"), "ServiceAccount", SERVICE_ACCOUNT)


def test_metrics_service_selects_the_manager_pods_on_the_metrics_port() -> None:
    objs = render("default")
    service = only(objs, "Service", METRICS_SERVICE)
    assert _selects(service["spec"]["selector"], _pod_labels())
    deployment = only(objs, "Deployment", DEPLOYMENT)
    container_ports = {
        p["name"]: p["containerPort"]
        for c in deployment["spec"]["template"]["spec"]["containers"]
        for p in c.get("ports", [])
    }
    (port,) = service["spec"]["ports"]
    assert port["name"] == "metrics"
    target = port["targetPort"]
    resolved = container_ports[target] if isinstance(target, str) else target
    assert resolved == container_ports["metrics"] == 8443


def test_every_binding_names_an_existing_role_and_service_account() -> None:
    objs = render("default")
    roles = {(o["kind"], o["metadata"]["name"], o["metadata"].get("namespace")) for o in objs}
    accounts = {
        (o["metadata"]["name"], o["metadata"]["namespace"]) for o in of_kind(objs, "ServiceAccount")
    }
    bindings = of_kind(objs, "ClusterRoleBinding") + of_kind(objs, "RoleBinding")
    assert bindings
    for binding in bindings:
        ref = binding["roleRef"]
        assert ref["apiGroup"] == "rbac.authorization.k8s.io"
        namespace = binding["metadata"].get("namespace") if ref["kind"] == "Role" else None
        assert (ref["kind"], ref["name"], namespace) in roles, binding["metadata"]["name"]
        for subject in binding["subjects"]:
            assert subject["kind"] == "ServiceAccount"
            assert (subject["name"], subject["namespace"]) in accounts


def test_network_policy_admits_only_labelled_namespaces_to_the_metrics_port() -> None:
    objs = render("default")
    (policy,) = of_kind(objs, "NetworkPolicy")
    spec: dict[str, Any] = policy["spec"]
    assert _selects(spec["podSelector"]["matchLabels"], _pod_labels())
    assert spec["policyTypes"] == ["Ingress"]
    (rule,) = spec["ingress"]
    assert rule["from"] == [{"namespaceSelector": {"matchLabels": {"metrics": "enabled"}}}]
    assert rule["ports"] == [{"port": 8443, "protocol": "TCP"}]
    assert "egress" not in spec  # the operator must still reach the API server
