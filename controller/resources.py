"""The resource types the operator serves, as the runtime's ``ResourceType`` values."""

from __future__ import annotations

from api.v1alpha1 import GROUP, KIND, PLURAL, RESTORE_KIND, RESTORE_PLURAL, VERSION
from manager.scheme import JOBS, ResourceType
from manager.store import owner_key

__all__ = ["BACKUPS", "JOBS", "RESTORES", "owned_by"]

BACKUPS = ResourceType(GROUP, VERSION, KIND, PLURAL, namespaced=True)
RESTORES = ResourceType(GROUP, VERSION, RESTORE_KIND, RESTORE_PLURAL, namespaced=True)


def owned_by(owner: ResourceType, namespace: str, name: str) -> str:
    """The ``INDEX_CONTROLLER_OWNER`` value of the objects that ``namespace/name``, an object
    of ``owner``'s kind, controls (its Jobs)."""
    return owner_key(owner.group, owner.kind, namespace, name)
