"""What a Pod reads back with after a create: decode defaults, admission, the create strategy.

Role: a bare Pod (``containers: [{name, image}]``) posted to a real kube-apiserver v1.32 reads
back with more than it was sent. This module adds the same, in the order the server applies it:

* decode defaults: ``SetDefaults_PodSpec`` and the container defaults
  (:func:`emulator.podspec_defaults.default_pod_spec`), then ``SetDefaults_Pod``: a container's
  requests default to its limits, each app container with a ``cpu`` or ``memory`` request gets
  a ``NotRequired`` ``resizePolicy`` for it (``InPlacePodVerticalScaling``, on in v1.32), and
  ``enableServiceLinks`` is ``true``;
* admission: ``ServiceAccount`` names the ``default`` account (``serviceAccountName`` and the
  deprecated ``serviceAccount`` both), ``DefaultTolerationSeconds`` adds the ``not-ready`` and
  ``unreachable`` ``NoExecute`` tolerations (300 s) unless the Pod tolerates those taints
  already, ``Priority`` sets ``priority: 0`` and ``preemptionPolicy: PreemptLowerPriority``
  when no priority class is named;
* the create strategy: the status is reset to ``phase: Pending`` and the QoS class
  (``qos.GetPodQOS``).

Non-goals (listed in docs/emulator.md): the ServiceAccount lookup (the real server refuses a
Pod whose account does not exist) and the token volume it mounts, priority classes, pod-level
resources, host-network port defaults, and comparing quantities by value for the QoS class
(they are compared as written).
"""

from __future__ import annotations

from typing import Any

from emulator.podspec_defaults import default_pod_spec

__all__ = ["default_pod", "pod_create_status", "qos_class"]

DEFAULT_ACCOUNT = "default"
TOLERATION_SECONDS = 300  # DefaultTolerationSeconds' --default-not-ready/unreachable-seconds
DEFAULT_TAINTS = ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")
QOS_RESOURCES = ("cpu", "memory")  # the only compute resources GetPodQOS looks at


def _resources(container: dict[str, Any]) -> dict[str, Any]:
    resources = container.get("resources")
    return resources if isinstance(resources, dict) else {}


def _requests_from_limits(container: dict[str, Any]) -> None:
    resources = _resources(container)
    limits = resources.get("limits")
    if not isinstance(limits, dict):
        return
    requests = resources.setdefault("requests", {})
    for name, value in limits.items():
        requests.setdefault(name, value)


def _resize_policy(container: dict[str, Any]) -> None:
    requests = _resources(container).get("requests")
    if not isinstance(requests, dict):
        return
    named = {p.get("resourceName") for p in container.get("resizePolicy") or []}
    for name in QOS_RESOURCES:
        if name in requests and name not in named:
            policy = {"resourceName": name, "restartPolicy": "NotRequired"}
            container.setdefault("resizePolicy", []).append(policy)


def _tolerates(tolerations: list[Any], key: str) -> bool:
    """Whether an existing toleration already covers the ``NoExecute`` taint ``key``."""
    for toleration in tolerations:
        if not isinstance(toleration, dict):
            continue
        if toleration.get("key", "") not in ("", key):
            continue
        if toleration.get("effect", "") in ("", "NoExecute"):
            return True
    return False


def default_pod(pod: dict[str, Any]) -> None:
    """Decode defaults and admission's additions, in place on ``pod`` (a private copy)."""
    spec = pod.setdefault("spec", {})
    default_pod_spec(spec)
    for container in spec.get("containers") or []:
        if isinstance(container, dict):
            _requests_from_limits(container)
            _resize_policy(container)
    for container in spec.get("initContainers") or []:
        if isinstance(container, dict):
            _requests_from_limits(container)
    spec.setdefault("enableServiceLinks", True)
    account = spec.get("serviceAccountName") or spec.get("serviceAccount") or DEFAULT_ACCOUNT
    spec["serviceAccountName"] = spec["serviceAccount"] = account
    tolerations = spec.setdefault("tolerations", [])
    for key in DEFAULT_TAINTS:
        if not _tolerates(tolerations, key):
            tolerations.append(
                {
                    "key": key,
                    "operator": "Exists",
                    "effect": "NoExecute",
                    "tolerationSeconds": TOLERATION_SECONDS,
                }
            )
    if not spec.get("priorityClassName"):
        spec.setdefault("priority", 0)
        spec.setdefault("preemptionPolicy", "PreemptLowerPriority")


def qos_class(spec: dict[str, Any]) -> str:
    """``qos.GetPodQOS``: ``BestEffort`` without cpu/memory requests or limits, ``Guaranteed``
    when every container limits both and requests what it limits, else ``Burstable``."""
    containers = [
        c for group in ("initContainers", "containers") for c in spec.get(group) or []
        if isinstance(c, dict)
    ]  # fmt: skip
    any_set = False
    guaranteed = True
    for container in containers:
        resources = _resources(container)
        requests = {
            k: v for k, v in (resources.get("requests") or {}).items() if k in QOS_RESOURCES
        }
        limits = {k: v for k, v in (resources.get("limits") or {}).items() if k in QOS_RESOURCES}
        any_set = any_set or bool(requests) or bool(limits)
        if set(limits) != set(QOS_RESOURCES) or requests != limits:
            guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def pod_create_status(pod: dict[str, Any]) -> dict[str, Any]:
    """The create strategy's status: whatever was sent is replaced."""
    return {"phase": "Pending", "qosClass": qos_class(pod.get("spec") or {})}
