"""A simulated kubelet + Job controller: Jobs start, run, and succeed or fail on their own.

Role: what the emulator has instead of nodes. Two layers:

- pure hooks returning the ``status`` the real Job controller (``pkg/controller/job/
  job_controller.go``) writes at each step, valid under the 1.32 status rules of
  :mod:`emulator.jobstatus`: :func:`started_status` (``startTime``, ``active: 1``, ``ready: 0``,
  ``terminating: 0``, ``uncountedTerminatedPods: {}``), then a whole updated Job from
  :func:`mark_job_succeeded` (``SuccessCriteriaMet`` then ``Complete``, reason
  ``CompletionsReached``, message "Reached expected number of succeeded pods", as
  ``newSuccessCondition`` and the Complete condition derived from it; ``completionTime``) or
  :func:`mark_job_failed` (``FailureTarget`` then ``Failed`` carrying the same reason and
  message, as ``newFailedConditionForFailureTarget``; no ``completionTime``, which the API
  reserves for Complete Jobs);
- :class:`SimulatedJobRunner`, which talks to an API server over plain HTTP (``http.client``,
  a bearer token): it lists and watches Jobs in all namespaces, starts each new Job after
  ``start_delay`` and finishes it after ``run_duration`` (both divided by ``speed``), writing
  through ``/status`` with the read ``resourceVersion`` and re-reading on ``409``. The outcome
  is the Job's ``sandbox.dbbackup.io/outcome`` annotation or label (``fail``/``succeed``), else
  ``decide(job)``, else a seeded RNG with ``failure_rate``. A Job deleted meanwhile (``404``,
  another ``uid``) is forgotten; suspended Jobs wait. It never raises from its threads and
  stops by itself when the server has been unreachable ``max_connect_failures`` times in a row.

Non-goals: Pods, parallelism/completions > 1, backoff retries, indexed Jobs, deadlines.
"""

from __future__ import annotations

import contextlib
import copy
import heapq
import http.client
import json
import logging
import random
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "BACKOFF_LIMIT_EXCEEDED",
    "COMPLETIONS_REACHED",
    "OUTCOME_KEY",
    "RunnerOptions",
    "SimulatedJobRunner",
    "mark_job_failed",
    "mark_job_succeeded",
    "started_status",
]

log = logging.getLogger(__name__)

OUTCOME_KEY = "sandbox.dbbackup.io/outcome"
COMPLETIONS_REACHED = "CompletionsReached"  # batch.JobReasonCompletionsReached
COMPLETIONS_MESSAGE = "Reached expected number of succeeded pods"  # job_controller.go
BACKOFF_LIMIT_EXCEEDED = "BackoffLimitExceeded"  # batch.JobReasonBackoffLimitExceeded
BACKOFF_LIMIT_MESSAGE = "Job has reached the specified backoff limit"  # job_controller.go
DEFAULT_BACKOFF_LIMIT = 6  # batch/v1 JobSpec.backoffLimit default
DEFAULT_START_DELAY = 1.0  # seconds from creation to the pod running
DEFAULT_RUN_DURATION = 5.0  # seconds a backup "runs"
DEFAULT_WATCH_TIMEOUT = 60  # server-side timeoutSeconds of each watch
DEFAULT_MAX_CONNECT_FAILURES = 10  # consecutive unreachable-server errors before giving up
DEFAULT_CONFLICT_RETRIES = 5  # re-reads on 409 before dropping one step
RETRY_PAUSE = 0.2  # real seconds between reconnects (not scaled)
_FAIL = ("fail", "failed", "failure")
_SUCCEED = ("succeed", "succeeded", "success")


def _ts(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _condition(kind: str, reason: str, message: str, now: datetime) -> dict[str, Any]:
    """job_controller.go newCondition: probe and transition time both ``now``."""
    stamp = _ts(now)
    return {
        "type": kind,
        "status": "True",
        "lastProbeTime": stamp,
        "lastTransitionTime": stamp,
        "reason": reason,
        "message": message,
    }


def _old_status(job: Mapping[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(dict(job.get("status") or {}))


def started_status(job: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """The status after the controller created the Job's pod."""
    status = _old_status(job)
    status.setdefault("startTime", _ts(now))
    status.update(active=1, ready=0, terminating=0, uncountedTerminatedPods={})
    return status


def _finished_status(
    job: Mapping[str, Any],
    now: datetime,
    condition_types: tuple[str, str],
    reason: str,
    message: str,
    **counts: int,
) -> dict[str, Any]:
    """The status of a Job whose single pod has finished: ``condition_types`` (the target
    condition, then the final one) replace earlier ones of those types, no pod is left."""
    status = _old_status(job)
    status.setdefault("startTime", _ts(now))
    conditions = [c for c in status.get("conditions") or [] if c.get("type") not in condition_types]
    conditions += [_condition(kind, reason, message, now) for kind in condition_types]
    status.update(
        conditions=conditions, active=0, ready=0, terminating=0, **counts,
        uncountedTerminatedPods={},
    )  # fmt: skip
    return status


def mark_job_succeeded(job: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """A copy of ``job`` whose single pod succeeded (for ``PUT .../status``)."""
    status = _finished_status(
        job, now, ("SuccessCriteriaMet", "Complete"), COMPLETIONS_REACHED, COMPLETIONS_MESSAGE,
        succeeded=1,
    )  # fmt: skip
    status["completionTime"] = _ts(now)
    return {**copy.deepcopy(dict(job)), "status": status}


def mark_job_failed(
    job: Mapping[str, Any],
    now: datetime,
    reason: str = BACKOFF_LIMIT_EXCEEDED,
    message: str = BACKOFF_LIMIT_MESSAGE,
) -> dict[str, Any]:
    """A copy of ``job`` whose pods failed past ``backoffLimit`` (``failed`` = limit + 1)."""
    limit = (job.get("spec") or {}).get("backoffLimit", DEFAULT_BACKOFF_LIMIT)
    failed = max(int((job.get("status") or {}).get("failed") or 0), int(limit) + 1)
    status = _finished_status(job, now, ("FailureTarget", "Failed"), reason, message, failed=failed)
    status.pop("completionTime", None)
    return {**copy.deepcopy(dict(job)), "status": status}


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, kw_only=True)
class RunnerOptions:
    """How the simulated Jobs behave. Delays are in simulated seconds (divided by ``speed``)."""

    start_delay: float = DEFAULT_START_DELAY
    run_duration: float = DEFAULT_RUN_DURATION
    failure_rate: float = 0.0
    seed: int = 0
    speed: float = 1.0
    decide: Callable[[Mapping[str, Any]], bool] | None = None  # True = succeed
    now: Callable[[], datetime] = _utcnow
    watch_timeout: int = DEFAULT_WATCH_TIMEOUT
    max_connect_failures: int = DEFAULT_MAX_CONNECT_FAILURES
    conflict_retries: int = DEFAULT_CONFLICT_RETRIES


class _HTTPError(Exception):
    def __init__(self, code: int, body: str) -> None:
        super().__init__(f"HTTP {code}: {body[:200]}")
        self.code = code


@dataclass(order=True)
class _Task:
    due: float
    seq: int
    action: str = field(compare=False)
    namespace: str = field(compare=False)
    name: str = field(compare=False)
    uid: str = field(compare=False)


class SimulatedJobRunner:
    """Runs every Job of an API server through start -> succeed/fail, in two threads.

    ``outcomes`` maps ``"namespace/name"`` to ``"Succeeded"`` or ``"Failed"`` once written;
    :meth:`wait_for` blocks until a Job has one. ``done`` is set when both threads ended.
    """

    def __init__(self, url: str, token: str, options: RunnerOptions | None = None) -> None:
        self._url = urllib.parse.urlsplit(url)
        self._token = token
        self._opts = options or RunnerOptions()
        if self._opts.speed <= 0:
            raise ValueError(f"speed must be positive, got {self._opts.speed}")
        self._rng = random.Random(self._opts.seed)
        self._stop = threading.Event()
        self.done = threading.Event()
        self._cond = threading.Condition()
        self._tasks: list[_Task] = []
        self._seq = 0
        self._tracked: dict[str, str] = {}  # uid -> "ns/name", Jobs not finished yet
        self.outcomes: dict[str, str] = {}
        self._watch_conn: http.client.HTTPConnection | None = None
        self._threads: list[threading.Thread] = []
        self._failures = 0

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        for name, target in (("watch", self._watch_loop), ("work", self._work_loop)):
            thread = threading.Thread(
                target=self._guard, args=(target,), daemon=True, name=f"jobrunner-{name}"
            )
            self._threads.append(thread)
            thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        conn = self._watch_conn
        if conn is not None and conn.sock is not None:
            with contextlib.suppress(OSError):
                conn.sock.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(timeout)

    def __enter__(self) -> SimulatedJobRunner:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_for(self, key: str, timeout: float) -> str | None:
        """The outcome of Job ``key`` ("ns/name"), waiting up to ``timeout`` real seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while key not in self.outcomes:
                left = deadline - time.monotonic()
                if left <= 0 or self._stop.is_set():
                    return self.outcomes.get(key)
                self._cond.wait(min(left, 0.1))
            return self.outcomes[key]

    def _guard(self, target: Callable[[], None]) -> None:
        try:
            target()
        except Exception:  # a simulator must never take the test process down
            log.exception("job runner thread crashed")
        finally:
            self._stop.set()
            with self._cond:
                self._cond.notify_all()
            if all(t is threading.current_thread() or not t.is_alive() for t in self._threads):
                self.done.set()

    # -- HTTP --------------------------------------------------------------------------------
    def _connection(self, timeout: float | None) -> http.client.HTTPConnection:
        host, port = self._url.hostname or "127.0.0.1", self._url.port
        if self._url.scheme == "https":
            return http.client.HTTPSConnection(host, port, timeout=timeout)
        return http.client.HTTPConnection(host, port, timeout=timeout)

    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self._token}",
            "Accept": "application/json",
            "Content-Type": "application/json",
        }

    def _request(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        conn = self._connection(timeout=10)
        try:
            data = None if body is None else json.dumps(body).encode()
            conn.request(
                method, self._url.path.rstrip("/") + path, body=data, headers=self._headers()
            )
            resp = conn.getresponse()
            text = resp.read().decode()
        finally:
            conn.close()
        if resp.status >= 400:
            raise _HTTPError(resp.status, text)
        result = json.loads(text) if text else {}
        return result if isinstance(result, dict) else {}

    def _connect_failed(self, err: Exception) -> None:
        self._failures += 1
        log.debug("api server unreachable", extra={"error": str(err), "failures": self._failures})
        if self._failures >= self._opts.max_connect_failures:
            log.info("api server gone; job runner stops")
            self._stop.set()
        else:
            self._stop.wait(RETRY_PAUSE)

    # -- watching ----------------------------------------------------------------------------
    def _watch_loop(self) -> None:
        resource_version = ""
        while not self._stop.is_set():
            try:
                if not resource_version:
                    listed = self._request("GET", "/apis/batch/v1/jobs")
                    for job in listed.get("items") or []:
                        self._observe("ADDED", job)
                    resource_version = str(
                        (listed.get("metadata") or {}).get("resourceVersion", "")
                    )
                resource_version = self._watch(resource_version)
                self._failures = 0
            except _HTTPError as err:
                resource_version = "" if err.code == 410 else resource_version
                self._stop.wait(RETRY_PAUSE)
            except (OSError, http.client.HTTPException, ValueError) as err:
                if self._stop.is_set():
                    return
                self._connect_failed(err)

    def _watch(self, resource_version: str) -> str:
        """One watch request; returns the resourceVersion to resume from ('' = relist)."""
        query = urllib.parse.urlencode(
            {
                "watch": "true",
                "resourceVersion": resource_version,
                "allowWatchBookmarks": "true",
                "timeoutSeconds": str(self._opts.watch_timeout),
            }
        )
        conn = self._connection(timeout=self._opts.watch_timeout + 5)
        self._watch_conn = conn
        try:
            conn.request(
                "GET",
                f"{self._url.path.rstrip('/')}/apis/batch/v1/jobs?{query}",
                headers=self._headers(),
            )
            resp = conn.getresponse()
            if resp.status >= 400:
                raise _HTTPError(resp.status, resp.read().decode())
            self._failures = 0
            while not self._stop.is_set():
                line = resp.readline()
                if not line:
                    return resource_version
                if not line.strip():
                    continue
                event = json.loads(line)
                obj = event.get("object") or {}
                if event.get("type") == "ERROR":
                    return "" if obj.get("code") == 410 else resource_version
                resource_version = str(
                    (obj.get("metadata") or {}).get("resourceVersion") or resource_version
                )
                if event.get("type") != "BOOKMARK":
                    self._observe(str(event.get("type")), obj)
            return resource_version
        finally:
            self._watch_conn = None
            conn.close()

    # -- bookkeeping -------------------------------------------------------------------------
    def _observe(self, kind: str, job: Mapping[str, Any]) -> None:
        meta = job.get("metadata") or {}
        uid, key = str(meta.get("uid", "")), f"{meta.get('namespace', '')}/{meta.get('name', '')}"
        with self._cond:
            if kind == "DELETED":
                self._tracked.pop(uid, None)
                return
            status = job.get("status") or {}
            finished = any(
                c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
                for c in status.get("conditions") or []
            )
            if finished or uid in self._tracked or (job.get("spec") or {}).get("suspend"):
                return
            self._tracked[uid] = key
            if status.get("startTime"):
                self._schedule("finish", key, uid, self._opts.run_duration)
            else:
                self._schedule("start", key, uid, self._opts.start_delay)

    def _schedule(self, action: str, key: str, uid: str, delay: float) -> None:
        namespace, name = key.split("/", 1)
        with self._cond:
            self._seq += 1
            due = time.monotonic() + max(0.0, delay) / self._opts.speed
            heapq.heappush(self._tasks, _Task(due, self._seq, action, namespace, name, uid))
            self._cond.notify_all()

    def _work_loop(self) -> None:
        while not self._stop.is_set():
            with self._cond:
                if not self._tasks:
                    self._cond.wait(0.5)
                    continue
                wait = self._tasks[0].due - time.monotonic()
                if wait > 0:
                    self._cond.wait(min(wait, 0.5))
                    continue
                task = heapq.heappop(self._tasks)
                if task.uid not in self._tracked:
                    continue
            try:
                self._run(task)
            except (OSError, http.client.HTTPException, ValueError) as err:
                if self._stop.is_set():
                    return
                self._connect_failed(err)
                self._schedule(task.action, f"{task.namespace}/{task.name}", task.uid, 0)

    def _forget(self, uid: str) -> None:
        with self._cond:
            self._tracked.pop(uid, None)

    def _outcome(self, job: Mapping[str, Any]) -> bool:
        """True = succeed: the outcome annotation/label, then ``decide``, then the RNG."""
        meta = job.get("metadata") or {}
        for source in (meta.get("annotations") or {}, meta.get("labels") or {}):
            wanted = str(source.get(OUTCOME_KEY, "")).lower()
            if wanted in _FAIL:
                return False
            if wanted in _SUCCEED:
                return True
        if self._opts.decide is not None:
            return bool(self._opts.decide(job))
        return self._rng.random() >= self._opts.failure_rate

    def _run(self, task: _Task) -> None:
        path = f"/apis/batch/v1/namespaces/{task.namespace}/jobs/{task.name}"
        key = f"{task.namespace}/{task.name}"
        for _ in range(self._opts.conflict_retries + 1):
            try:
                job = self._request("GET", path)
            except _HTTPError as err:
                if err.code == 404:
                    self._forget(task.uid)
                    return
                raise OSError(str(err)) from err
            if (job.get("metadata") or {}).get("uid") != task.uid:
                self._forget(task.uid)  # deleted and re-created: the new one is observed anew
                return
            now = self._opts.now()
            if task.action == "start":
                if (job.get("status") or {}).get("startTime"):
                    self._schedule("finish", key, task.uid, self._opts.run_duration)
                    return
                body = {**job, "status": started_status(job, now)}
            else:
                succeed = self._outcome(job)
                body = mark_job_succeeded(job, now) if succeed else mark_job_failed(job, now)
            try:
                self._request("PUT", f"{path}/status", body)
            except _HTTPError as err:
                if err.code == 409:
                    continue  # stale resourceVersion: read again and retry
                if err.code != 404:
                    log.warning("job status update refused", extra={"job": key, "error": str(err)})
                self._forget(task.uid)
                return
            if task.action == "start":
                self._schedule("finish", key, task.uid, self._opts.run_duration)
            else:
                with self._cond:
                    self._tracked.pop(task.uid, None)
                    self.outcomes[key] = "Succeeded" if succeed else "Failed"
                    self._cond.notify_all()
            return
        log.warning("job status update kept conflicting", extra={"job": key})
        self._schedule(task.action, key, task.uid, 0)
