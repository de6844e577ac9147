"""The restricted-profile checker itself: a compliant pod passes, and each control, broken
on its own, is reported (otherwise "no violations" in the Job tests would prove nothing)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.pod_security import restricted_violations

Pod = dict[str, Any]


def good_pod() -> Pod:
    return {
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [
            {
                "name": "c",
                "image": "i",
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "capabilities": {"drop": ["ALL"]},
                },
            }
        ],
        "volumes": [{"name": "tmp", "emptyDir": {}}, {"name": "s", "secret": {"secretName": "x"}}],
    }


def container_sc(pod: Pod) -> dict[str, Any]:
    sc: dict[str, Any] = pod["containers"][0]["securityContext"]
    return sc


CASES: dict[str, tuple[Callable[[Pod], None], str]] = {
    "host-network": (lambda p: p.update(hostNetwork=True), "hostNetwork"),
    "host-pid": (lambda p: p.update(hostPID=True), "hostPID"),
    "host-ipc": (lambda p: p.update(hostIPC=True), "hostIPC"),
    "privileged": (lambda p: container_sc(p).update(privileged=True), "privileged"),
    "baseline-capability": (
        lambda p: container_sc(p)["capabilities"].update(add=["SYS_ADMIN"]),
        "SYS_ADMIN",
    ),
    "restricted-capability": (
        lambda p: container_sc(p)["capabilities"].update(add=["CHOWN"]),
        "NET_BIND_SERVICE",
    ),
    "drop-all-missing": (lambda p: container_sc(p).pop("capabilities"), "drop must include ALL"),
    "host-path": (
        lambda p: p["volumes"].append({"name": "h", "hostPath": {"path": "/"}}),
        "hostPath",
    ),
    "volume-type": (
        lambda p: p["volumes"].append({"name": "n", "nfs": {"server": "s", "path": "/"}}),
        "nfs",
    ),
    "host-port": (
        lambda p: p["containers"][0].update(ports=[{"containerPort": 80, "hostPort": 80}]),
        "hostPort",
    ),
    "selinux-type": (
        lambda p: container_sc(p).update(seLinuxOptions={"type": "spc_t"}),
        "seLinuxOptions.type",
    ),
    "selinux-user": (
        lambda p: p["securityContext"].update(seLinuxOptions={"user": "root"}),
        "seLinuxOptions.user",
    ),
    "proc-mount": (lambda p: container_sc(p).update(procMount="Unmasked"), "procMount"),
    "seccomp-unconfined": (
        lambda p: container_sc(p).update(seccompProfile={"type": "Unconfined"}),
        "Unconfined",
    ),
    "seccomp-missing": (lambda p: p["securityContext"].pop("seccompProfile"), "seccompProfile"),
    "sysctl": (
        lambda p: p["securityContext"].update(sysctls=[{"name": "kernel.msgmax", "value": "1"}]),
        "kernel.msgmax",
    ),
    "apparmor": (
        lambda p: container_sc(p).update(appArmorProfile={"type": "Unconfined"}),
        "appArmorProfile",
    ),
    "host-process": (
        lambda p: container_sc(p).update(windowsOptions={"hostProcess": True}),
        "hostProcess",
    ),
    "privilege-escalation": (
        lambda p: container_sc(p).pop("allowPrivilegeEscalation"),
        "allowPrivilegeEscalation",
    ),
    "run-as-non-root-missing": (
        lambda p: p["securityContext"].pop("runAsNonRoot"),
        "runAsNonRoot",
    ),
    "run-as-non-root-false-in-container": (
        lambda p: container_sc(p).update(runAsNonRoot=False),
        "runAsNonRoot",
    ),
    "run-as-root-user": (lambda p: container_sc(p).update(runAsUser=0), "runAsUser"),
    "init-container-too": (
        lambda p: p.update(initContainers=[{"name": "i", "image": "i"}]),
        "spec.initContainers[0]",
    ),
}


def test_compliant_pod_passes() -> None:
    assert restricted_violations(good_pod()) == []


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_control_is_enforced(case: str) -> None:
    mutate, text = CASES[case]
    pod = copy.deepcopy(good_pod())
    mutate(pod)
    found = restricted_violations(pod)
    assert found, case
    assert any(text in v for v in found), found


def test_apparmor_annotation() -> None:
    bad = {"container.apparmor.security.beta.kubernetes.io/c": "unconfined"}
    ok = {"container.apparmor.security.beta.kubernetes.io/c": "runtime/default"}
    assert restricted_violations(good_pod(), bad)
    assert restricted_violations(good_pod(), ok) == []


def test_container_level_settings_can_satisfy_the_pod_level_ones() -> None:
    pod = good_pod()
    del pod["securityContext"]
    container_sc(pod).update(runAsNonRoot=True, seccompProfile={"type": "Localhost"})
    assert restricted_violations(pod) == []
