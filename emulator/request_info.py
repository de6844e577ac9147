"""``RequestInfo``: what one API request is about, as kube-apiserver's ``request.RequestInfo``.

The HTTP front (:mod:`emulator.handler`) resolves it from the path and method before anything
else runs; authorization, faults, the review endpoints (:mod:`emulator.reviews`) and the audit
record read it. Its own module so that those readers need not import the handler.
"""

from __future__ import annotations

from dataclasses import dataclass

from emulator.resources import ResourceInfo

__all__ = ["RequestInfo"]


@dataclass(kw_only=True)
class RequestInfo:
    """What a request is about (``resource`` empty for non-resource paths)."""

    verb: str
    group: str = ""
    version: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    info: ResourceInfo | None = None
