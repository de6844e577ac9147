"""A world for the reliability suite: one API emulator, its virtual clock, operators, Jobs.

Role: the scenarios of ``tests/reliability`` build on the lead's harness
(:mod:`tests.support.operator`: the real ``dbbackup-operator`` command as a subprocess,
authenticated as its ServiceAccount). A :class:`World` adds what they share: a
:class:`~manager.clock.ScaledClock` whose origin may lie a little in the future (so the
operators are up before the first slot), backups built from the product sample, extra
operator identities (one user per replica, so the audit log tells replicas apart), the
simulated job runner, and a :class:`Completer` that finishes Jobs deterministically.

Guarantees: every server, runner, thread and operator process a ``World`` started is stopped
by :meth:`World.close`; nothing binds beyond 127.0.0.1. Non-goals: anything the operator does
(only the world it acts on is modelled here).
"""

from __future__ import annotations

import copy
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from controller.jobs import scheduled_time
from emulator.audit import AuditRecord
from emulator.jobrunner import (
    RunnerOptions,
    SimulatedJobRunner,
    mark_job_failed,
    mark_job_succeeded,
)
from emulator.server import ApiServer
from manager.clock import ScaledClock
from tests.support.operator import (
    OPERATOR_USER,
    SAMPLES,
    OperatorProcess,
    scratch_dir,
    setup_cluster,
)

GROUP_VERSION = "dbbackup.io/v1alpha1"
KIND = "DatabaseBackup"
SAMPLE = "dbbackup_v1alpha1_postgres_daily_backup.yaml"
SA_GROUPS = ["system:serviceaccounts", "system:serviceaccounts:dbbackup-system"]


def sample_backup(name: str, namespace: str = "default", **spec: Any) -> dict[str, Any]:
    """The product sample (PostgreSQL to S3) as ``name`` in ``namespace``, spec overridden."""
    for doc in yaml.safe_load_all((SAMPLES / SAMPLE).read_text()):
        if doc and doc.get("kind") == KIND:
            obj = copy.deepcopy(doc)
            obj["metadata"] = {"name": name, "namespace": namespace}
            obj["spec"].update(spec)
            return dict(obj)
    raise AssertionError(f"no {KIND} in {SAMPLE}")


def minute(start: datetime, n: int) -> datetime:
    return start + timedelta(minutes=n)


class World:
    """An emulator on a shared virtual clock, and the operators and runners acting in it.

    ``lead`` real seconds pass before the clock reads ``start``: the clock starts "in the
    future", so everything set up meanwhile happens before the first slot.
    """

    def __init__(
        self, *, speed: float, start: datetime, lead: float = 0.0, origin: float | None = None
    ) -> None:
        self.speed = speed
        self.start = start
        self.origin = time.time() + lead if origin is None else origin
        self.clock = ScaledClock(speed=speed, start=start, origin=self.origin)
        self.server = ApiServer(clock=self.clock.now).start()
        self.kubeconfig = setup_cluster(self.server)
        self.operators: list[OperatorProcess] = []
        self.runner: SimulatedJobRunner | None = None
        self.completer: Completer | None = None

    # -- actors ------------------------------------------------------------------------------

    def identity(self, user: str, token: str) -> Path:
        """A kubeconfig for another operator identity (one per replica, for the audit log)."""
        self.server.add_user(token, user, SA_GROUPS)
        path = scratch_dir("dbbackup-rel-") / f"{token}.kubeconfig"
        return self.server.write_kubeconfig(path, token=token)

    def operator(
        self,
        *,
        kubeconfig: Path | None = None,
        env: dict[str, str] | None = None,
        extra_args: tuple[str, ...] = (),
        log_format: str = "json",
    ) -> OperatorProcess:
        proc = OperatorProcess(
            kubeconfig or self.kubeconfig,
            clock_start=self.start,
            clock_origin=self.origin,
            clock_speed=self.speed,
            env=env,
            extra_args=extra_args,
            log_format=log_format,
        )
        self.operators.append(proc)
        return proc

    def start_runner(
        self,
        *,
        run_duration: float = 20,
        decide: Callable[[Any], bool] | None = None,
    ) -> SimulatedJobRunner:
        self.runner = SimulatedJobRunner(
            self.server.url,
            self.server.ADMIN_TOKEN,
            RunnerOptions(
                start_delay=1,
                run_duration=run_duration,
                speed=self.speed,
                now=self.clock.now,
                decide=decide,
            ),
        )
        self.runner.start()
        return self.runner

    def start_completer(self, run_for: float, fails: Callable[[str], bool]) -> Completer:
        self.completer = Completer(self.server, self.clock, run_for=run_for, fails=fails)
        self.completer.start()
        return self.completer

    # -- the world ---------------------------------------------------------------------------

    def add_backup(self, name: str, namespace: str = "default", **spec: Any) -> dict[str, Any]:
        return self.server.create_object(sample_backup(name, namespace, **spec))

    def backup(self, name: str, namespace: str = "default") -> dict[str, Any]:
        obj = self.server.get_object(GROUP_VERSION, KIND, name, namespace)
        assert obj is not None, f"backup {namespace}/{name} is gone"
        return obj

    def status(self, name: str, namespace: str = "default") -> dict[str, Any]:
        return dict(self.backup(name, namespace).get("status") or {})

    def backups(self, namespace: str | None = None) -> list[dict[str, Any]]:
        return self.server.list_objects(GROUP_VERSION, KIND, namespace)

    def jobs(self, namespace: str | None = "default") -> list[dict[str, Any]]:
        return self.server.list_objects("batch/v1", "Job", namespace)

    def job_names(self, namespace: str | None = "default") -> list[str]:
        return sorted(str(j["metadata"]["name"]) for j in self.jobs(namespace))

    def events(self, namespace: str | None = "default") -> list[dict[str, Any]]:
        return self.server.list_objects("events.k8s.io/v1", "Event", namespace)

    def records(self, user: str | None = OPERATOR_USER) -> list[AuditRecord]:
        return [r for r in self.server.audit.records if user is None or r.user == user]

    def namespace(self, name: str) -> None:
        self.server.create_object(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        )

    def close(self) -> None:
        for proc in self.operators:
            proc.kill()
        if self.completer is not None:
            self.completer.stop()
        if self.runner is not None:
            self.runner.stop()
        self.server.stop()


def world_fixture(speed: float, start: datetime, lead: float = 0.0) -> Iterator[World]:
    world = World(speed=speed, start=start, lead=lead)
    try:
        yield world
    finally:
        world.close()


def stable_hash(text: str) -> int:
    return zlib.crc32(text.encode())


class Completer:
    """Finishes every Job ``run_for`` virtual seconds after its slot, deterministically.

    In process (no HTTP, so request faults never touch it), it polls the store and writes
    the Job's final status as the Job controller would, stamped at ``slot + run_for`` whatever
    the real moment of the write: the outcome and every timestamp depend on the Job's name
    only, so two worlds on the same clock end with the same Jobs' statuses. ``fails(name)``
    picks failures. ``seen`` maps each Job name to every uid it had: every Job lives until
    it is finished here, so a slot run twice shows as two uids.
    """

    POLL = 0.05  # real seconds

    def __init__(
        self,
        server: ApiServer,
        clock: ScaledClock,
        *,
        run_for: float,
        fails: Callable[[str], bool],
    ) -> None:
        self._server = server
        self._clock = clock
        self._run_for = timedelta(seconds=run_for)
        self._fails = fails
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="completer", daemon=True)
        self.finished: set[str] = set()
        self.seen: dict[str, set[str]] = {}  # Job name -> every uid seen under that name

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _loop(self) -> None:
        while not self._stop.wait(self.POLL):
            now = self._clock.now()
            for job in self._server.list_objects("batch/v1", "Job"):
                key = f"{job['metadata']['namespace']}/{job['metadata']['name']}"
                self.seen.setdefault(str(job["metadata"]["name"]), set()).add(
                    str(job["metadata"]["uid"])
                )
                slot = scheduled_time(job)
                if key in self.finished or slot is None or now < slot + self._run_for:
                    continue
                at = slot + self._run_for
                name = str(job["metadata"]["name"])
                done = (
                    mark_job_failed(job, at) if self._fails(name) else mark_job_succeeded(job, at)
                )
                try:
                    self._server.update_object(done, subresource="status")
                except Exception:  # deleted or conflicting: look again next poll
                    continue
                self.finished.add(key)
