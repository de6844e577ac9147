"""Helpers for the deployment tests: render kustomizations and check objects against their kind.

``render(path)`` runs ``kubectl kustomize`` (the kustomize that ``kubectl apply -k`` uses) on a
directory under ``config/`` and returns the objects as plain dicts, cached per path since the
manifests do not change during a run. ``schema_problems(obj)`` decodes a built-in object with
the official client's generated models, which type-check every field and require the
required ones, then re-encodes it: a field the model does not know (a typo, a wrong level)
is dropped by the decoder and shows up as a difference. This is the strict decoding an API
server applies (``kubectl apply --validate=strict``) without needing a server. Custom kinds
the client has no model for (the Prometheus Operator's) are checked by the tests that own
them.
"""

from __future__ import annotations

import functools
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import kubernetes.client
import pydantic
import yaml

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "config"

OPERATOR_NAMESPACE = "dbbackup-system"  # docs/design.md section 1
SERVICE_ACCOUNT = "dbbackup-operator"  # docs/design.md section 1
LEASE_NAME = "dbbackup-operator-leader"  # docs/design.md section 1
DEPLOYMENT = "dbbackup-operator"
MANAGER_CONTAINER = "manager"
MANAGER_ROLE = "dbbackup-operator-manager-role"
LEADER_ELECTION_ROLE = "dbbackup-operator-leader-election-role"
METRICS_SERVICE = "dbbackup-operator-metrics-service"
MANIFEST_IMAGE = "ghcr.io/example/dbbackup-operator:latest"

# Every kustomization a user may render on its own, and config/default that renders them all.
KUSTOMIZATIONS = ("default", "rbac", "manager", "network-policy", "prometheus", "certmanager")

KUSTOMIZE_TIMEOUT = 60.0  # seconds; a render takes well under one

# (apiVersion, kind) -> the generated model that decodes it.
_MODELS: dict[tuple[str, str], type[pydantic.BaseModel]] = {
    ("v1", "Namespace"): kubernetes.client.V1Namespace,
    ("v1", "ServiceAccount"): kubernetes.client.V1ServiceAccount,
    ("v1", "Service"): kubernetes.client.V1Service,
    ("v1", "ConfigMap"): kubernetes.client.V1ConfigMap,
    ("apps/v1", "Deployment"): kubernetes.client.V1Deployment,
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): kubernetes.client.V1ClusterRole,
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): kubernetes.client.V1ClusterRoleBinding,
    ("rbac.authorization.k8s.io/v1", "Role"): kubernetes.client.V1Role,
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): kubernetes.client.V1RoleBinding,
    ("networking.k8s.io/v1", "NetworkPolicy"): kubernetes.client.V1NetworkPolicy,
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"): (
        kubernetes.client.V1CustomResourceDefinition
    ),
}


def kustomize(directory: Path) -> str:
    """``kubectl kustomize <directory>``; raises with kustomize's message if it fails."""
    proc = subprocess.run(
        ["kubectl", "kustomize", str(directory)],
        capture_output=True,
        text=True,
        timeout=KUSTOMIZE_TIMEOUT,
        check=False,
    )
    if proc.returncode != 0:
        raise AssertionError(f"kubectl kustomize {directory} failed:\n{proc.stderr}")
    return proc.stdout


def load_all(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc is not None]


@functools.cache
def _render_cached(name: str) -> str:
    return kustomize(CONFIG / name)


def render(name: str) -> list[dict[str, Any]]:
    """The objects ``config/<name>`` renders to (a fresh copy each call; callers may edit)."""
    return load_all(_render_cached(name))


def only(objs: Iterable[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    """The one object of ``kind`` named ``name``; fails listing what there is otherwise."""
    objs = list(objs)
    found = [o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name]
    present = sorted(f"{o['kind']}/{o['metadata']['name']}" for o in objs)
    assert len(found) == 1, f"expected one {kind}/{name}, have {present}"
    return found[0]


def of_kind(objs: Iterable[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objs if o["kind"] == kind]


def has_model(obj: dict[str, Any]) -> bool:
    return (obj.get("apiVersion", ""), obj.get("kind", "")) in _MODELS


def _differences(want: Any, got: Any, path: str) -> list[str]:
    if isinstance(want, dict) and isinstance(got, dict):
        out: list[str] = []
        for key in sorted(set(want) | set(got)):
            where = f"{path}.{key}"
            if key not in got:
                out.append(f"{where}: not a field of this kind (dropped when decoded)")
            elif key not in want:
                out.append(f"{where}: appeared when decoded")
            else:
                out.extend(_differences(want[key], got[key], where))
        return out
    if isinstance(want, list) and isinstance(got, list):
        if len(want) != len(got):
            return [f"{path}: {len(want)} items became {len(got)}"]
        out = []
        for index, (w, g) in enumerate(zip(want, got, strict=True)):
            out.extend(_differences(w, g, f"{path}[{index}]"))
        return out
    return [] if want == got else [f"{path}: {want!r} decoded as {got!r}"]


def schema_problems(obj: dict[str, Any]) -> list[str]:
    """What is wrong with a built-in object for its kind; empty when it decodes strictly."""
    key = (obj.get("apiVersion", ""), obj.get("kind", ""))
    model = _MODELS.get(key)
    if model is None:
        return [f"no model for apiVersion {key[0]!r} kind {key[1]!r}"]
    try:
        decoded = model.from_dict(obj)  # type: ignore[attr-defined]
    except pydantic.ValidationError as exc:
        return [str(exc)]
    with kubernetes.client.ApiClient() as api:
        encoded = api.sanitize_for_serialization(decoded)
    problems = _differences(obj, encoded, key[1])
    name = obj.get("metadata", {}).get("name")
    if not name:
        problems.append(f"{key[1]}: metadata.name is required")
    return problems
