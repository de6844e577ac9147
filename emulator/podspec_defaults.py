"""Defaults of a pod template, as ``pkg/apis/core/v1/defaults.go`` sets them on decode.

Role: what a Job's ``spec.template`` reads back with on a real server (the generated
``SetObjectDefaults_Job`` calls these for the template): ``SetDefaults_PodSpec`` (DNS policy,
restart policy, an empty security context, a 30 s grace period, the default scheduler),
``SetDefaults_Container`` for init and app containers (image pull policy from the tag,
termination-message path and policy) with their ports' ``TCP`` protocol, probes' timings and
``httpGet`` path and scheme, ``fieldRef`` API versions, and the volume defaults (an
``emptyDir`` when no source is named; mode ``0644`` (420) for Secret, ConfigMap, downward-API
and projected volumes; one hour for projected service-account tokens). Two things the real
server's Go encoding does are kept too: an env var's empty ``value`` is dropped (``omitempty``)
and the template's ``metadata.creationTimestamp`` reads back ``null``.

Mutates the template it is given (the caller's private copy). Non-goals: the defaults of
volume sources this project and its users' Jobs never use (iSCSI, RBD, AzureDisk, ScaleIO),
ephemeral volume claim templates, and Pod-only defaults (``SetDefaults_Pod``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["default_pod_spec", "default_pod_template", "image_pull_policy"]

VOLUME_DEFAULT_MODE = 0o644  # Secret/ConfigMap/DownwardAPI/ProjectedVolumeSourceDefaultMode
TOKEN_EXPIRATION_SECONDS = 3600  # SetDefaults_ServiceAccountTokenProjection: one hour
TERMINATION_GRACE_SECONDS = 30  # v1.DefaultTerminationGracePeriodSeconds
PROBE_DEFAULTS = (  # SetDefaults_Probe
    ("timeoutSeconds", 1),
    ("periodSeconds", 10),
    ("successThreshold", 1),
    ("failureThreshold", 3),
)
MODE_SOURCES = ("secret", "configMap", "downwardAPI", "projected")
VOLUME_SOURCES = frozenset(
    {
        "hostPath", "emptyDir", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo",
        "secret", "nfs", "iscsi", "glusterfs", "persistentVolumeClaim", "rbd", "flexVolume",
        "cinder", "cephfs", "flocker", "downwardAPI", "fc", "azureFile", "configMap",
        "vsphereVolume", "quobyte", "azureDisk", "photonPersistentDisk", "projected",
        "portworxVolume", "scaleIO", "storageos", "csi", "ephemeral", "image",
    }
)  # fmt: skip


def image_pull_policy(image: str) -> str:
    """``Always`` for ``:latest`` or no tag (which means latest), else ``IfNotPresent``."""
    tag = image.rsplit("/", 1)[-1]
    return "Always" if ":" not in tag or tag.endswith(":latest") else "IfNotPresent"


def _field_refs(items: list[Any]) -> None:
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("fieldRef"), dict):
            item["fieldRef"].setdefault("apiVersion", "v1")


def _volume(volume: dict[str, Any]) -> None:
    if not VOLUME_SOURCES & set(volume):
        volume["emptyDir"] = {}
    for source in MODE_SOURCES:
        if isinstance(volume.get(source), dict):
            volume[source].setdefault("defaultMode", VOLUME_DEFAULT_MODE)
    if isinstance(volume.get("downwardAPI"), dict):
        _field_refs(volume["downwardAPI"].get("items") or [])
    for projection in (volume.get("projected") or {}).get("sources") or []:
        if not isinstance(projection, dict):
            continue
        if isinstance(projection.get("downwardAPI"), dict):
            _field_refs(projection["downwardAPI"].get("items") or [])
        if isinstance(projection.get("serviceAccountToken"), dict):
            token = projection["serviceAccountToken"]
            token.setdefault("expirationSeconds", TOKEN_EXPIRATION_SECONDS)


def _probe(probe: dict[str, Any]) -> None:
    for field, value in PROBE_DEFAULTS:
        if not probe.get(field):
            probe[field] = value
    if isinstance(probe.get("httpGet"), dict):
        probe["httpGet"].setdefault("path", "/")
        probe["httpGet"].setdefault("scheme", "HTTP")


def _container(container: dict[str, Any]) -> None:
    if isinstance(container.get("image"), str):
        container.setdefault("imagePullPolicy", image_pull_policy(container["image"]))
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    container.setdefault("resources", {})  # a struct: encoded as {} even when empty
    for port in container.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
    for env in container.get("env") or []:
        if isinstance(env, dict) and isinstance(env.get("valueFrom"), dict):
            _field_refs([env["valueFrom"]])
        if isinstance(env, dict) and env.get("value") == "":
            del env["value"]  # EnvVar.Value is omitempty: an empty value is not stored
    for name in ("livenessProbe", "readinessProbe", "startupProbe"):
        if isinstance(container.get(name), dict):
            _probe(container[name])


def default_pod_template(template: dict[str, Any]) -> None:
    """Default ``template`` (a ``PodTemplateSpec``) in place."""
    # ObjectMeta.CreationTimestamp is a struct, never omitted: a template's reads back null.
    template.setdefault("metadata", {}).setdefault("creationTimestamp", None)
    default_pod_spec(template.setdefault("spec", {}))


def default_pod_spec(pod: dict[str, Any]) -> None:
    """Default ``pod`` (a ``PodSpec``, a template's or a Pod's) in place."""
    pod.setdefault("dnsPolicy", "ClusterFirst")
    pod.setdefault("restartPolicy", "Always")
    pod.setdefault("securityContext", {})
    pod.setdefault("terminationGracePeriodSeconds", TERMINATION_GRACE_SECONDS)
    pod.setdefault("schedulerName", "default-scheduler")
    for volume in pod.get("volumes") or []:
        if isinstance(volume, dict):
            _volume(volume)
    for group in ("initContainers", "containers"):
        for container in pod.get(group) or []:
            if isinstance(container, dict):
                _container(container)
