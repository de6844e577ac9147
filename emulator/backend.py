"""``Backend``: everything the HTTP front needs to serve a request, and nothing else.

:class:`emulator.server.ApiServer` builds one ``Backend`` from the collaborators it owns and
binds it to the request handler class (:func:`emulator.handler.handler_class`); the handler
reads only these fields. The dependency runs one way — server → handler → backend — so the
handler never sees the server's lifecycle (ports it binds, threads it joins).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from emulator.audit import AuditLog, Users
from emulator.faults import Faults
from emulator.listing import Lister
from emulator.objects import Cluster
from emulator.openapi_serve import OpenAPIService
from emulator.rbac import Authorizer
from emulator.resources import Registry
from emulator.storage import Storage

__all__ = ["Backend"]


@dataclass(frozen=True, kw_only=True)
class Backend:
    """What a request handler is given.

    * ``registry`` resolves paths to served resources; ``cluster`` runs the object verbs,
      ``lists`` list and deletecollection; ``storage`` feeds watches.
    * ``users`` authenticates bearer tokens; ``authorizer`` is None when RBAC is off.
    * ``audit`` receives one record per request; ``faults`` injects failures and latency.
    * ``clock`` stamps audit records and Table ages; ``stopping`` is set when the server stops
      (streams end, injected waits return); ``bookmark_interval`` is a watch's idle time
      before a BOOKMARK.
    * ``openapi`` answers ``/openapi/...`` and gives field validation its schemas.
    * ``advertised_address`` is the ``host:port`` that ``/api`` advertises: the plain-HTTP
      port, known only once the server is bound.
    """

    registry: Registry
    cluster: Cluster
    lists: Lister
    storage: Storage
    users: Users
    authorizer: Authorizer | None
    audit: AuditLog
    faults: Faults
    clock: Callable[[], datetime]
    stopping: threading.Event
    bookmark_interval: float
    advertised_address: Callable[[], str]
    openapi: OpenAPIService
