"""Bearer tokens and client certificates for each request, as client-go's transport finds them.

Role: :class:`~manager.rest.RestClient` asks :func:`credentials_for` once, then before every
request asks the result for the ``Authorization`` header and (for exec plugins that return a
certificate) the client pair, and tells it when the server answered 401.

Guarantees (client-go's ``transport`` and ``plugin/pkg/client/auth/exec``):

* a static token is sent as is;
* a token file is re-read when the last read is older than :data:`TOKEN_FILE_PERIOD` minus
  :data:`TOKEN_FILE_LEEWAY` (kubelet rotates projected tokens at 80% of their life); a failed
  re-read keeps the token already held;
* an exec plugin runs with its ``env`` on top of this process's environment and
  ``KUBERNETES_EXEC_INFO`` set to an ``ExecCredential`` (``spec.interactive``, and
  ``spec.cluster`` with ``provideClusterInfo``); its answer is cached until its
  ``status.expirationTimestamp`` (forever without one) and the plugin runs again after it
  expires, or after a 401 to a request that carried the cached credential (once per
  credential, whatever the number of requests that got the 401);
* a plugin that cannot run is an :class:`ExecError` naming the command, with its
  ``installHint`` when it was not found; the plugin runs with no stdin unless it is
  interactive (a terminal is attached and ``interactiveMode`` allows it).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from manager.clock import Clock, RealClock
from manager.restconfig import ExecConfig, RestConfig

__all__ = [
    "EXEC_INFO_ENV",
    "TOKEN_FILE_LEEWAY",
    "TOKEN_FILE_PERIOD",
    "Credentials",
    "ExecCredentials",
    "ExecError",
    "credentials_for",
]

EXEC_INFO_ENV = "KUBERNETES_EXEC_INFO"
TOKEN_FILE_PERIOD = 60.0  # seconds a read token is trusted; client-go's NewCachedFileTokenSource
TOKEN_FILE_LEEWAY = 10.0  # seconds before that the file is read again (client-go's leeway)
EXEC_TIMEOUT = 120.0  # seconds a plugin may run; client-go has none, a hung one hangs kubectl


class ExecError(Exception):
    """The exec credential plugin could not run or answered something unusable."""


class Credentials(Protocol):
    """What a request carries; implementations are thread-safe."""

    def authorization(self) -> str | None:
        """The ``Authorization`` header value, or None to send none."""

    def client_pair(self) -> tuple[bytes, bytes] | None:
        """A (certificate, key) PEM pair that replaces the configured one, or None."""

    def unauthorized(self, sent: str | None) -> None:
        """The server answered 401 to a request that carried ``sent``."""


@dataclass(frozen=True)
class _Static:
    token: str

    def authorization(self) -> str | None:
        return f"Bearer {self.token}" if self.token else None

    def client_pair(self) -> tuple[bytes, bytes] | None:
        return None

    def unauthorized(self, sent: str | None) -> None:
        return None


class _TokenFile:
    """The token in a file, re-read about once a minute (the docstring's second bullet)."""

    def __init__(self, path: str, initial: str, clock: Clock) -> None:
        self._path = path
        self._clock = clock
        self._lock = threading.Lock()
        self._token = initial  # sent while the file cannot be read, as client-go does
        self._read_at = float("-inf")

    def _read(self) -> str:
        with open(self._path, encoding="utf-8") as f:
            token = f.read().strip()
        if not token:
            raise OSError(f"read an empty token from file {self._path!r}")
        return token

    def authorization(self) -> str | None:
        now = self._clock.monotonic()
        with self._lock:
            if now - self._read_at >= TOKEN_FILE_PERIOD - TOKEN_FILE_LEEWAY:
                try:
                    self._token = self._read()
                    self._read_at = now
                except (OSError, UnicodeDecodeError):
                    if not self._token:
                        raise
            return f"Bearer {self._token}"

    def client_pair(self) -> tuple[bytes, bytes] | None:
        return None

    def unauthorized(self, sent: str | None) -> None:
        return None


@dataclass(frozen=True)
class _ExecAnswer:
    token: str
    pair: tuple[bytes, bytes] | None
    expires: datetime | None


class ExecCredentials:
    """Runs an exec credential plugin and caches its answer (the docstring's third bullet)."""

    def __init__(
        self,
        config: ExecConfig,
        cluster: Mapping[str, Any],
        clock: Clock,
        *,
        environ: Callable[[], Mapping[str, str]] = lambda: os.environ,
        is_terminal: Callable[[], bool] = lambda: sys.stdin is not None and sys.stdin.isatty(),
    ) -> None:
        self._config = config
        self._cluster = dict(cluster)
        self._clock = clock
        self._environ = environ
        self._is_terminal = is_terminal
        self._lock = threading.Lock()
        self._answer: _ExecAnswer | None = None
        self.runs = 0  # how many times the plugin ran (for logs and tests)

    def _current(self) -> _ExecAnswer:
        with self._lock:
            answer = self._answer
            if answer is None or (
                answer.expires is not None and self._clock.now() > answer.expires
            ):
                answer = self._answer = self._run()
            return answer

    def authorization(self) -> str | None:
        token = self._current().token
        return f"Bearer {token}" if token else None

    def client_pair(self) -> tuple[bytes, bytes] | None:
        return self._current().pair

    def unauthorized(self, sent: str | None) -> None:
        with self._lock:
            answer = self._answer
            held = f"Bearer {answer.token}" if answer is not None and answer.token else None
            if answer is not None and held == sent:
                self._answer = None  # the next request runs the plugin again

    def _interactive(self) -> bool:
        mode = self._config.interactive_mode
        terminal = self._is_terminal()
        if mode == "Never":
            return False
        if mode == "IfAvailable":
            return terminal
        if mode == "Always":
            if not terminal:
                raise ExecError(
                    f"exec plugin {self._config.command} needs a terminal: standard input "
                    "is not a terminal"
                )
            return True
        raise ExecError(f"exec plugin: unknown interactiveMode {mode!r}")

    def _exec_info(self, interactive: bool) -> str:
        spec: dict[str, Any] = {"interactive": interactive}
        if self._config.provide_cluster_info:
            spec["cluster"] = self._cluster
        return json.dumps(
            {"kind": "ExecCredential", "apiVersion": self._config.api_version, "spec": spec},
            separators=(",", ":"),
        )

    def _run(self) -> _ExecAnswer:
        config = self._config
        interactive = self._interactive()
        env = dict(self._environ())
        env.update(config.env)
        env[EXEC_INFO_ENV] = self._exec_info(interactive)
        self.runs += 1
        try:
            done = subprocess.run(
                [config.command, *config.args],
                env=env,
                stdin=None if interactive else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                timeout=EXEC_TIMEOUT,
                check=False,
            )
        except FileNotFoundError as exc:
            hint = f"\n\n{config.install_hint}" if config.install_hint else ""
            raise ExecError(f"exec: executable {config.command} not found{hint}") from exc
        except (OSError, subprocess.SubprocessError) as exc:
            raise ExecError(f"exec: {config.command}: {exc}") from exc
        if done.returncode != 0:
            raise ExecError(
                f"exec: executable {config.command} failed with exit code {done.returncode}"
            )
        return _parse_answer(config, done.stdout)


def _parse_answer(config: ExecConfig, stdout: bytes) -> _ExecAnswer:
    try:
        cred = json.loads(stdout)
    except ValueError as exc:
        raise ExecError(f"exec plugin {config.command}: decoding stdout: {exc}") from exc
    if not isinstance(cred, dict) or cred.get("kind") != "ExecCredential":
        raise ExecError(f"exec plugin {config.command} did not print an ExecCredential")
    if cred.get("apiVersion") != config.api_version:
        raise ExecError(
            f"exec plugin is configured to use API version {config.api_version}, plugin "
            f"returned version {cred.get('apiVersion')}"
        )
    status = cred.get("status")
    if not isinstance(status, dict):
        raise ExecError("exec plugin didn't return a status field")
    token = str(status.get("token") or "")
    cert = str(status.get("clientCertificateData") or "")
    key = str(status.get("clientKeyData") or "")
    if not (token or cert or key):
        raise ExecError("exec plugin didn't return a token or cert/key pair")
    if bool(cert) != bool(key):
        raise ExecError("exec plugin returned only certificate or key, not both")
    expires: datetime | None = None
    if stamp := status.get("expirationTimestamp"):
        try:
            expires = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
        except ValueError as exc:
            raise ExecError(f"exec plugin: bad expirationTimestamp {stamp!r}") from exc
        if expires.tzinfo is None:
            expires = expires.replace(tzinfo=UTC)
    pair = (cert.encode(), key.encode()) if cert else None
    return _ExecAnswer(token=token, pair=pair, expires=expires)


def _exec_cluster(config: RestConfig) -> dict[str, Any]:
    """``spec.cluster`` of the ExecCredential (client-go's ``ConfigToExecCluster``)."""
    cluster: dict[str, Any] = {"server": config.host}
    if config.server_name:
        cluster["tls-server-name"] = config.server_name
    if config.insecure:
        cluster["insecure-skip-tls-verify"] = True
    if config.ca_data:
        cluster["certificate-authority-data"] = base64.b64encode(config.ca_data).decode()
    if config.proxy_url:
        cluster["proxy-url"] = config.proxy_url
    if config.exec_provider is not None and config.exec_provider.cluster_config is not None:
        cluster["config"] = config.exec_provider.cluster_config
    return cluster


def credentials_for(config: RestConfig, clock: Clock | None = None) -> Credentials:
    """The credentials ``config`` describes (an exec plugin only when nothing else is set)."""
    clock = clock or RealClock()
    if config.bearer_token_file:
        return _TokenFile(config.bearer_token_file, config.bearer_token, clock)
    if config.bearer_token or config.cert_data or config.exec_provider is None:
        return _Static(config.bearer_token)
    return ExecCredentials(config.exec_provider, _exec_cluster(config), clock)
