"""The resource types the operator serves, as the runtime's ``ResourceType`` values."""

from __future__ import annotations

from api.v1alpha1 import GROUP, KIND, PLURAL, RESTORE_KIND, RESTORE_PLURAL, VERSION
from manager.scheme import JOBS, ResourceType

__all__ = ["BACKUPS", "JOBS", "RESTORES"]

BACKUPS = ResourceType(GROUP, VERSION, KIND, PLURAL, namespaced=True)
RESTORES = ResourceType(GROUP, VERSION, RESTORE_KIND, RESTORE_PLURAL, namespaced=True)
