"""The sandbox: the operator's whole loop on one machine, no cluster needed.

Role: ``dbbackup-operator sandbox`` (and ``run-local`` when no cluster answers, and the plain
``emulator`` subcommand). The only module outside ``emulator/`` that imports the emulator.
It starts, in order:

1. the API emulator on 127.0.0.1 (:data:`~app.sandbox_options.DEFAULT_PORT` unless
   ``--port``) with RBAC enforced, the ``dbbackup-system`` namespace, the CRD from
   ``config/crd``, the operator's RBAC from ``config/rbac``, and (``--with-samples``)
   ``config/samples`` in ``default``; an admin kubeconfig is written to a printed path;
2. a :class:`~emulator.jobrunner.SimulatedJobRunner` standing in for the kubelet and the Job
   controller (start delay, ``--job-duration``, ``--failure-rate``); with ``--real-jobs DIR``
   each Job's outcome is a real ``dbbackup-runner`` run on this machine
   (:mod:`app.sandbox_jobs`), so backups, on-demand runs and restores really happen;
3. the operator as a subprocess — the real ``python -m app`` command with
   ``--kubeconfig`` pointing at the emulator, authenticated with its own token as
   ``system:serviceaccount:dbbackup-system:dbbackup-operator``, so its RBAC is exercised —
   whose logs are streamed with an ``operator |`` prefix.

All three read one virtual clock: a :class:`~manager.clock.ScaledClock` built from the same
``(start, origin, speed)``; the operator gets them as ``--clock-*`` flags. Unless
``--clock-origin`` pins it, the clock starts after step 1 (the emulator stamps what is
installed with the start time), so a slow install never eats the samples' first slot.

On SIGINT/SIGTERM/SIGHUP it stops the operator (SIGTERM, bounded wait, SIGKILL), then the job
runner, then the emulator, and returns 0. If the operator exits by itself, it says so, stops
the rest and returns non-zero. Non-goals: persistence, TLS client certificates, more than one
operator replica (run a second ``python -m app --kubeconfig ...`` by hand for that).
"""

from __future__ import annotations

import argparse
import errno
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from api.v1alpha1 import API_VERSION, KIND
from app.flags import OPERATOR_NAMESPACE
from app.operator import USER_AGENT
from app.sandbox_jobs import LocalJobExecutor
from app.sandbox_options import (
    OPERATOR_GROUPS,
    OPERATOR_USER,
    SandboxOptions,
    banner,
    load_manifests,
    operator_command,
    operator_flags,
    options_from_args,
    probe_url,
)
from app.sandbox_process import ChildProcess, Console, ShutdownSignals
from emulator import cli as emulator_cli
from emulator.errors import ApiStatusError
from emulator.jobrunner import RunnerOptions, SimulatedJobRunner
from emulator.schema_errors import SchemaError
from emulator.server import ApiServer
from manager.clock import Clock, RealClock, ScaledClock
from manager.errors import ApiError
from manager.kubeconfig import ConfigError, load_rest_config
from manager.logsetup import configure_logging
from manager.rest import RestClient

__all__ = ["Sandbox", "dispatch", "run_local", "run_sandbox"]

PROBE_TIMEOUT = 3.0  # seconds run-local gives a cluster's /version to answer
READY_TIMEOUT = 60.0  # real seconds to wait for the operator's /readyz before saying so
POLL_INTERVAL = 0.25  # real seconds between the sandbox's own checks
SHUTDOWN_MARGIN = 5.0  # seconds past --graceful-shutdown-timeout before SIGKILL
OPERATOR_TOKEN = "sandbox-dbbackup-operator-token"
OPERATOR_PREFIX = "operator | "
SANDBOX_PREFIX = "sandbox  | "
JOBS_PREFIX = "jobs     | "
SAMPLES_NAMESPACE = "default"


class Sandbox:
    """The emulator, the job runner and the operator; :meth:`start` then :meth:`stop`."""

    def __init__(
        self, options: SandboxOptions, console: Console, *, clock: Clock | None = None
    ) -> None:
        self.options = options
        # Until start() has installed the sandbox's objects, an unpinned clock stands still
        # at the virtual start (SandboxOptions.origin); this one is replaced then.
        self._clock_running = options.origin is not None
        self.clock: ScaledClock = options.started(time.time()).clock()
        self._real: Clock = clock or RealClock()
        self._console = console
        self.server: ApiServer | None = None
        self.runner: SimulatedJobRunner | None = None
        self.operator: ChildProcess | None = None
        self.samples: list[str] = []
        self._tmp: Path | None = None
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- start ----------------------------------------------------------------------------------

    def start(self) -> None:
        """Start everything; on failure, whatever started is stopped again before raising."""
        try:
            self._start_server()
            self._start_clock()
            self._start_runner()
            self._start_operator()
        except BaseException:
            self.stop()
            raise

    def _now(self) -> datetime:
        """The emulator's clock: the virtual start while the sandbox installs, then running."""
        return self.clock.now() if self._clock_running else self.options.virtual_start

    def _start_clock(self) -> None:
        """Start an unpinned clock now, with everything installed and nothing running yet.

        At ``--speed 60`` installing takes minutes of virtual time on a slow machine: a clock
        started before it would create the samples after their first slot (01:00), and a
        daily backup would not run until the next day.
        """
        if not self._clock_running:
            self.options = self.options.started(time.time())
            self.clock = self.options.clock()
            self._clock_running = True

    def _start_server(self) -> None:
        opts = self.options
        server = ApiServer(port=opts.port, rbac=True, clock=self._now)
        self.server = server.start()
        server.create_object(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": OPERATOR_NAMESPACE}}
        )
        for obj in load_manifests(opts.config / "crd"):
            server.create_object(obj)
        for obj in load_manifests(opts.config / "rbac", OPERATOR_NAMESPACE):
            server.create_object(obj)
        server.add_user(OPERATOR_TOKEN, OPERATOR_USER, OPERATOR_GROUPS)
        if opts.with_samples:
            for obj in load_manifests(opts.config / "samples", SAMPLES_NAMESPACE):
                server.create_object(obj)
                if obj.get("kind") == KIND:
                    self.samples.append(f"{SAMPLES_NAMESPACE}/{obj['metadata']['name']}")
        opts.kubeconfig.parent.mkdir(parents=True, exist_ok=True)
        server.write_kubeconfig(opts.kubeconfig)

    def _start_runner(self) -> None:
        assert self.server is not None
        opts = self.options
        server = self.server
        executor = None
        if opts.real_jobs is not None:
            opts.real_jobs.mkdir(parents=True, exist_ok=True)
            executor = LocalJobExecutor(
                lambda namespace, name: server.get_object("v1", "Secret", name, namespace),
                opts.real_jobs,
                lambda line: self._console.say(JOBS_PREFIX + line),
            )
        runner_options = RunnerOptions(
            start_delay=opts.start_delay,
            run_duration=opts.job_duration,
            failure_rate=opts.failure_rate,
            seed=opts.seed,
            speed=self.clock.speed,
            now=self.clock.now,
            decide=executor,
        )
        self.runner = SimulatedJobRunner(self.server.url, ApiServer.ADMIN_TOKEN, runner_options)
        self.runner.start()

    def _start_operator(self) -> None:
        assert self.server is not None
        self._tmp = Path(tempfile.mkdtemp(prefix="dbbackup-sandbox-"))
        kubeconfig = self.server.write_kubeconfig(self._tmp / "operator.kubeconfig", OPERATOR_TOKEN)
        env = {key: value for key, value in os.environ.items() if key != "KUBECONFIG"}
        env["PYTHONUNBUFFERED"] = "1"  # log lines as they happen, not per pipe buffer
        self.operator = ChildProcess(
            operator_command(self.options, kubeconfig),
            self._console,
            prefix=OPERATOR_PREFIX,
            env=env,
            clock=self._real,
        )
        self.operator.start()

    def start_watchers(self) -> None:
        """Threads that tell the user when the operator is ready and when backups change."""
        for name, target in (("ready", self._watch_ready), ("backups", self._watch_backups)):
            thread = threading.Thread(target=target, name=f"sandbox-{name}", daemon=True)
            self._threads.append(thread)
            thread.start()

    # -- watch ----------------------------------------------------------------------------------

    def _say(self, text: str) -> None:
        self._console.say(SANDBOX_PREFIX + text)

    def _virtual_now(self) -> str:
        return self.clock.now().astimezone(UTC).strftime("%H:%M:%S")

    def _watch_ready(self) -> None:
        url = probe_url(self.options.health_probe_bind_address, "/readyz")
        if url is None:
            return
        deadline = self._real.monotonic() + READY_TIMEOUT
        while self._real.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=1) as response:
                    if response.status == 200:
                        self._say(f"operator ready ({url} answers 200)")
                        return
            except (OSError, urllib.error.URLError):
                pass
            if self._real.sleep(POLL_INTERVAL, self._stopping):
                return
        self._say(f"operator not ready after {READY_TIMEOUT:g} s: see its logs above")

    def _watch_backups(self) -> None:
        """Print each DatabaseBackup's phase when it changes (virtual time first)."""
        seen: dict[str, tuple[str, str]] = {}
        while not self._real.sleep(POLL_INTERVAL, self._stopping):
            server = self.server
            if server is None:
                return
            try:
                backups = server.list_objects(API_VERSION, KIND)
            except (KeyError, ApiStatusError):
                continue
            for backup in backups:
                meta = backup.get("metadata") or {}
                key = f"{meta.get('namespace')}/{meta.get('name')}"
                state = _describe(backup.get("status") or {})
                if state[0] and seen.get(key) != state:
                    seen[key] = state
                    detail = f" ({state[1]})" if state[1] else ""
                    self._say(f"{self._virtual_now()} {key}: {state[0]}{detail}")

    # -- run and stop ---------------------------------------------------------------------------

    def wait(self, stop: threading.Event) -> int | None:
        """Block until ``stop`` is set (None) or the operator exits (its exit code)."""
        assert self.operator is not None
        while not self._real.sleep(POLL_INTERVAL, stop):
            code = self.operator.poll()
            if code is not None:
                return code
        return None

    def stop(self, hurry: threading.Event | None = None) -> int | None:
        """Stop the operator, the job runner, the emulator — in that order. Idempotent.

        Returns the operator's exit code (None if it never started).
        """
        self._stopping.set()
        code = None
        if self.operator is not None:
            timeout = self.options.graceful_shutdown_timeout + SHUTDOWN_MARGIN
            code = self.operator.stop(timeout, hurry)
        if self.runner is not None:
            self.runner.stop()
            self.runner = None
        if self.server is not None:
            self.server.stop()
            self.server = None
        for thread in self._threads:
            thread.join(timeout=5)
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
        return code


def _describe(status: dict[str, Any]) -> tuple[str, str]:
    """(phase, the Ready condition's message) of a DatabaseBackup status."""
    ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
    return str(status.get("phase") or ""), str((ready or {}).get("message") or "")


def _exit_status(code: int | None) -> str:
    if code is None:
        return "never started"
    if code < 0:
        return f"was ended by {signal.Signals(-code).name}"
    return f"exited with code {code}"


def run_sandbox(
    options: SandboxOptions, console: Console, signals: ShutdownSignals | None = None
) -> int:
    """Run the sandbox until a signal (0) or the operator's own exit (non-zero)."""
    own_signals = signals is None
    if signals is None:
        signals = ShutdownSignals(console)
        if threading.current_thread() is threading.main_thread():
            signals.install()
    sandbox = Sandbox(options, console)
    try:
        try:
            sandbox.start()
        except (OSError, ValueError, yaml.YAMLError, ApiStatusError, SchemaError) as err:
            hint = ""
            if isinstance(err, OSError) and err.errno == errno.EADDRINUSE:
                hint = f" (port {options.port}: choose another with --port, or --port 0)"
            console.say(f"{SANDBOX_PREFIX}could not start the sandbox: {err}{hint}")
            return 1
        assert sandbox.server is not None and sandbox.operator is not None
        console.say(
            banner(
                options,
                api_url=sandbox.server.url,
                secure_url=sandbox.server.secure_url,
                command=sandbox.operator.command,
                samples=sandbox.samples,
            )
        )
        sandbox.start_watchers()
        code = sandbox.wait(signals.stop)
        if code is None:
            console.say(f"{SANDBOX_PREFIX}stopping: operator, job runner, emulator")
            final = sandbox.stop(signals.hurry)
            console.say(f"{SANDBOX_PREFIX}stopped (the operator {_exit_status(final)})")
            return 0
        console.say(f"{SANDBOX_PREFIX}the operator {_exit_status(code)}: stopping the sandbox")
        sandbox.stop(signals.hurry)
        return 128 - code if code < 0 else code or 1  # a signal: the shell's 128 + N
    finally:
        sandbox.stop(signals.hurry)
        if own_signals:
            signals.restore()


def _cluster_answers(kubeconfig: str | None) -> tuple[str | None, str]:
    """(the API URL if a cluster answered ``/version``, a sentence saying what happened)."""
    try:
        # One attempt (the client never retries): the probe is bounded by PROBE_TIMEOUT.
        rest = RestClient(
            load_rest_config(kubeconfig),
            user_agent=USER_AGENT,
            connect_timeout=PROBE_TIMEOUT,
            read_timeout=PROBE_TIMEOUT,
        )
    except ConfigError as err:
        return None, str(err)
    try:
        rest.request("GET", "/version")
    except ApiError as err:
        if err.status == 0:  # nothing answered (refused, timed out, TLS failed)
            return None, f"no cluster answered at {rest.host}: {err}"
        # It answered, if not kindly: a cluster is there; the operator will report the rest.
    finally:
        rest.close()
    return rest.host, f"using cluster at {rest.host}"


def run_local(
    args: argparse.Namespace,
    console: Console,
    *,
    exec_: Any = os.execv,
) -> int:
    """The operator against a cluster that answers; the sandbox (with samples) otherwise."""
    url, message = _cluster_answers(args.kubeconfig)
    if url is not None:
        console.say(message)
        command = [sys.executable, "-m", "app", *operator_flags(args)]
        exec_(command[0], command)  # replaces this process: the operator in the foreground
        return 0  # only reached when ``exec_`` returns (tests)
    console.say(f"{message}\nstarting the sandbox instead (no cluster needed)")
    return run_sandbox(options_from_args(args, samples_default=True), console)


def _run_emulator(args: argparse.Namespace) -> int:
    argv = ["--port", str(args.port)]
    if args.write_kubeconfig:
        argv += ["--write-kubeconfig", str(args.write_kubeconfig)]
    if args.history_size is not None:
        argv += ["--history-size", str(args.history_size)]
    return emulator_cli.main(argv)


def dispatch(args: argparse.Namespace) -> int:
    """Run the ``emulator``, ``sandbox`` or ``run-local`` subcommand; returns the exit code."""
    if args.command == "emulator":
        return _run_emulator(args)
    console = Console(sys.stdout)
    # The sandbox's own components (emulator, job runner) log warnings and errors only.
    configure_logging("warning", args.log_format)
    try:
        if args.command == "sandbox":
            if args.kubeconfig:
                console.say(
                    "the sandbox writes its own kubeconfig (--write-kubeconfig); "
                    "--kubeconfig is for run-local and the operator"
                )
                return 2
            return run_sandbox(options_from_args(args, samples_default=False), console)
        if args.command == "run-local":
            return run_local(args, console)
    except ValueError as err:
        console.say(f"dbbackup-operator {args.command}: {err}")
        return 2
    raise ValueError(f"not a sandbox subcommand: {args.command!r}")
