"""Find the API server and credentials the way every Kubernetes tool does.

Order (controller-runtime's ``GetConfig``): the ``--kubeconfig`` flag, then ``$KUBECONFIG``,
then the in-cluster service-account config, then ``~/.kube/config``. The first source that
exists wins; a source that exists but is broken is an error, never silently skipped.

The client's kubeconfig loader installs a hook that re-applies the credentials before *every*
request (so expiring exec/OIDC tokens are refreshed); re-applying the host re-reads the proxy
settings from the whole environment, ~0.2 ms of CPU per request. The hook is throttled here to
once per :data:`REFRESH_INTERVAL` — a token that expires is still refreshed within a second.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from kubernetes import config as kube_config
from kubernetes.client import Configuration

from manager.clock import Clock, RealClock

__all__ = ["REFRESH_INTERVAL", "ConfigError", "load_configuration"]

REFRESH_INTERVAL = 1.0  # seconds between runs of the client's credential refresh hook

_IN_CLUSTER_TOKEN = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")


class ConfigError(Exception):
    """No usable API server configuration was found, or the one found is broken."""


def _throttle_refresh(configuration: Configuration, clock: Clock) -> Configuration:
    hook: Any = configuration.refresh_api_key_hook
    if hook is None:
        return configuration
    lock = threading.Lock()
    last = [float("-inf")]
    current = [hook]

    def throttled(target: Any) -> None:
        now = clock.monotonic()
        with lock:
            due = now - last[0] >= REFRESH_INTERVAL
            if due:
                last[0] = now
        if not due:
            return
        current[0](target)
        # The client's hook re-installs itself on every run: keep it, and stay in front.
        installed = target.refresh_api_key_hook
        if installed is not throttled:
            current[0] = installed
            target.refresh_api_key_hook = throttled

    # The client annotates the attribute as None, yet calls whatever it holds.
    configuration.refresh_api_key_hook = throttled  # type: ignore[assignment]
    return configuration


def load_configuration(
    kubeconfig: str | None = None, context: str | None = None, *, clock: Clock | None = None
) -> Configuration:
    """Return a client ``Configuration`` from the first source that exists (see module doc)."""
    configuration = _load(kubeconfig, context)
    return _throttle_refresh(configuration, clock or RealClock())


def _load(kubeconfig: str | None, context: str | None) -> Configuration:
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
