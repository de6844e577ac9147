"""Run the operator: the composition root that wires ``api``, ``controller`` and ``manager``.

Builds the Manager from the parsed flags, registers the ``DatabaseBackup`` and
``DatabaseRestore`` types, and adds two controllers (each watching its kind and the Jobs it
owns) that share one cache and one Lease. The only place that
configures logging, installs signal handlers and chooses the clock.
"""

from __future__ import annotations

import argparse
import logging

from controller.databasebackup import DatabaseBackupReconciler
from controller.databaserestore import DatabaseRestoreReconciler, RestoreGuard
from controller.failpoints import FailPoints
from controller.jobs import cache_job
from controller.metrics import BackupMetrics
from controller.resources import BACKUPS, JOBS, RESTORES
from controller.schedule import ScheduleMemo
from manager.clock import Clock, RealClock, ScaledClock
from manager.kubeconfig import ConfigError
from manager.leaderelection import TIMINGS as LEASE_TIMINGS
from manager.logsetup import configure_logging
from manager.manager import EXIT_FAILURE, Manager, ManagerOptions
from manager.predicate import (
    AnnotationChangedPredicate,
    GenerationChangedPredicate,
    LabelChangedPredicate,
    or_,
)
from manager.signals import setup_signal_handler

__all__ = ["CONTROLLER_NAME", "RESTORE_CONTROLLER_NAME", "build_manager", "make_clock", "run"]

CONTROLLER_NAME = "databasebackup"
RESTORE_CONTROLLER_NAME = "databaserestore"
USER_AGENT = "dbbackup-operator"
EVENT_COMPONENT = "dbbackup-operator"
# Events held during a herd (the recorder sends them once the Job POSTs are done): room for
# a 10,000-backup herd's SuccessfulCreate Events, about 0.6 KiB each while queued.
EVENT_QUEUE_SIZE = 10_000

# The Manager options a flag sets under the option's own name (argparse's dest); the lease
# timing flags (``LEASE_TIMINGS``) are optional (unset: the Manager's defaults), and
# ``--leader-elect`` keeps controller-runtime's flag name for ``leader_election``.
OPTION_FLAGS = (
    "kubeconfig",
    "namespace",
    "metrics_bind_address",
    "metrics_secure",
    "metrics_cert_dir",
    "health_probe_bind_address",
    "leader_election_namespace",
    "leader_election_id",
    "graceful_shutdown_timeout",
    "max_concurrent_reconciles",
)

# Which updates of a DatabaseBackup or DatabaseRestore are worth a reconcile: a change of its
# spec (generation; deletion bumps it too), labels or annotations. Its status is the
# reconciler's own output, so the update that the status write itself causes is not (that
# was two of every five reconciles in a herd: docs/design.md §3, "Reconciler").
SPEC_OR_METADATA = or_(
    GenerationChangedPredicate(), LabelChangedPredicate(), AnnotationChangedPredicate()
)

log = logging.getLogger(__name__)


def make_clock(args: argparse.Namespace) -> Clock:
    """The real clock, or the sandbox's virtual one when any ``--clock-*`` flag is given."""
    if args.clock_speed is None and args.clock_start is None and args.clock_origin is None:
        return RealClock()
    return ScaledClock(
        speed=args.clock_speed or 1.0, start=args.clock_start, origin=args.clock_origin
    )


def build_manager(args: argparse.Namespace, clock: Clock) -> Manager:
    """The Manager with the DatabaseBackup controller added (not started)."""
    timings = {
        key: value for key in LEASE_TIMINGS if (value := getattr(args, key, None)) is not None
    }
    options = ManagerOptions(
        **timings,
        **{key: getattr(args, key) for key in OPTION_FLAGS},
        leader_election=args.leader_elect,
        clock=clock,
        user_agent=USER_AGENT,
        cache_transforms={JOBS: cache_job},
        max_concurrent_handoffs=args.max_concurrent_writes,
    )
    mgr = Manager(options)
    mgr.scheme.register(BACKUPS)
    mgr.scheme.register(RESTORES)
    recorder = mgr.get_event_recorder(EVENT_COMPONENT, queue_size=EVENT_QUEUE_SIZE)
    failpoints = FailPoints()
    reconciler = DatabaseBackupReconciler(
        backups=BACKUPS,
        client=mgr.client,
        recorder=recorder,
        clock=clock,
        metrics=BackupMetrics(mgr.registry),
        schedules=ScheduleMemo(),
        failpoint=failpoints.hit,
        # A herd's Job creations first, statuses after (docstring of databasebackup, step 7).
        defer_status_after_create=True,
        # ...each write sent from one of the controller's hand-off threads
        # (--max-concurrent-writes).
        hand_off_writes=True,
        restore_guard=RestoreGuard(mgr.client, RESTORES),
    )
    mgr.new_controller(
        CONTROLLER_NAME, reconciler, BACKUPS, owns=(JOBS,), for_predicates=(SPEC_OR_METADATA,)
    )
    # The second controller: same Manager, same cache (one Job informer serves both), its
    # own queue and workers, under the same Lease.
    restores = DatabaseRestoreReconciler(
        restores=RESTORES,
        backups=BACKUPS,
        client=mgr.client,
        recorder=recorder,
        clock=clock,
        failpoint=failpoints.hit,
    )
    mgr.new_controller(
        RESTORE_CONTROLLER_NAME,
        restores,
        RESTORES,
        owns=(JOBS,),
        for_predicates=(SPEC_OR_METADATA,),
        max_concurrent_handoffs=0,  # a restore is one Job: nothing to hand off
    )
    return mgr


def run(args: argparse.Namespace) -> int:
    """Run until SIGTERM/SIGINT; the exit code is the Manager's (0 after a clean drain)."""
    configure_logging(args.log_level, args.log_format)
    clock = make_clock(args)
    try:
        mgr = build_manager(args, clock)
    except ConfigError as exc:
        log.error("cannot start: %s", exc)
        return EXIT_FAILURE
    stop = setup_signal_handler()
    log.info(
        "starting dbbackup-operator",
        extra={
            "namespace": args.namespace or "(all)",
            "leaderElection": args.leader_elect,
            "apiServer": mgr.rest.host,
        },
    )
    return mgr.start(stop)
