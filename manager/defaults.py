"""The runtime's defaults that more than one part applies, each said once.

Role: controller-runtime keeps its defaults as named constants in one place
(``pkg/manager/internal.go``); these are the ones the Manager, its controllers and a command
line all need. Guarantees: constants only, nothing imported, so a command can print them in
``--help`` without loading the Kubernetes client. Defaults only one module applies stay there.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_CACHE_SYNC_TIMEOUT",
    "DEFAULT_GRACEFUL_SHUTDOWN_TIMEOUT",
    "DEFAULT_HEALTH_PROBE_BIND_ADDRESS",
    "DEFAULT_MAX_CONCURRENT_RECONCILES",
    "DEFAULT_METRICS_BIND_ADDRESS",
    "DEFAULT_SECURE_METRICS_BIND_ADDRESS",
]

DEFAULT_METRICS_BIND_ADDRESS = ":8080"  # controller-runtime's metrics default (plain HTTP)
# With metrics_secure: kubebuilder's scaffold serves authenticated HTTPS metrics on 8443.
DEFAULT_SECURE_METRICS_BIND_ADDRESS = ":8443"
DEFAULT_HEALTH_PROBE_BIND_ADDRESS = ":8081"  # kubebuilder's scaffolded probe address
DEFAULT_MAX_CONCURRENT_RECONCILES = 1  # controller-runtime's controller default
DEFAULT_CACHE_SYNC_TIMEOUT = 120.0  # seconds; controller-runtime's CacheSyncTimeout (2 min)
DEFAULT_GRACEFUL_SHUTDOWN_TIMEOUT = 30.0  # seconds; controller-runtime's GracefulShutdownTimeout
