"""The resource types the operator serves, as the runtime's ``ResourceType`` values."""

from __future__ import annotations

from api.v1alpha1 import GROUP, KIND, PLURAL, VERSION
from manager.scheme import JOBS, ResourceType

__all__ = ["BACKUPS", "JOBS"]

BACKUPS = ResourceType(GROUP, VERSION, KIND, PLURAL, namespaced=True)
