"""What the sandbox runs, decided before anything starts: options, the shared clock, manifests.

Role: the pure half of ``dbbackup-operator sandbox`` / ``run-local``. It turns parsed flags
into :class:`SandboxOptions` (every default a named constant), builds the one virtual clock
that the emulator, the simulated job runner and the operator subprocess share — a
:class:`~manager.clock.ScaledClock` with the same ``(start, origin, speed)`` in all three, the
operator receiving them as ``--clock-start/--clock-origin/--clock-speed`` — rebuilds the
operator's own command line from the same flags, reads the manifests under ``config/``
(directly, as ``kubectl apply -k`` would render them, so ``kubectl`` is not needed at run
time) and words the banner that says what runs where.

Guarantees: no I/O except reading manifest files; no import of ``emulator`` (``app/sandbox.py``
starts it), so the command's parser never needs the emulator. Non-goals: a kustomize
implementation — only ``resources`` (files and directories, in order) and ``namespace`` are
honoured, which is all ``config/`` uses.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from datetime import time as dt_time
from pathlib import Path
from typing import Any

import yaml

from app.flags import OPERATOR_NAMESPACE, add_operator_flags
from manager.clock import ScaledClock
from manager.defaults import (
    DEFAULT_GRACEFUL_SHUTDOWN_TIMEOUT,
    DEFAULT_HEALTH_PROBE_BIND_ADDRESS,
    DEFAULT_METRICS_BIND_ADDRESS,
)

__all__ = [
    "DEFAULT_FAILURE_RATE",
    "DEFAULT_JOB_DURATION",
    "DEFAULT_KUBECONFIG",
    "DEFAULT_PORT",
    "DEFAULT_SPEED",
    "DEFAULT_START_DELAY",
    "DEFAULT_VIRTUAL_START",
    "OPERATOR_GROUPS",
    "OPERATOR_USER",
    "SANDBOX_HEALTH_PROBE_BIND_ADDRESS",
    "SANDBOX_METRICS_BIND_ADDRESS",
    "SandboxOptions",
    "banner",
    "config_dir",
    "default_virtual_start",
    "load_manifests",
    "operator_command",
    "operator_flags",
    "options_from_args",
    "probe_url",
]

DEFAULT_PORT = 18080  # the emulator's plain-HTTP port: fixed so the printed URL is stable
DEFAULT_KUBECONFIG = "sandbox.kubeconfig"  # in the working directory, printed at start
LOOPBACK = "127.0.0.1"
# The operator's usual ports (the runtime's defaults), on loopback only.
SANDBOX_METRICS_BIND_ADDRESS = LOOPBACK + DEFAULT_METRICS_BIND_ADDRESS
SANDBOX_HEALTH_PROBE_BIND_ADDRESS = LOOPBACK + DEFAULT_HEALTH_PROBE_BIND_ADDRESS
DEFAULT_SPEED = 1.0  # real time: the sample's daily run still fires within a minute (below)
# Virtual time at start: 30 s before the sample's "0 1 * * *", so at speed 1 the first
# backup starts half a minute after `make run`, and an every-minute schedule fires with it.
DEFAULT_VIRTUAL_START = dt_time(0, 59, 30, tzinfo=UTC)
DEFAULT_JOB_DURATION = 20.0  # virtual seconds a backup Job runs: long enough to see Running
DEFAULT_START_DELAY = 1.0  # virtual seconds from Job creation to its pod running
DEFAULT_FAILURE_RATE = 0.2  # one backup in five fails, so failures show up too
DEFAULT_SEED = 0  # the runner's RNG seed: the same outcomes on every run

OPERATOR_SERVICE_ACCOUNT = "dbbackup-operator"  # docs/design.md §1
OPERATOR_USER = f"system:serviceaccount:{OPERATOR_NAMESPACE}:{OPERATOR_SERVICE_ACCOUNT}"
# The groups the API server's token authenticator gives a ServiceAccount.
OPERATOR_GROUPS = (
    "system:serviceaccounts",
    f"system:serviceaccounts:{OPERATOR_NAMESPACE}",
    "system:authenticated",
)

# Operator flags the sandbox sets itself (the others pass through unchanged).
_SANDBOX_OWNED = frozenset({"kubeconfig", "clock_speed", "clock_start", "clock_origin"})
# Kinds that live outside namespaces among those config/ holds (kustomize's list is longer).
_CLUSTER_SCOPED = frozenset(
    {"Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding"}
)


@dataclass(frozen=True, kw_only=True)
class SandboxOptions:
    """Everything the sandbox needs; built by :func:`options_from_args`."""

    port: int = DEFAULT_PORT
    kubeconfig: Path = Path(DEFAULT_KUBECONFIG)
    with_samples: bool = False
    speed: float = DEFAULT_SPEED
    virtual_start: datetime
    # Real Unix time at which the virtual clock reads ``virtual_start``. None (unless pinned
    # with --clock-origin): the clock starts when the sandbox launches the job runner and the
    # operator, so however slow the machine, the objects it installs are created at
    # ``virtual_start``, before the samples' first slot (see :meth:`started`).
    origin: float | None = None
    job_duration: float = DEFAULT_JOB_DURATION
    start_delay: float = DEFAULT_START_DELAY
    failure_rate: float = DEFAULT_FAILURE_RATE
    seed: int = DEFAULT_SEED
    real_jobs: Path | None = None  # run dbbackup-runner for each Job, pvc storage here
    metrics_bind_address: str = SANDBOX_METRICS_BIND_ADDRESS
    health_probe_bind_address: str = SANDBOX_HEALTH_PROBE_BIND_ADDRESS
    graceful_shutdown_timeout: float = DEFAULT_GRACEFUL_SHUTDOWN_TIMEOUT
    operator_flags: tuple[str, ...] = ()  # passed to the operator as given
    config: Path = field(default_factory=lambda: config_dir())

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError(f"--port must be 0..65535, got {self.port}")
        if not 0.0 <= self.failure_rate <= 1.0:
            raise ValueError(f"--failure-rate must be between 0 and 1, got {self.failure_rate}")
        if self.speed <= 0 or self.job_duration <= 0 or self.start_delay < 0:
            raise ValueError("--speed and --job-duration must be positive")
        if self.virtual_start.tzinfo is None:
            raise ValueError("the virtual start time needs a time zone")

    def started(self, at: float) -> SandboxOptions:
        """These options with the clock started at real time ``at``, unless already pinned."""
        return self if self.origin is not None else replace(self, origin=at)

    def _started_origin(self) -> float:
        if self.origin is None:
            raise ValueError("the sandbox's clock has not started (see SandboxOptions.started)")
        return self.origin

    def clock(self) -> ScaledClock:
        """The sandbox's clock; every process built from these options reads the same time."""
        origin = self._started_origin()
        return ScaledClock(speed=self.speed, start=self.virtual_start, origin=origin)

    def clock_flags(self) -> list[str]:
        """The operator flags that rebuild :meth:`clock` in another process."""
        origin = self._started_origin()
        start = self.virtual_start.astimezone(UTC).isoformat().replace("+00:00", "Z")
        return [
            "--clock-speed",
            repr(self.speed),
            "--clock-start",
            start,
            "--clock-origin",
            repr(origin),
        ]


def config_dir() -> Path:
    """``config/`` of the source tree (the sandbox is a developer tool run from a checkout)."""
    return Path(__file__).resolve().parent.parent / "config"


def default_virtual_start(origin: float) -> datetime:
    """:data:`DEFAULT_VIRTUAL_START` on the (UTC) day of the real time ``origin``."""
    day = datetime.fromtimestamp(origin, UTC).date()
    return datetime.combine(day, DEFAULT_VIRTUAL_START)


def operator_flags(args: argparse.Namespace, *, exclude: Iterable[str] = ()) -> list[str]:
    """The operator flags of ``args`` as a command line, minus the ``exclude`` destinations.

    Generic over :func:`app.flags.add_operator_flags`, so a flag added there passes
    through the sandbox and ``run-local`` without a change here.
    """
    skip = set(exclude)
    probe = argparse.ArgumentParser(add_help=False)
    add_operator_flags(probe)
    flags: list[str] = []
    for action in probe._actions:
        if not action.option_strings or action.dest in skip or not hasattr(args, action.dest):
            continue
        value = getattr(args, action.dest)
        option = action.option_strings[0]
        if isinstance(action, argparse._StoreTrueAction):
            if value:
                flags.append(option)
        elif value is not None:
            text = value.isoformat() if isinstance(value, datetime) else str(value)
            flags += [option, text]
    return flags


def options_from_args(
    args: argparse.Namespace,
    *,
    samples_default: bool,
    now: Callable[[], float] = time.time,
) -> SandboxOptions:
    """Sandbox options from ``sandbox``/``run-local`` flags (raises ValueError on bad values).

    ``--speed`` is the sandbox's name for ``--clock-speed`` (either works; both must agree);
    ``--clock-start``/``--clock-origin`` pin the virtual clock, e.g. for tests. ``now`` only
    picks the default virtual start's day: without ``--clock-origin`` the sandbox starts its
    clock itself, once its objects are installed.
    """
    if args.speed is not None and args.clock_speed is not None and args.speed != args.clock_speed:
        raise ValueError("--speed and --clock-speed disagree; give one of them")
    speed = args.speed or args.clock_speed or DEFAULT_SPEED
    origin = args.clock_origin if args.clock_origin is not None else now()
    start = args.clock_start or default_virtual_start(origin)
    with_samples = samples_default if args.with_samples is None else args.with_samples
    return SandboxOptions(
        port=DEFAULT_PORT if args.port is None else args.port,
        kubeconfig=Path(args.write_kubeconfig or DEFAULT_KUBECONFIG),
        with_samples=with_samples,
        speed=speed,
        virtual_start=start,
        origin=args.clock_origin,  # None: the sandbox starts its clock (SandboxOptions.origin)
        job_duration=DEFAULT_JOB_DURATION if args.job_duration is None else args.job_duration,
        failure_rate=DEFAULT_FAILURE_RATE if args.failure_rate is None else args.failure_rate,
        real_jobs=Path(args.real_jobs) if getattr(args, "real_jobs", None) else None,
        metrics_bind_address=args.metrics_bind_address,
        health_probe_bind_address=args.health_probe_bind_address,
        graceful_shutdown_timeout=args.graceful_shutdown_timeout,
        operator_flags=tuple(operator_flags(args, exclude=_SANDBOX_OWNED)),
    )


def operator_command(options: SandboxOptions, kubeconfig: Path) -> list[str]:
    """The operator as a subprocess: the real command, pointed at the sandbox's API."""
    return [
        sys.executable,
        "-m",
        "app",
        *options.operator_flags,
        "--kubeconfig",
        str(kubeconfig),
        *options.clock_flags(),
    ]


def probe_url(bind_address: str, path: str) -> str | None:
    """A URL reaching ``path`` on a server bound to ``bind_address`` (None when disabled)."""
    if bind_address in ("", "0"):
        return None
    host, _, port = bind_address.rpartition(":")
    if host in ("", "0.0.0.0", "[::]", "::"):
        host = "127.0.0.1"
    return f"http://{host}:{port}{path}"


def _read_documents(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [doc for doc in yaml.safe_load_all(handle) if isinstance(doc, dict)]


def _with_namespace(obj: dict[str, Any], namespace: str | None) -> dict[str, Any]:
    if namespace is None or obj.get("kind") in _CLUSTER_SCOPED:
        return obj
    metadata = dict(obj.get("metadata") or {})
    metadata["namespace"] = namespace
    return {**obj, "metadata": metadata}


def load_manifests(path: Path, namespace: str | None = None) -> list[dict[str, Any]]:
    """The objects under ``path`` (a file or a directory), in the order they apply.

    A directory with a ``kustomization.yaml`` yields its ``resources`` in order (its
    ``namespace``, if any, overriding ``namespace``); one without yields every ``*.yaml`` file
    in name order. ``namespace`` is set on namespaced objects, as kustomize's does.
    """
    if path.is_file():
        return [_with_namespace(obj, namespace) for obj in _read_documents(path)]
    kustomization = path / "kustomization.yaml"
    if not kustomization.exists():
        objs: list[dict[str, Any]] = []
        for file in sorted(path.glob("*.yaml")):
            objs += load_manifests(file, namespace)
        return objs
    spec = yaml.safe_load(kustomization.read_text(encoding="utf-8")) or {}
    unsupported = sorted(set(spec) & {"secretGenerator", "configMapGenerator", "patches"})
    if unsupported:
        raise ValueError(f"{kustomization}: the sandbox cannot render {', '.join(unsupported)}")
    namespace = spec.get("namespace") or namespace
    objs = []
    for entry in spec.get("resources") or []:
        objs += load_manifests(path / str(entry), namespace)
    return objs


def _address_line(label: str, url: str | None) -> str:
    return f"  {label:<9} {url if url else 'disabled'}"


def banner(
    options: SandboxOptions,
    *,
    api_url: str,
    secure_url: str,
    command: list[str],
    samples: list[str],
) -> str:
    """What runs where, in plain words (printed once everything has started)."""
    kubeconfig = options.kubeconfig
    start = options.virtual_start.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    speed = "real time" if options.speed == 1 else f"{options.speed:g}x real time"
    lines = [
        "dbbackup-operator sandbox: no cluster needed, everything runs on this machine.",
        f"  API       {secure_url} (kubectl, via the kubeconfig) and {api_url} (plain HTTP)",
        f"  kubeconfig {kubeconfig}  (the operator runs as {OPERATOR_USER})",
        "  watch     KUBECONFIG=" + str(kubeconfig) + " kubectl get dbbackup -w",
        "            KUBECONFIG=" + str(kubeconfig) + " kubectl get jobs -w",
        _address_line("metrics", probe_url(options.metrics_bind_address, "/metrics")),
        _address_line("healthz", probe_url(options.health_probe_bind_address, "/healthz")),
        _address_line("readyz", probe_url(options.health_probe_bind_address, "/readyz")),
        f"  clock     virtual time started at {start}, running at {speed}",
        (
            f"  jobs      real: dbbackup-runner on this machine, pvc storage in {options.real_jobs}"
            if options.real_jobs
            else f"  jobs      simulated: start after {options.start_delay:g} s, run "
            f"{options.job_duration:g} s (virtual), {options.failure_rate:.0%} fail"
        ),
        "  samples   " + (", ".join(samples) if samples else "none (add --with-samples)"),
        "  operator  python " + " ".join(command[1:]),
        "Operator logs follow, prefixed 'operator |'. Press Ctrl-C to stop everything.",
    ]
    return "\n".join(lines) + "\n"
