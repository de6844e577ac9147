"""A checker for the Pod Security Standards "restricted" profile (which includes "baseline").

Role: ``restricted_violations(pod_spec)`` lists every control of the Kubernetes docs page
"Pod Security Standards" (concepts/security/pod-security-standards) that a pod spec breaks,
as the ``restricted`` level of Pod Security Admission would enforce it for Linux pods. Used
by the Job builder's tests and the manager Deployment's tests.

Controls (baseline): HostProcess, host namespaces, privileged containers, capabilities
beyond the baseline set, hostPath volumes, host ports, AppArmor, SELinux, ``/proc`` mount
type, seccomp ``Unconfined``, unsafe sysctls. Controls (restricted): volume types,
privilege escalation, running as non-root, non-root user (``runAsUser`` != 0), seccomp
``RuntimeDefault``/``Localhost``, capabilities (drop ``ALL``, add only ``NET_BIND_SERVICE``).

Guarantees: pure; every container list (``containers``, ``initContainers``,
``ephemeralContainers``) is checked; messages name the field. Non-goals: the Windows
exemptions (``spec.os.name: windows``), version-specific differences of older policy versions,
and controls outside the standard (a read-only root filesystem is not one of them).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["BASELINE_CAPABILITIES", "restricted_violations"]

BASELINE_CAPABILITIES = frozenset(
    {
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    }
)
RESTRICTED_ADD_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})
SAFE_SYSCTLS = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
    }
)
SELINUX_TYPES = frozenset(
    {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}
)
RESTRICTED_VOLUME_TYPES = frozenset(
    {
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "persistentVolumeClaim",
        "projected",
        "secret",
    }
)
SECCOMP_RESTRICTED = frozenset({"RuntimeDefault", "Localhost"})
APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"
CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")


def _containers(spec: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for kind in CONTAINER_LISTS:
        for i, container in enumerate(spec.get(kind) or ()):
            yield f"spec.{kind}[{i}]", container


def _sc(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    sc = obj.get("securityContext")
    return sc if isinstance(sc, Mapping) else {}


def restricted_violations(
    pod_spec: Mapping[str, Any], annotations: Mapping[str, str] | None = None
) -> list[str]:
    """Every baseline and restricted control ``pod_spec`` (a core/v1 PodSpec dict) breaks.

    ``annotations`` are the pod's annotations, for the AppArmor annotation control.
    """
    return _baseline(pod_spec, annotations or {}) + _restricted(pod_spec)


def _baseline(spec: Mapping[str, Any], annotations: Mapping[str, str]) -> list[str]:
    out: list[str] = []
    pod_sc = _sc(spec)
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(field):
            out.append(f"spec.{field} must be unset or false (host namespaces)")
    scopes: list[tuple[str, Mapping[str, Any]]] = [("spec.securityContext", pod_sc)]
    scopes += [(f"{p}.securityContext", _sc(c)) for p, c in _containers(spec)]
    for where, sc in scopes:
        if (sc.get("windowsOptions") or {}).get("hostProcess"):
            out.append(f"{where}.windowsOptions.hostProcess must be unset or false")
        se = sc.get("seLinuxOptions") or {}
        if se.get("type", "") not in SELINUX_TYPES:
            out.append(f"{where}.seLinuxOptions.type {se.get('type')!r} is not allowed")
        for key in ("user", "role"):
            if se.get(key):
                out.append(f"{where}.seLinuxOptions.{key} must be unset")
        seccomp = (sc.get("seccompProfile") or {}).get("type")
        if seccomp == "Unconfined":
            out.append(f"{where}.seccompProfile.type must not be Unconfined")
        apparmor = (sc.get("appArmorProfile") or {}).get("type")
        if apparmor not in (None, "RuntimeDefault", "Localhost"):
            out.append(f"{where}.appArmorProfile.type {apparmor!r} is not allowed")
    for name, value in annotations.items():
        if name.startswith(APPARMOR_ANNOTATION) and not (
            value == "runtime/default" or value.startswith("localhost/")
        ):
            out.append(f"metadata.annotations[{name}] {value!r} is not an allowed AppArmor profile")
    for i, volume in enumerate(spec.get("volumes") or ()):
        if "hostPath" in volume:
            out.append(f"spec.volumes[{i}] must not be a hostPath volume")
    for where, c in _containers(spec):
        sc = _sc(c)
        if sc.get("privileged"):
            out.append(f"{where}.securityContext.privileged must be unset or false")
        added = set((sc.get("capabilities") or {}).get("add") or ())
        for cap in sorted(added - BASELINE_CAPABILITIES):
            out.append(f"{where}.securityContext.capabilities.add must not include {cap}")
        if sc.get("procMount") not in (None, "Default"):
            out.append(f"{where}.securityContext.procMount must be unset or Default")
        for j, port in enumerate(c.get("ports") or ()):
            if port.get("hostPort"):
                out.append(f"{where}.ports[{j}].hostPort must be unset or 0")
    for i, sysctl in enumerate(pod_sc.get("sysctls") or ()):
        if sysctl.get("name") not in SAFE_SYSCTLS:
            out.append(f"spec.securityContext.sysctls[{i}] {sysctl.get('name')!r} is not safe")
    return out


def _restricted(spec: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    pod_sc = _sc(spec)
    for i, volume in enumerate(spec.get("volumes") or ()):
        kinds = set(volume) - {"name"}
        for kind in sorted(kinds - RESTRICTED_VOLUME_TYPES):
            out.append(f"spec.volumes[{i}] has type {kind}, not allowed by restricted")
    if pod_sc.get("runAsUser") == 0:
        out.append("spec.securityContext.runAsUser must not be 0")
    pod_non_root = pod_sc.get("runAsNonRoot") is True
    pod_seccomp = (pod_sc.get("seccompProfile") or {}).get("type")
    if pod_seccomp is not None and pod_seccomp not in SECCOMP_RESTRICTED:
        out.append("spec.securityContext.seccompProfile.type must be RuntimeDefault or Localhost")
    for where, c in _containers(spec):
        sc = _sc(c)
        if sc.get("allowPrivilegeEscalation") is not False:
            out.append(f"{where}.securityContext.allowPrivilegeEscalation must be false")
        if sc.get("runAsNonRoot") is False or (
            sc.get("runAsNonRoot") is not True and not pod_non_root
        ):
            out.append(f"{where}.securityContext.runAsNonRoot must be true (here or in the pod)")
        if sc.get("runAsUser") == 0:
            out.append(f"{where}.securityContext.runAsUser must not be 0")
        seccomp = (sc.get("seccompProfile") or {}).get("type")
        if seccomp is None and pod_seccomp not in SECCOMP_RESTRICTED:
            out.append(f"{where}: seccompProfile.type must be RuntimeDefault or Localhost")
        elif seccomp is not None and seccomp not in SECCOMP_RESTRICTED:
            out.append(f"{where}.securityContext.seccompProfile.type must be RuntimeDefault")
        caps = sc.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or ()):
            out.append(f"{where}.securityContext.capabilities.drop must include ALL")
        for cap in sorted(set(caps.get("add") or ()) - RESTRICTED_ADD_CAPABILITIES):
            out.append(
                f"{where}.securityContext.capabilities.add must not include {cap} "
                "(restricted allows only NET_BIND_SERVICE)"
            )
    return out
