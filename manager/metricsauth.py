"""Authentication and authorization of ``/metrics`` scrapes, delegated to the API server.

A port of controller-runtime's ``filters.WithAuthenticationAndAuthorization``
(``pkg/metrics/filters/filters.go``) and the ``k8s.io/apiserver`` delegating authenticator and
authorizer it builds:

* the bearer token of a request is reviewed with a ``TokenReview``
  (``authentication.k8s.io/v1``); no token, or one the API server does not accept, is answered
  ``401 Unauthorized``;
* the authenticated user (name, uid, groups, extra) is checked with a ``SubjectAccessReview``
  (``authorization.k8s.io/v1``) for the non-resource URL (the request path) and the request's
  lower-cased method as verb, ``get`` for a scrape; anything but ``allowed`` is ``403``;
* a review that fails (the API server unreachable, 5xx, 429) is retried with the apiserver's
  webhook backoff (:data:`REVIEW_BACKOFF`), then answered ``500``; failures are not cached.

Answers are cached as upstream caches them: a token's review for :data:`TOKEN_CACHE_TTL`
(authenticated or not), an authorization for :data:`ALLOW_CACHE_TTL` when allowed and
:data:`DENY_CACHE_TTL` when not, so a scrape every 15 s costs one review per cache period.
Tokens are never stored, logged or echoed: the cache keys on their SHA-256.

The operator needs ``create`` on ``tokenreviews`` and ``subjectaccessreviews``; a scraper needs
``get`` on the non-resource URL ``/metrics``. Non-goals: client certificates, anonymous access,
audiences other than the API server's own.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import tenacity

from manager.clock import Clock
from manager.errors import ApiError, ServerError, TooManyRequests, TransportError
from manager.httpserver import HTTPRequest, HTTPResponse, Route
from manager.rest import RestClient

__all__ = [
    "ALLOW_CACHE_TTL",
    "DENY_CACHE_TTL",
    "REVIEW_BACKOFF",
    "SUBJECT_ACCESS_REVIEWS_PATH",
    "TOKEN_CACHE_TTL",
    "TOKEN_REVIEWS_PATH",
    "Backoff",
    "DelegatingAuth",
    "UserInfo",
]

log = logging.getLogger(__name__)

TOKEN_REVIEWS_PATH = "/apis/authentication.k8s.io/v1/tokenreviews"
SUBJECT_ACCESS_REVIEWS_PATH = "/apis/authorization.k8s.io/v1/subjectaccessreviews"
TOKEN_CACHE_TTL = 60.0  # seconds; filters.go DelegatingAuthenticatorConfig.CacheTTL
ALLOW_CACHE_TTL = 300.0  # seconds; filters.go DelegatingAuthorizerConfig.AllowCacheTTL
DENY_CACHE_TTL = 30.0  # seconds; filters.go DelegatingAuthorizerConfig.DenyCacheTTL
# Entries per cache; the webhook authorizer's LRU expire cache holds 8192.
MAX_CACHE_ENTRIES = 8192


@dataclass(frozen=True, slots=True)
class Backoff:
    """``wait.Backoff``: the n-th wait is ``duration * factor**n`` plus up to ``jitter`` of it."""

    duration: float
    factor: float
    jitter: float
    steps: int


# filters.go's WebhookRetryBackoff (copied there from apiserver's DefaultAuthWebhookRetryBackoff).
REVIEW_BACKOFF = Backoff(duration=0.5, factor=1.5, jitter=0.2, steps=5)


@dataclass(frozen=True, slots=True)
class UserInfo:
    """Who a TokenReview says the token belongs to."""

    username: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: tuple[tuple[str, tuple[str, ...]], ...] = ()


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _ExpiringCache(Generic[K, V]):
    """A bounded map whose entries expire; the oldest entry goes first when full."""

    def __init__(self, clock: Clock, max_entries: int = MAX_CACHE_ENTRIES) -> None:
        self._clock = clock
        self._max = max_entries
        self._lock = threading.Lock()
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def get(self, key: K) -> tuple[bool, V | None]:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return False, None
            if self._clock.monotonic() >= entry[0]:
                del self._entries[key]
                return False, None
            return True, entry[1]

    def put(self, key: K, value: V, ttl: float) -> None:
        with self._lock:
            self._entries.pop(key, None)
            self._entries[key] = (self._clock.monotonic() + ttl, value)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)


def _retryable(err: BaseException) -> bool:
    # apiserver's webhook DefaultShouldRetry: no answer, a 5xx, or 429.
    return isinstance(err, (ServerError, TooManyRequests, TransportError))


class DelegatingAuth:
    """Reviews tokens and access with the API server ``rest`` talks to, with caches."""

    def __init__(
        self,
        rest: RestClient,
        clock: Clock,
        *,
        backoff: Backoff = REVIEW_BACKOFF,
        rng: random.Random | None = None,
    ) -> None:
        self._rest = rest
        self._clock = clock
        self._tokens: _ExpiringCache[str, UserInfo | None] = _ExpiringCache(clock)
        self._decisions: _ExpiringCache[tuple[Any, ...], tuple[bool, str]] = _ExpiringCache(clock)
        rng = rng or random.Random()

        def wait(state: tenacity.RetryCallState) -> float:
            base = backoff.duration * backoff.factor ** (state.attempt_number - 1)
            return base + rng.random() * backoff.jitter * base

        def sleep(seconds: float) -> None:
            clock.sleep(seconds)

        self._retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(backoff.steps),
            wait=wait,
            retry=tenacity.retry_if_exception(_retryable),
            sleep=sleep,
            reraise=True,
        )

    def _create(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self._retrying(self._rest.create, path, body)
        return result

    def authenticate(self, token: str) -> UserInfo | None:
        """The token's user, or None when the API server does not accept it."""
        key = hashlib.sha256(token.encode()).hexdigest()
        hit, cached = self._tokens.get(key)
        if hit:
            return cached
        review = self._create(
            TOKEN_REVIEWS_PATH,
            {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
             "spec": {"token": token}},
        )  # fmt: skip
        status = review.get("status") or {}
        user: UserInfo | None = None
        if status.get("authenticated"):
            info = status.get("user") or {}
            extra = info.get("extra") or {}
            user = UserInfo(
                username=str(info.get("username", "")),
                uid=str(info.get("uid", "")),
                groups=tuple(info.get("groups") or ()),
                extra=tuple(sorted((k, tuple(v or ())) for k, v in extra.items())),
            )
        self._tokens.put(key, user, TOKEN_CACHE_TTL)
        return user

    def authorize(self, user: UserInfo, verb: str, path: str) -> tuple[bool, str]:
        """(allowed, reason) for ``user`` doing ``verb`` on the non-resource URL ``path``."""
        key = (user, verb, path)
        hit, cached = self._decisions.get(key)
        if hit and cached is not None:
            return cached
        spec: dict[str, Any] = {
            "user": user.username,
            "groups": list(user.groups),
            "nonResourceAttributes": {"path": path, "verb": verb},
        }
        if user.uid:
            spec["uid"] = user.uid
        if user.extra:
            spec["extra"] = {k: list(v) for k, v in user.extra}
        review = self._create(
            SUBJECT_ACCESS_REVIEWS_PATH,
            {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
             "spec": spec},
        )  # fmt: skip
        status = review.get("status") or {}
        decision = (bool(status.get("allowed")), str(status.get("reason", "")))
        self._decisions.put(key, decision, ALLOW_CACHE_TTL if decision[0] else DENY_CACHE_TTL)
        return decision

    def filter(self, route: Route) -> Route:
        """``route`` behind authentication and authorization (filters.go's handler)."""

        def guarded(request: HTTPRequest) -> HTTPResponse:
            header = request.headers.get("authorization", "")
            scheme, _, token = header.partition(" ")
            token = token.strip()
            if scheme.lower() != "bearer" or not token:
                return HTTPResponse(status=401, body=b"Unauthorized\n")
            try:
                user = self.authenticate(token)
            except ApiError as err:
                log.error("authentication failed", extra={"error": str(err)})
                return HTTPResponse(status=500, body=b"Authentication failed\n")
            if user is None:
                log.debug("authentication failed: the token was not accepted")
                return HTTPResponse(status=401, body=b"Unauthorized\n")
            try:
                allowed, reason = self.authorize(user, request.method.lower(), request.path)
            except ApiError as err:
                message = f"Authorization for user {user.username} failed"
                log.error("authorization failed", extra={"user": user.username,
                                                         "error": str(err)})  # fmt: skip
                return HTTPResponse(status=500, body=f"{message}\n".encode())
            if not allowed:
                log.debug("authorization denied", extra={"user": user.username,
                                                         "reason": reason})  # fmt: skip
                body = f"Authorization denied for user {user.username}\n".encode()
                return HTTPResponse(status=403, body=body)
            return route(request)

        return guarded
