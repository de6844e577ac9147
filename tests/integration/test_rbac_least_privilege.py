"""Least privilege, proven: the operator runs with exactly the rendered ``config/rbac``.

The emulator runs in RBAC mode with only the objects ``kubectl kustomize config/rbac``
renders, and the real command runs as ``system:serviceaccount:dbbackup-system:dbbackup-operator``
through a scenario that exercises every code path that talks to the API (scheduling, Forbid's
live read, pruning, a status conflict, event aggregation, leader election, a restore, a secure
metrics scrape reviewed with TokenReview and SubjectAccessReview). Then, from the audit log: no
request was refused, none touched Secrets, and every rule of the ClusterRole and Role was used —
except ``databasebackups/finalizers`` and ``databaserestores/finalizers`` ``update``, which the
OwnerReferencesPermissionEnforcement admission plugin checks when a Job with
``blockOwnerDeletion`` is created, never as a request of its own (docs/design.md §6).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml

from emulator.jobrunner import RunnerOptions, SimulatedJobRunner
from emulator.server import ApiServer
from manager.clock import ScaledClock
from tests.support.operator import (
    OPERATOR_USER,
    ROOT,
    OperatorProcess,
    apply_sample,
    setup_cluster,
    wait_for,
)

SPEED = 60.0
START = datetime(2025, 3, 27, 0, 59, 0, tzinfo=UTC)
ADMISSION_ONLY = {
    ("dbbackup.io", "databasebackups/finalizers", "update"),
    ("dbbackup.io", "databaserestores/finalizers", "update"),
}
# Lease timings in virtual seconds: at x60, client-go's 15/10/2 s would be a 0.17 s real renew
# deadline, which a loaded machine misses (the operator then exits, as it must); these are
# 10 s / 6.7 s / 1 s of real time and still renew many times during the scenario.
LEASE_TIMINGS = ("--lease-duration", "600", "--renew-deadline", "400", "--retry-period", "60")
SCRAPER_TOKEN = "prometheus-token"
SCRAPER_USER = "system:serviceaccount:monitoring:prometheus"


def rendered_rbac() -> list[dict[str, Any]]:
    out = subprocess.run(
        ["kubectl", "kustomize", str(ROOT / "config/rbac")],
        check=True, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


def granted(objects: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    rules = set()
    for obj in objects:
        if (
            obj["kind"] not in ("ClusterRole", "Role")
            or "dbbackup-operator" not in obj["metadata"]["name"]
        ):
            continue
        for rule in obj.get("rules") or ():
            for group in rule.get("apiGroups", ()):
                for resource in rule.get("resources", ()):
                    for verb in rule.get("verbs", ()):
                        rules.add((group, resource, verb))
    return rules


@pytest.fixture
def rbac_world() -> Iterator[tuple[ApiServer, ScaledClock]]:
    origin = time.time()
    clock = ScaledClock(speed=SPEED, start=START, origin=origin)
    server = ApiServer(rbac=True, clock=clock.now).start()
    try:
        yield server, clock
    finally:
        server.stop()


@pytest.mark.timeout(120)
def test_the_operator_needs_exactly_the_rbac_it_ships(
    rbac_world: tuple[ApiServer, ScaledClock],
) -> None:
    server, clock = rbac_world
    kubeconfig = setup_cluster(server)
    objects = rendered_rbac()
    for obj in objects:
        server.create_object(obj)
    server.add_user(SCRAPER_TOKEN, SCRAPER_USER)
    server.create_object({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "prometheus-dbbackup-metrics"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": "dbbackup-operator-metrics-reader"},
        "subjects": [{"kind": "ServiceAccount", "name": "prometheus", "namespace": "monitoring"}],
    })  # fmt: skip
    # Every minute, runs of 70 s: the next slot finds the last run active (Forbid's live
    # read, a repeated JobAlreadyActive aggregated by PATCH); limit 1 prunes old Jobs.
    apply_sample(
        server,
        "dbbackup_v1alpha1_postgres_daily_backup.yaml",
        schedule="* * * * *",
        successfulJobsHistoryLimit=1,
    )
    # A restore of it: the restore controller lists and watches restores, writes their
    # status and creates their Jobs under the same ClusterRole.
    server.create_object({
        "apiVersion": "dbbackup.io/v1alpha1", "kind": "DatabaseRestore",
        "metadata": {"name": "to-staging", "namespace": "default"},
        "spec": {"backupRef": {"name": "postgres-daily-backup"}},
    })  # fmt: skip
    runner = SimulatedJobRunner(
        server.url,
        server.ADMIN_TOKEN,
        RunnerOptions(start_delay=1, run_duration=70, speed=SPEED, now=clock.now),
    )
    runner.start()
    # The first status write is refused once with a conflict: the operator re-reads live.
    server.faults.fail(409, times=1, verb="update", resource="databasebackups",
                       user=OPERATOR_USER)  # fmt: skip
    operator = OperatorProcess(
        kubeconfig,
        clock_start=START,
        clock_origin=clock.origin,
        clock_speed=SPEED,
        extra_args=(
            "--leader-elect",
            "--leader-election-namespace",
            "dbbackup-system",
            *LEASE_TIMINGS,
        ),
        metrics_secure=True,
    )
    try:
        operator.wait_ready()
        operator.metrics(SCRAPER_TOKEN)  # reviews the scraper's token and access

        def used() -> set[tuple[str, str, str]]:
            return {
                (r.group, f"{r.resource}/{r.subresource}" if r.subresource else r.resource,
                 r.verb)
                for r in server.audit.records
                if r.user == OPERATOR_USER and r.resource
            }  # fmt: skip

        wanted = granted(objects) - ADMISSION_ONLY - {("coordination.k8s.io", "leases", "update")}
        missing: list[set[tuple[str, str, str]]] = [wanted]

        nudged_at = [0.0]

        def nudge_a_repeat() -> None:
            # A repeat of JobAlreadyActive (a PATCH of the Event's series) needs a second pass
            # over a slot the active run holds. The operator does not re-reconcile after its
            # own status writes, so a user's label change (at most one a second) brings it.
            events = server.list_objects("events.k8s.io/v1", "Event", "default")
            if not any(e.get("reason") == "JobAlreadyActive" for e in events):
                return
            if time.monotonic() - nudged_at[0] < 1.0:
                return
            nudged_at[0] = time.monotonic()
            backup = server.get_object(
                "dbbackup.io/v1alpha1", "DatabaseBackup", "postgres-daily-backup", "default"
            )
            assert backup is not None
            backup["metadata"].setdefault("labels", {})["nudged-at"] = str(int(nudged_at[0]))
            server.update_object(backup)

        def all_used() -> bool:
            missing[0] = wanted - used()
            if ("events.k8s.io", "events", "patch") in missing[0]:
                nudge_a_repeat()
            return not missing[0]

        try:
            wait_for(all_used, 60, "the operator to use every granted rule", interval=0.2)
        except AssertionError as err:
            raise AssertionError(
                f"never used: {sorted(missing[0])}\n{operator.logs()[-3000:]}"
            ) from err
        assert operator.stop() == 0  # releases the Lease: an update
    finally:
        operator.kill()
        runner.stop()

    records = [r for r in server.audit.records if r.user == OPERATOR_USER]
    refused = [(r.verb, r.resource, r.namespace, r.name) for r in records if r.code == 403]
    assert refused == []
    assert [r for r in records if r.resource == "secrets"] == []
    assert granted(objects) - ADMISSION_ONLY == used_rules(records)


def used_rules(records: list[Any]) -> set[tuple[str, str, str]]:
    return {
        (r.group, f"{r.resource}/{r.subresource}" if r.subresource else r.resource, r.verb)
        for r in records
        if r.resource
    }


def test_the_admission_only_rule_is_really_in_the_role() -> None:
    """The one rule the audit log cannot show must still be granted (blockOwnerDeletion)."""
    assert granted(rendered_rbac()) >= ADMISSION_ONLY
