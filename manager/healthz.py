"""Liveness and readiness probes with controller-runtime's ``pkg/healthz`` behaviour.

:class:`HealthProbes` holds two sets of named checks and answers HTTP as controller-runtime's
health-probe server does (``--health-probe-bind-address``):

* ``GET /healthz`` and ``GET /readyz`` run every check of their set (sorted by name). All pass:
  ``200`` with body ``ok``; with ``?verbose`` the per-check lines instead, ending
  ``healthz check passed``. Any fails: ``500`` and always the verbose body —
  ``[+]name ok`` / ``[-]name failed: reason withheld`` lines (the reason stays private on the
  aggregate endpoint), ending ``healthz check failed``.
* ``?exclude=name`` (repeatable) skips a check (``[+]name excluded: ok``); unknown names are
  reported in a ``warn: some health checks cannot be excluded: no matches for "x"`` line.
* ``GET /healthz/<name>``, ``/readyz/<name>`` run one check: ``200 ok``, or ``500`` with
  ``internal server error: <reason>``; an unknown name is ``404``.
* A set without checks reports one passing ``ping`` check (and serves ``/<set>/ping``).

A check is a callable with no arguments: it passes by returning (``None`` or ``True``) and
fails by returning ``False`` or raising (the exception's text is the reason). Checks run on the
server's request threads and must be quick. Checks may be added at any time (thread-safe).
"""

from __future__ import annotations

import json
import logging
import posixpath
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from manager.httpserver import (
    TEXT_PLAIN,
    BackgroundHTTPServer,
    HTTPRequest,
    HTTPResponse,
    start_http_server,
)

__all__ = [
    "HEALTHZ_PATH",
    "READYZ_PATH",
    "Checker",
    "HealthProbes",
    "serve_probes",
]

log = logging.getLogger(__name__)

HEALTHZ_PATH = "/healthz"  # controller-runtime defaultLivenessEndpoint
READYZ_PATH = "/readyz"  # controller-runtime defaultReadinessEndpoint
PING = "ping"  # the implicit check of an empty set

Checker = Callable[[], bool | None]
"""Passes by returning None/True; fails by returning False or raising."""

_NOSNIFF = {"X-Content-Type-Options": "nosniff"}
_NOT_FOUND = HTTPResponse(status=404, body=b"404 page not found\n", headers=_NOSNIFF)


@dataclass(frozen=True, slots=True)
class _Status:
    name: str
    healthy: bool
    excluded: bool = False


def _run(check: Checker) -> str | None:
    """None if the check passed, else the reason it failed."""
    try:
        outcome = check()
    except Exception as exc:
        return str(exc) or type(exc).__name__
    return "check returned False" if outcome is False else None


def _go_quote(name: str) -> str:
    return json.dumps(name, ensure_ascii=False)


class HealthProbes:
    """Named liveness (``/healthz``) and readiness (``/readyz``) checks, served over HTTP."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sets: dict[str, dict[str, Checker]] = {HEALTHZ_PATH: {}, READYZ_PATH: {}}

    def add_healthz_check(self, name: str, check: Checker) -> None:
        """Add a liveness check; a failing one makes the kubelet restart the pod."""
        self._add(HEALTHZ_PATH, name, check)

    def add_readyz_check(self, name: str, check: Checker) -> None:
        """Add a readiness check; a failing one takes the pod out of service endpoints."""
        self._add(READYZ_PATH, name, check)

    def _add(self, endpoint: str, name: str, check: Checker) -> None:
        if not name or "/" in name:
            raise ValueError(f"invalid check name {name!r}")
        with self._lock:
            checks = self._sets[endpoint]
            if name in checks:
                raise ValueError(f"{endpoint[1:]} checker has already been registered: {name}")
            checks[name] = check

    def handle(self, request: HTTPRequest) -> HTTPResponse:
        """Answer one probe request (the routing of the manager's health-probe server)."""
        for endpoint in (HEALTHZ_PATH, READYZ_PATH):
            if request.path == endpoint or request.path.startswith(endpoint + "/"):
                with self._lock:
                    checks = dict(self._sets[endpoint])
                # path.Clean of what http.StripPrefix(endpoint) leaves ("" and "/" are the root).
                sub = posixpath.normpath("/" + request.path[len(endpoint) :].lstrip("/"))
                if sub == "/":
                    return self._aggregate(checks, request.query)
                return self._single(checks, sub[1:])
        return _NOT_FOUND

    def _aggregate(
        self, checks: Mapping[str, Checker], query: Mapping[str, list[str]]
    ) -> HTTPResponse:
        excluded = set(query.get("exclude", ()))
        statuses: list[_Status] = []
        failed = False
        for name, check in checks.items():
            if name in excluded:
                excluded.discard(name)
                statuses.append(_Status(name, healthy=True, excluded=True))
                continue
            reason = _run(check)
            if reason is not None:
                log.debug("healthz check failed", extra={"checker": name, "error": reason})
                failed = True
            statuses.append(_Status(name, healthy=reason is None))
        if not checks:
            statuses.append(_Status(PING, healthy=True))
        for name in sorted(excluded):
            log.debug("cannot exclude health check, no matches for it", extra={"checker": name})
        statuses.sort(key=lambda s: s.name)
        status = 500 if failed else 200
        if not failed and "verbose" not in query:
            return HTTPResponse(status=status, body=b"ok", headers=_NOSNIFF)
        lines = []
        for s in statuses:
            if s.excluded:
                lines.append(f"[+]{s.name} excluded: ok\n")
            elif s.healthy:
                lines.append(f"[+]{s.name} ok\n")
            else:
                lines.append(f"[-]{s.name} failed: reason withheld\n")
        if excluded:
            names = ",".join(_go_quote(n) for n in sorted(excluded))
            lines.append(f"warn: some health checks cannot be excluded: no matches for {names}\n")
        if failed:
            log.info(
                "healthz check failed",
                extra={"statuses": [f"{s.name}={s.healthy}" for s in statuses]},
            )
            lines.append("healthz check failed\n")
        else:
            lines.append("healthz check passed\n")
        return HTTPResponse(
            status=status,
            body="".join(lines).encode(),
            content_type=TEXT_PLAIN,
            headers=_NOSNIFF,
        )

    def _single(self, checks: Mapping[str, Checker], name: str) -> HTTPResponse:
        check = checks.get(name)
        if check is None:
            if checks or name != PING:
                return _NOT_FOUND
            return HTTPResponse(status=200, body=b"ok")
        reason = _run(check)
        if reason is None:
            return HTTPResponse(status=200, body=b"ok")
        body = f"internal server error: {reason}\n".encode()
        return HTTPResponse(status=500, body=body, headers=_NOSNIFF)


def serve_probes(probes: HealthProbes, bind_address: str) -> BackgroundHTTPServer | None:
    """Serve ``probes`` on ``bind_address`` (``":8081"``; ``"0"`` disables: None)."""
    return start_http_server(bind_address, probes.handle, name="health-probe")
