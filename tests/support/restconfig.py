"""The operator's client configuration for an API emulator (the emulator imports none of ours).

The emulator's own ``client_configuration`` builds the official client's ``Configuration``
for the tests that drive it with that client; the operator's :class:`RestClient` takes a
:class:`~manager.restconfig.RestConfig`, built here for the emulator's plain-HTTP port.
"""

from __future__ import annotations

from emulator.audit import ADMIN_TOKEN
from emulator.server import ApiServer
from manager.restconfig import RestConfig

__all__ = ["rest_config"]


def rest_config(server: ApiServer, token: str | None = None) -> RestConfig:
    """``server``'s plain-HTTP URL with ``token`` (the admin's by default)."""
    return RestConfig(host=server.url, bearer_token=token or ADMIN_TOKEN)
