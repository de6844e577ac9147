"""A Pod's Table row, as kube-apiserver's ``printPod`` writes it.

Role: ``kubectl get pods`` shows ``NAME READY STATUS RESTARTS AGE`` (and, with ``-o wide``,
``IP NODE NOMINATED NODE READINESS GATES``), computed from what the kubelet wrote in the status:

* ``Ready``: ready running app containers (and started restartable init containers, the
  "sidecars") over the app containers plus sidecars;
* ``Status``: the phase, or the status ``reason``, overridden by a failing or waiting init
  container (``Init:<reason>``, ``Init:ExitCode:<n>``, ``Init:<i>/<n>``), then by the app
  containers' waiting or terminated reasons (``ContainerCreating``, ``CrashLoopBackOff``,
  ``Completed``, ``Error``, ``ExitCode:<n>``, ``Signal:<n>``); ``Terminating`` once a
  non-terminal Pod has a ``deletionTimestamp``;
* ``Restarts``: the containers' restart counts, with ``(<age> ago)`` of the latest
  ``lastState.terminated.finishedAt``;
* a Succeeded or Failed Pod's row carries a ``Completed`` row condition.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from emulator.table import human_duration, parse_time, since
from emulator.table_columns import AGE, NAME, column

__all__ = ["POD_COLUMNS", "pod_cells", "pod_row_conditions"]

POD_IP = (
    "podIP address allocated to the pod. Routable at least within the cluster. Empty if not "
    "yet allocated."
)
NODE_NAME = (
    "NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate "
    "for scheduling by the scheduler defined in schedulerName. Once this field is set, the "
    "kubelet for this node becomes responsible for the lifecycle of this pod. This field should "
    "not be used to express a desire for the pod to be scheduled on a specific node. "
    "https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#nodename"
)
NOMINATED_NODE = (
    "nominatedNodeName is set only when this pod preempts other pods on the node, but it "
    "cannot be scheduled right away as preemption victims receive their graceful termination "
    "periods. This field does not guarantee that the pod will be scheduled on this node. "
    "Scheduler may decide to place the pod elsewhere if other nodes become available sooner. "
    "Scheduler may also decide to give the resources on this node to a higher priority pod "
    "that is created after preemption. As a result, this field may be different than "
    "PodSpec.nodeName when the pod is scheduled."
)
READINESS_GATES = (
    "If specified, all readiness gates will be evaluated for pod readiness. A pod is ready "
    "when all its containers are ready AND all conditions specified in the readiness gates "
    'have status equal to "True" More info: '
    "https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates"
)
POD_COLUMNS: tuple[dict[str, Any], ...] = (
    NAME,
    column("Ready", "The aggregate readiness state of this pod for accepting traffic."),
    column("Status", "The aggregate status of the containers in this pod."),
    column(
        "Restarts",
        "The number of times the containers in this pod have been restarted and when the last "
        "container in this pod has restarted.",
    ),
    AGE,
    column("IP", POD_IP, priority=1),
    column("Node", NODE_NAME, priority=1),
    column("Nominated Node", NOMINATED_NODE, priority=1),
    column("Readiness Gates", READINESS_GATES, priority=1),
)
TERMINAL_PHASES = ("Succeeded", "Failed")
NODE_UNREACHABLE = "NodeLost"  # node.NodeUnreachablePodReason
COMPLETED_CONDITIONS = {
    "Succeeded": "The pod has completed successfully.",
    "Failed": "The pod failed.",
}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


class _Restarts:
    """A restart count and the latest ``lastState.terminated.finishedAt`` seen with it."""

    def __init__(self) -> None:
        self.count = 0
        self.last: datetime | None = None

    def add(self, status: dict[str, Any]) -> None:
        self.count += int(status.get("restartCount") or 0)
        terminated = _dict(_dict(status.get("lastState")).get("terminated"))
        finished = parse_time(terminated.get("finishedAt"))
        if finished is not None and (self.last is None or finished > self.last):
            self.last = finished

    def text(self, now: datetime) -> str:
        if self.count and self.last is not None:
            return f"{self.count} ({human_duration((now - self.last).total_seconds())} ago)"
        return str(self.count)


def _terminated_reason(terminated: dict[str, Any], prefix: str = "") -> str:
    if terminated.get("reason"):
        return f"{prefix}{terminated['reason']}"
    if terminated.get("signal"):
        return f"{prefix}Signal:{terminated['signal']}"
    return f"{prefix}ExitCode:{int(terminated.get('exitCode') or 0)}"


def _has_condition(status: dict[str, Any], kind: str) -> bool:
    return any(
        c.get("type") == kind and c.get("status") == "True" for c in _list(status.get("conditions"))
    )


def pod_cells(pod: dict[str, Any], now: datetime) -> list[Any]:
    """The row's cells, wide form included."""
    meta, spec, status = (
        _dict(pod.get("metadata")),
        _dict(pod.get("spec")),
        _dict(pod.get("status")),
    )
    phase = str(status.get("phase") or "")
    reason = str(status.get("reason") or phase)
    for condition in _list(status.get("conditions")):
        if condition.get("type") == "PodScheduled" and condition.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"
    init_specs = _list(spec.get("initContainers"))
    sidecars = {str(c.get("name")) for c in init_specs if c.get("restartPolicy") == "Always"}
    total, ready = len(_list(spec.get("containers"))) + len(sidecars), 0
    restarts, sidecar_restarts = _Restarts(), _Restarts()
    initializing = False
    for i, container in enumerate(_list(status.get("initContainerStatuses"))):
        restarts.add(container)
        is_sidecar = container.get("name") in sidecars
        if is_sidecar:
            sidecar_restarts.add(container)
        state = _dict(container.get("state"))
        terminated, waiting = _dict(state.get("terminated")), _dict(state.get("waiting"))
        if state.get("terminated") is not None and int(terminated.get("exitCode") or 0) == 0:
            continue
        if is_sidecar and container.get("started"):
            ready += 1 if container.get("ready") else 0
            continue
        initializing = True
        if state.get("terminated") is not None:
            reason = _terminated_reason(terminated, "Init:")
        elif waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = f"Init:{waiting['reason']}"
        else:
            reason = f"Init:{i}/{len(init_specs)}"
        break
    if not initializing or _has_condition(status, "Initialized"):
        restarts = sidecar_restarts
        has_running = False
        for container in reversed(_list(status.get("containerStatuses"))):
            restarts.add(container)
            state = _dict(container.get("state"))
            waiting, ended = _dict(state.get("waiting")), state.get("terminated")
            if waiting.get("reason"):
                reason = str(waiting["reason"])
            elif ended is not None:
                reason = _terminated_reason(_dict(ended))
            elif container.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            reason = "Running" if _has_condition(status, "Ready") else "NotReady"
    if meta.get("deletionTimestamp"):
        if status.get("reason") == NODE_UNREACHABLE:
            reason = "Unknown"
        elif phase not in TERMINAL_PHASES:
            reason = "Terminating"
    ips = _list(status.get("podIPs"))
    gates = _list(spec.get("readinessGates"))
    gates_text = "<none>"
    if gates:
        conditions = {
            c.get("type"): c.get("status") for c in reversed(_list(status.get("conditions")))
        }  # the first condition of a type decides
        met = sum(1 for g in gates if conditions.get(g.get("conditionType")) == "True")
        gates_text = f"{met}/{len(gates)}"
    return [
        meta.get("name", ""), f"{ready}/{total}", reason, restarts.text(now),
        since(meta.get("creationTimestamp"), now),
        (ips[0].get("ip") if ips else "") or "<none>", spec.get("nodeName") or "<none>",
        status.get("nominatedNodeName") or "<none>", gates_text,
    ]  # fmt: skip


def pod_row_conditions(pod: dict[str, Any]) -> list[dict[str, Any]] | None:
    """A finished Pod's row condition (``podSuccessConditions``/``podFailedConditions``)."""
    phase = _dict(pod.get("status")).get("phase")
    if phase not in COMPLETED_CONDITIONS:
        return None
    message = COMPLETED_CONDITIONS[phase]
    return [{"type": "Completed", "status": "True", "reason": phase, "message": message}]
