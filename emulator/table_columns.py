"""The ``TableColumnDefinition`` lists of the built-in kinds the emulator serves.

Role: the headers of ``kubectl get`` for a built-in kind. kube-apiserver's printers
(``pkg/printers/internalversion``) declare one column list per kind; each column's description
is the documentation of the field it shows (the API types' ``SwaggerDoc``) or a short text of
its own. Kinds without a printer (CustomResourceDefinition, Role, ClusterRole) get the default
table convertor's ``Name`` and ``Created At`` (a ``date`` column). The server always prints
the wide form, so ``priority: 1`` columns (shown by ``-o wide``) are in every Table.

Pods' columns are :mod:`emulator.table_pod`'s. Non-goals: kinds the emulator does not serve
(Services, Deployments, ...).
"""

from __future__ import annotations

from typing import Any

from emulator.table import CREATION_DESCRIPTION, NAME_DESCRIPTION

__all__ = ["BUILTIN_COLUMNS", "DEFAULT_COLUMNS", "column"]


def column(
    name: str, description: str, *, priority: int = 0, type_: str = "string", format_: str = ""
) -> dict[str, Any]:
    """One ``TableColumnDefinition`` as the server encodes it (every field present)."""
    return {
        "name": name,
        "type": type_,
        "format": format_,
        "description": description,
        "priority": priority,
    }


NAME = column("Name", NAME_DESCRIPTION, format_="name")
AGE = column("Age", CREATION_DESCRIPTION)
CONTAINERS = "Names of each container in the template."
IMAGES = "Images referenced by each container in the template."
SECRET_TYPE = (
    "Used to facilitate programmatic handling of secret data. More info: "
    "https://kubernetes.io/docs/concepts/configuration/secret/#secret-types"
)
SECRET_DATA = (
    "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' "
    "or '.'. The serialized form of the secret data is a base64 encoded string, representing "
    "the arbitrary (possibly non-string) data value here. Described in "
    "https://tools.ietf.org/html/rfc4648#section-4"
)
CONFIGMAP_DATA = (
    "Data contains the configuration data. Each key must consist of alphanumeric characters, "
    "'-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The "
    "keys stored in Data must not overlap with the keys in the BinaryData field, this is "
    "enforced during validation process."
)
SERVICE_ACCOUNT_SECRETS = (
    "Secrets is a list of the secrets in the same namespace that pods running using this "
    "ServiceAccount are allowed to use. Pods are only limited to this list if this service "
    'account has a "kubernetes.io/enforce-mountable-secrets" annotation set to "true". The '
    '"kubernetes.io/enforce-mountable-secrets" annotation is deprecated since v1.32. Prefer '
    "separate namespaces to isolate access to mounted secrets. This field should not be used "
    "to find auto-generated service account token secrets for use outside of pods. Instead, "
    "tokens can be requested directly using the TokenRequest API, or service account token "
    "secrets can be manually created. More info: "
    "https://kubernetes.io/docs/concepts/configuration/secret"
)
EVENT_SUBOBJECT = (
    "If referring to a piece of an object instead of an entire object, this string should "
    "contain a valid JSON/Go field access statement, such as "
    "desiredState.manifest.containers[2]. For example, if the object reference is to a "
    'container within a pod, this would take on a value like: "spec.containers{name}" (where '
    '"name" refers to the name of the container that triggered the event) or if no container '
    'name is specified "spec.containers[2]" (container with index 2 in this pod). This syntax '
    "is chosen only to have some well-defined way of referencing a part of an object."
)
EVENT_TYPE = "Type of this event (Normal, Warning), new types could be added in the future"
EVENT_REASON = (
    "This should be a short, machine understandable string that gives the reason for the "
    "transition into the object's current status."
)
JOB_SUCCEEDED = (
    "The number of pods which reached phase Succeeded. The value increases monotonically for a "
    "given spec. However, it may decrease in reaction to scale down of elastic indexed jobs."
)
JOB_SELECTOR = (
    "A label query over pods that should match the pod count. Normally, the system sets this "
    "field for you. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors"
)
LEASE_HOLDER = (
    "holderIdentity contains the identity of the holder of a current lease. If Coordinated "
    "Leader Election is used, the holder identity must be equal to the elected "
    "LeaseCandidate.metadata.name field."
)
ROLE_REF = (
    "RoleRef can reference a Role in the current namespace or a ClusterRole in the global "
    "namespace. If the RoleRef cannot be resolved, the Authorizer must return an error."
)
CLUSTER_ROLE_REF = (
    "RoleRef can only reference a ClusterRole in the global namespace. If the RoleRef cannot "
    "be resolved, the Authorizer must return an error."
)
PVC_ACCESS_MODES = (
    "accessModes contains the actual access modes the volume backing the PVC has. More info: "
    "https://kubernetes.io/docs/concepts/storage/persistent-volumes#access-modes-1"
)
PVC_VOLUME = "volumeName is the binding reference to the PersistentVolume backing this claim."
PVC_VOLUME_MODE = (
    "volumeMode defines what type of volume is required by the claim. Value of Filesystem is "
    "implied when not included in claim spec."
)


def _binding_columns(role_ref: str, kind: str) -> tuple[dict[str, Any], ...]:
    return (
        NAME,
        column("Role", role_ref),
        AGE,
        column("Users", f"Users in the {kind}", priority=1),
        column("Groups", f"Groups in the {kind}", priority=1),
        column("ServiceAccounts", f"ServiceAccounts in the {kind}", priority=1),
    )


# rest.NewDefaultTableConvertor: the columns of a kind without a printer of its own.
DEFAULT_COLUMNS: tuple[dict[str, Any], ...] = (
    NAME,
    column("Created At", CREATION_DESCRIPTION, type_="date"),
)

# (group, plural) of the stored resource -> its printer's columns.
BUILTIN_COLUMNS: dict[tuple[str, str], tuple[dict[str, Any], ...]] = {
    ("", "namespaces"): (NAME, column("Status", "The status of the namespace"), AGE),
    ("", "secrets"): (NAME, column("Type", SECRET_TYPE), column("Data", SECRET_DATA), AGE),
    ("", "configmaps"): (NAME, column("Data", CONFIGMAP_DATA), AGE),
    ("", "serviceaccounts"): (NAME, column("Secrets", SERVICE_ACCOUNT_SECRETS), AGE),
    ("", "persistentvolumeclaims"): (
        NAME,
        column("Status", "phase represents the current phase of PersistentVolumeClaim."),
        column("Volume", PVC_VOLUME),
        column("Capacity", "capacity represents the actual resources of the underlying volume."),
        column("Access Modes", PVC_ACCESS_MODES),
        column("StorageClass", "StorageClass of the pvc"),
        column("VolumeAttributesClass", "VolumeAttributesClass of the pvc"),
        AGE,
        column("VolumeMode", PVC_VOLUME_MODE, priority=1),
    ),
    ("", "events"): (
        column(
            "Last Seen",
            "The time at which the most recent occurrence of this event was recorded.",
        ),
        column("Type", EVENT_TYPE),
        column("Reason", EVENT_REASON),
        column("Object", "The object that this event is about."),
        column("Subobject", EVENT_SUBOBJECT, priority=1),
        column(
            "Source",
            "The component reporting this event. Should be a short machine understandable string.",
            priority=1,
        ),
        column("Message", "A human-readable description of the status of this operation."),
        column(
            "First Seen",
            "The time at which the event was first recorded. (Time of server receipt is in "
            "TypeMeta.)",
            priority=1,
        ),
        column("Count", "The number of times this event has occurred.", priority=1),
        column("Name", NAME_DESCRIPTION, priority=1, format_="name"),
    ),
    ("batch", "jobs"): (
        NAME,
        column("Status", "Status of the job."),
        column("Completions", JOB_SUCCEEDED),
        column("Duration", "Time required to complete the job."),
        AGE,
        column("Containers", CONTAINERS, priority=1),
        column("Images", IMAGES, priority=1),
        column("Selector", JOB_SELECTOR, priority=1),
    ),
    ("coordination.k8s.io", "leases"): (NAME, column("Holder", LEASE_HOLDER), AGE),
    ("rbac.authorization.k8s.io", "rolebindings"): _binding_columns(ROLE_REF, "roleBinding"),
    ("rbac.authorization.k8s.io", "clusterrolebindings"): _binding_columns(
        CLUSTER_ROLE_REF, "clusterRoleBinding"
    ),
}
