"""The cells of the built-in kinds' Table rows, as kube-apiserver's printers write them.

Role: ``kubectl get jobs`` shows ``STATUS COMPLETIONS DURATION``, ``kubectl get events`` shows
``LAST SEEN TYPE REASON OBJECT MESSAGE``: each built-in kind has a hand-written printer upstream
(``pkg/printers/internalversion/printers.go``), and this module is its counterpart for every
kind the emulator serves, with the columns of :mod:`emulator.table_columns`. The server prints
the wide form (``GenerateOptions{Wide: true}``), so every row carries the ``-o wide`` cells too.

* an age (``Age``, an Event's ``Last Seen``/``First Seen``, a running Job's ``Duration``) is
  ``HumanDuration`` since that instant, ``<unknown>`` when it is unset;
* counts (a Secret's or ConfigMap's ``Data``, a ServiceAccount's ``Secrets``, an Event's
  ``Count``) are integers, everything else text;
* Events are printed from their core ``v1`` form, whichever API serves them
  (:mod:`emulator.event_conversion`);
* a kind without a printer (CustomResourceDefinition, Role, ClusterRole) gets the default
  convertor's ``Name`` and ``Created At`` (RFC 3339 in UTC).

Non-goals: ``Quantity`` canonicalisation of a bound claim's capacity (printed as stored).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from emulator.event_conversion import EVENTS_V1_API, to_core
from emulator.resources import ResourceInfo
from emulator.table import Printer, crd_printer, human_duration, parse_time, since
from emulator.table_columns import BUILTIN_COLUMNS, DEFAULT_COLUMNS
from emulator.table_pod import POD_COLUMNS, pod_cells, pod_row_conditions

__all__ = ["format_label_selector", "printer_for"]

Cells = Callable[[dict[str, Any], datetime], list[Any]]
ACCESS_MODES = (
    ("ReadWriteOnce", "RWO"),
    ("ReadOnlyMany", "ROX"),
    ("ReadWriteMany", "RWX"),
    ("ReadWriteOncePod", "RWOP"),
)
BETA_STORAGE_CLASS = "volume.beta.kubernetes.io/storage-class"
ZERO_TIME = "0001-01-01T00:00:00Z"  # Go's zero time.Time in RFC 3339


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    meta: dict[str, Any] = obj.get("metadata") or {}
    return meta


def _name(obj: dict[str, Any]) -> str:
    return str(_meta(obj).get("name", ""))


def _age(obj: dict[str, Any], now: datetime) -> str:
    return since(_meta(obj).get("creationTimestamp"), now)


def _section(obj: dict[str, Any], key: str) -> dict[str, Any]:
    value = obj.get(key)
    return value if isinstance(value, dict) else {}


def format_label_selector(selector: Any) -> str:
    """``metav1.FormatLabelSelector``: requirements sorted by key, ``<none>`` when empty."""
    if not isinstance(selector, dict):
        return "<none>"
    requirements: list[tuple[str, str]] = [
        (key, f"{key}={value}") for key, value in (selector.get("matchLabels") or {}).items()
    ]
    for expr in selector.get("matchExpressions") or []:
        key, values = expr.get("key", ""), sorted(expr.get("values") or [])
        operator = expr.get("operator")
        if operator == "In":
            requirements.append((key, f"{key} in ({','.join(values)})"))
        elif operator == "NotIn":
            requirements.append((key, f"{key} notin ({','.join(values)})"))
        elif operator == "Exists":
            requirements.append((key, key))
        elif operator == "DoesNotExist":
            requirements.append((key, f"!{key}"))
        else:
            return "<error>"
    text = ",".join(text for _, text in sorted(requirements, key=lambda r: r[0]))
    return text or "<none>"


def _namespace(obj: dict[str, Any], now: datetime) -> list[Any]:
    return [_name(obj), _section(obj, "status").get("phase", ""), _age(obj, now)]


def _secret(obj: dict[str, Any], now: datetime) -> list[Any]:
    return [_name(obj), obj.get("type", ""), len(obj.get("data") or {}), _age(obj, now)]


def _config_map(obj: dict[str, Any], now: datetime) -> list[Any]:
    count = len(obj.get("data") or {}) + len(obj.get("binaryData") or {})
    return [_name(obj), count, _age(obj, now)]


def _service_account(obj: dict[str, Any], now: datetime) -> list[Any]:
    return [_name(obj), len(obj.get("secrets") or []), _age(obj, now)]


def _lease(obj: dict[str, Any], now: datetime) -> list[Any]:
    return [_name(obj), _section(obj, "spec").get("holderIdentity") or "", _age(obj, now)]


def _pvc(obj: dict[str, Any], now: datetime) -> list[Any]:
    spec, status = _section(obj, "spec"), _section(obj, "status")
    phase = "Terminating" if _meta(obj).get("deletionTimestamp") else status.get("phase", "")
    volume = spec.get("volumeName") or ""
    capacity = access = ""
    if volume:
        modes = status.get("accessModes") or []
        access = ",".join(short for mode, short in ACCESS_MODES if mode in modes)
        capacity = str((status.get("capacity") or {}).get("storage", "0"))
    annotations = _meta(obj).get("annotations") or {}
    storage_class = annotations.get(BETA_STORAGE_CLASS, spec.get("storageClassName") or "")
    attributes_class = spec.get("volumeAttributesClassName")
    return [
        _name(obj), phase, volume, capacity, access, storage_class,
        "<unset>" if attributes_class is None else attributes_class,
        _age(obj, now), spec.get("volumeMode") or "<unset>",
    ]  # fmt: skip


def _job_status(obj: dict[str, Any]) -> str:
    conditions = _section(obj, "status").get("conditions") or []

    def has(kind: str) -> bool:  # hasJobCondition: the first condition of that type decides
        for condition in conditions:
            if condition.get("type") == kind:
                return bool(condition.get("status") == "True")
        return False

    if has("Complete"):
        return "Complete"
    if has("Failed"):
        return "Failed"
    if _meta(obj).get("deletionTimestamp"):
        return "Terminating"
    if has("Suspended"):
        return "Suspended"
    if has("FailureTarget"):
        return "FailureTarget"
    return "Running"


def _job(obj: dict[str, Any], now: datetime) -> list[Any]:
    spec, status = _section(obj, "spec"), _section(obj, "status")
    succeeded = int(status.get("succeeded") or 0)
    if spec.get("completions") is not None:
        completions = f"{succeeded}/{spec['completions']}"
    elif int(spec.get("parallelism") or 0) > 1:
        completions = f"{succeeded}/1 of {spec['parallelism']}"
    else:
        completions = f"{succeeded}/1"
    start, end = parse_time(status.get("startTime")), parse_time(status.get("completionTime"))
    duration = ""
    if start is not None:
        duration = human_duration(((end or now) - start).total_seconds())
    containers = _section(_section(spec, "template"), "spec").get("containers") or []
    names = ",".join(str(c.get("name", "")) for c in containers)
    images = ",".join(str(c.get("image", "")) for c in containers)
    return [
        _name(obj), _job_status(obj), completions, duration, _age(obj, now),
        names, images, format_label_selector(spec.get("selector")),
    ]  # fmt: skip


def _event(obj: dict[str, Any], now: datetime) -> list[Any]:
    if obj.get("apiVersion") == EVENTS_V1_API:
        obj = to_core(obj)  # the printer reads the internal (core) Event
    first = (
        since(obj["firstTimestamp"], now)
        if obj.get("firstTimestamp")
        else since(obj.get("eventTime"), now)
    )
    last = since(obj["lastTimestamp"], now) if obj.get("lastTimestamp") else first
    count = int(obj.get("count") or 0)
    series = obj.get("series")
    if isinstance(series, dict):
        last = since(series.get("lastObservedTime"), now)
        count = int(series.get("count") or 0)
    elif count == 0:
        count = 1  # singleton events have no count in the new API
    involved = _section(obj, "involvedObject")
    kind = str(involved.get("kind", "")).lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    source = _section(obj, "source")
    component = source.get("component") or obj.get("reportingComponent") or ""
    instance = source.get("host") or obj.get("reportingInstance") or ""
    return [
        last, obj.get("type", ""), obj.get("reason", ""), target,
        involved.get("fieldPath", ""),
        f"{component}, {instance}" if instance else component,
        str(obj.get("message", "")).strip(), first, count, _name(obj),
    ]  # fmt: skip


def _binding(obj: dict[str, Any], now: datetime) -> list[Any]:
    ref = _section(obj, "roleRef")
    users, groups, service_accounts = [], [], []
    for subject in obj.get("subjects") or []:
        if subject.get("kind") == "ServiceAccount":
            service_accounts.append(f"{subject.get('namespace', '')}/{subject.get('name', '')}")
        elif subject.get("kind") == "User":
            users.append(subject.get("name", ""))
        elif subject.get("kind") == "Group":
            groups.append(subject.get("name", ""))
    return [
        _name(obj), f"{ref.get('kind', '')}/{ref.get('name', '')}", _age(obj, now),
        ", ".join(users), ", ".join(groups), ", ".join(service_accounts),
    ]  # fmt: skip


def _default(obj: dict[str, Any], now: datetime) -> list[Any]:
    """``rest.NewDefaultTableConvertor``: the name and the creation time in RFC 3339 (UTC)."""
    created = parse_time(_meta(obj).get("creationTimestamp"))
    text = created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if created else ZERO_TIME
    return [_name(obj), text]


CELLS: dict[tuple[str, str], Cells] = {
    ("", "namespaces"): _namespace,
    ("", "secrets"): _secret,
    ("", "configmaps"): _config_map,
    ("", "serviceaccounts"): _service_account,
    ("", "persistentvolumeclaims"): _pvc,
    ("", "events"): _event,
    ("batch", "jobs"): _job,
    ("coordination.k8s.io", "leases"): _lease,
    ("rbac.authorization.k8s.io", "rolebindings"): _binding,
    ("rbac.authorization.k8s.io", "clusterrolebindings"): _binding,
}
PRINTERS = {key: Printer(BUILTIN_COLUMNS[key], cells) for key, cells in CELLS.items()}
PRINTERS[("", "pods")] = Printer(POD_COLUMNS, pod_cells, pod_row_conditions)
DEFAULT_PRINTER = Printer(DEFAULT_COLUMNS, _default)


def printer_for(info: ResourceInfo) -> Printer:
    """The printer of a served resource: its CRD's columns, its upstream printer, or the
    default convertor's."""
    if info.custom:
        return crd_printer(info.printer_columns)
    return PRINTERS.get(info.storage_key, DEFAULT_PRINTER)
