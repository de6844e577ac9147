"""A watch-based observer: when Jobs appeared and backups got status, without an audit log.

Role: the real-server benchmark's record when no audit log is readable (a managed cluster).
Two watches in the benchmark's namespace, opened before the phase they time, note the receipt
time of each Job's ``ADDED`` event and of the first event in which a DatabaseBackup has a
``status``. A watch event arrives after the write committed, so these times are an upper bound
of the server's (the audit log's ``stageTimestamp``) by the watch's delivery latency — the
floor is timed the same way when there is no audit log, so the ratio stays side by side.

A watch that goes quiet past its read timeout is opened again from the last resourceVersion
seen. Non-goals: request counts (only the audit log has them), a 410 Gone (a phase is far
shorter than the server's event history).
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

from manager.errors import TransportError
from manager.rest import RestClient

__all__ = ["WatchObserver"]

WATCH_SECONDS = 3600  # asked of the server: longer than any phase
READ_TIMEOUT = 120.0  # seconds of silence tolerated (bookmarks arrive every minute)


class WatchObserver:
    """Watches Jobs and DatabaseBackups of one namespace from now until :meth:`stop`."""

    def __init__(self, rest: RestClient, jobs_path: str, backups_path: str) -> None:
        self._rest = rest
        self._mu = threading.Lock()
        self._stop = threading.Event()
        self._aborts: list[Any] = []
        self.job_added: dict[str, float] = {}
        self.backup_status: dict[str, float] = {}
        self.active_job: dict[str, str] = {}  # backup → its status.activeJob, as last seen
        self._threads = [
            threading.Thread(target=self._run, args=(jobs_path, self._on_job), daemon=True),
            threading.Thread(target=self._run, args=(backups_path, self._on_backup), daemon=True),
        ]
        self._ready = threading.Barrier(3)
        for thread in self._threads:
            thread.start()
        self._ready.wait()

    def _run(self, path: str, handle: Any) -> None:
        listed = self._rest.get(path, limit=1)
        version = str((listed.get("metadata") or {}).get("resourceVersion") or "")
        self._ready.wait()
        while not self._stop.is_set():
            query: dict[str, str | int | bool | None] = {
                "resourceVersion": version,
                "timeoutSeconds": WATCH_SECONDS,
                "allowWatchBookmarks": True,
            }
            try:
                stream = self._rest.watch(
                    path, query=query, read_timeout=READ_TIMEOUT, on_open=self._aborts.append
                )
                for event in stream:
                    if self._stop.is_set():
                        return
                    meta = (event.get("object") or {}).get("metadata") or {}
                    version = str(meta.get("resourceVersion") or version)
                    if event.get("type") != "BOOKMARK":
                        handle(event, time.time())
            except TransportError:
                # A quiet namespace may send nothing for longer than the read timeout (a
                # long idle before the herd): watch again from the last version seen.
                if self._stop.is_set():
                    return

    def _on_job(self, event: dict[str, Any], at: float) -> None:
        if event.get("type") == "ADDED":
            name = str(((event.get("object") or {}).get("metadata") or {}).get("name"))
            with self._mu:
                self.job_added.setdefault(name, at)

    def _on_backup(self, event: dict[str, Any], at: float) -> None:
        obj = event.get("object") or {}
        if event.get("type") in ("ADDED", "MODIFIED") and obj.get("status"):
            name = str((obj.get("metadata") or {}).get("name"))
            with self._mu:
                self.backup_status.setdefault(name, at)
                self.active_job[name] = str(obj["status"].get("activeJob") or "")

    def creates(self, suffix: str) -> list[tuple[str, float]]:
        with self._mu:
            return [(n, t) for n, t in self.job_added.items() if n.endswith(suffix)]

    def active(self, suffix: str) -> int:
        """Backups whose status names an active Job ending in ``suffix``."""
        with self._mu:
            return sum(1 for job in self.active_job.values() if job.endswith(suffix))

    def status_times(self) -> list[float]:
        with self._mu:
            return list(self.backup_status.values())

    def stop(self) -> None:
        self._stop.set()
        for abort in list(self._aborts):
            # Streams re-opened after a timeout: the earlier ones are released already.
            with contextlib.suppress(Exception):
                abort()
        for thread in self._threads:
            thread.join(5)
