"""Find the API server and credentials the way every Kubernetes tool does.

Order (controller-runtime's ``GetConfig``): the ``--kubeconfig`` flag, then ``$KUBECONFIG``,
then the in-cluster service-account config, then ``~/.kube/config``. The first source that
exists wins; a source that exists but is broken is an error, never silently skipped.
"""

from __future__ import annotations

import os
from pathlib import Path

from kubernetes import config as kube_config
from kubernetes.client import Configuration

__all__ = ["ConfigError", "load_configuration"]

_IN_CLUSTER_TOKEN = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")


class ConfigError(Exception):
    """No usable API server configuration was found, or the one found is broken."""


def load_configuration(kubeconfig: str | None = None, context: str | None = None) -> Configuration:
    """Return a client ``Configuration`` from the first source that exists (see module doc)."""
    configuration = Configuration()
    explicit = kubeconfig or os.environ.get("KUBECONFIG")
    try:
        if explicit:
            # $KUBECONFIG may be a list; the client merges the files in order.
            kube_config.load_kube_config(
                config_file=explicit, context=context, client_configuration=configuration
            )
            return configuration
        if os.environ.get("KUBERNETES_SERVICE_HOST") and _IN_CLUSTER_TOKEN.exists():
            kube_config.load_incluster_config(client_configuration=configuration)
            return configuration
        default = Path.home() / ".kube" / "config"
        if default.exists():
            kube_config.load_kube_config(
                config_file=str(default), context=context, client_configuration=configuration
            )
            return configuration
    except (kube_config.ConfigException, OSError, ValueError) as exc:
        raise ConfigError(f"cannot load Kubernetes configuration: {exc}") from exc
    raise ConfigError(
        "no Kubernetes configuration found: pass --kubeconfig, set $KUBECONFIG, run in a "
        "cluster, or create ~/.kube/config"
    )
