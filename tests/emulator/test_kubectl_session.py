"""A user's everyday kubectl session, run by the real ``kubectl`` (issue 15 item 6).

Each test is a step a user takes after installing the CRDs: create a namespace, a Secret and a
Job imperatively, apply the samples, read them back (printer columns, ``-o wide``, describe with
Events, ``get events``, ``explain``), wait for a phase, label, annotate, patch, edit, delete, and
watch a phase change. Each asserts what kubectl prints, as it printed it against
kube-apiserver v1.32 (``make conformance KUBECONFIG=...`` runs this module there too), with ages,
uids and resourceVersions replaced (:mod:`tests.emulator.kubectl_support`).

Nothing runs Jobs or the operator on either server here: the Events and status changes a
running operator would make are written by the test, through kubectl, the way the operator
writes them (core ``v1`` and ``events.k8s.io/v1`` Events about the backup; ``--subresource
status`` patches).

The module shares one server: one emulator, or the real server of
``DBBACKUP_CONFORMANCE_KUBECONFIG``. Tests that only read use the samples in ``kubectl-session``;
tests that change objects make their own in ``kubectl-session-changes``, so no test depends on
another having run.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from emulator.server import ApiServer
from tests.emulator.kubectl_support import (
    COMMAND_TIMEOUT,
    Kubectl,
    LineReader,
    describe,
    editor,
    namespace,
    remove_namespace,
    table,
)
from tests.emulator.support import wait_for
from tests.emulator.target import REAL_KUBECONFIG

ROOT = Path(__file__).resolve().parents[2]
SESSION = "kubectl-session"  # the samples, read by the tests
CHANGES = "kubectl-session-changes"  # objects each test makes to change
SAMPLE = "postgres-daily-backup"
BACKUP = (ROOT / "config/samples/dbbackup_v1alpha1_postgres_daily_backup.yaml").read_text()
RUN = "postgres-daily-backup-20261206010000"  # the Job of a scheduled run (docs/design.md §1)
CREATED = f"Created job {RUN}"  # the messages of the run's Events
SUCCEEDED = f"Backup {RUN} succeeded"
DESCRIBED_BACKUP = f"""\
Name:         {SAMPLE}
Namespace:    {SESSION}
Labels:       <none>
Annotations:  <none>
API Version:  dbbackup.io/v1alpha1
Kind:         DatabaseBackup
Metadata:
  Creation Timestamp:  <timestamp>
  Generation:          1
  Resource Version:    <resourceVersion>
  UID:                 <uid>
Spec:
  Backoff Limit:       2
  Concurrency Policy:  Forbid
  Database:
    Credentials Secret Ref:
      Name:                   postgres-credentials
      Password Key:           password
      Username Key:           username
    Host:                     postgres.default.svc.cluster.local
    Name:                     app
    Port:                     5432
    Type:                     postgresql
  Failed Jobs History Limit:  1
  Image:                      ghcr.io/example/postgres-backup:latest
  Retention:                  336h
  Schedule:                   0 1 * * *
  Storage:
    s3:
      Bucket:  my-database-backups
      Credentials Secret Ref:
        Access Key Id Key:        AWS_ACCESS_KEY_ID
        Name:                     s3-credentials
        Secret Access Key Key:    AWS_SECRET_ACCESS_KEY
      Prefix:                     postgres/daily
  Successful Jobs History Limit:  3
  Suspend:                        false
  Time Zone:                      UTC
Events:
  Type    Reason            Age    From                  Message
  ----    ------            ----   ----                  -------
  Normal  BackupSucceeded   <age>  dbbackup.io/operator  Backup {RUN} succeeded
  Normal  SuccessfulCreate  <age>  dbbackup-operator     Created job {RUN}
"""
EXPLAINED_SCHEDULE = """\
GROUP:      dbbackup.io
KIND:       DatabaseBackup
VERSION:    v1alpha1

FIELD: schedule <string>


DESCRIPTION:
    Cron schedule: five fields (minute hour day-of-month month day-of-week), or
    @hourly, @daily, @midnight, @weekly, @monthly, @yearly, @annually. 'H' in a
    field picks a stable value derived from the backup's namespace/name,
    spreading load (e.g. 'H 1 * * *'). The time zone is spec.timeZone, not a
    CRON_TZ= prefix.
    \n
"""


@pytest.fixture(scope="module")
def kubectl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kubectl]:
    """kubectl bound to the server under test, the CRDs installed and both namespaces made."""
    home = tmp_path_factory.mktemp("kubectl-home")
    with ExitStack() as stack:
        if REAL_KUBECONFIG:
            config = Path(REAL_KUBECONFIG)
        else:
            config = stack.enter_context(ApiServer()).write_kubeconfig(home / "kubeconfig")
        session = Kubectl(config, home, SESSION)
        crds = session.ok("apply", "-k", str(ROOT / "config/crd"), namespaced=False)
        names = [line.split()[0] for line in crds.splitlines()]
        session.ok("wait", "--for=condition=Established", *names, namespaced=False)
        for name in (SESSION, CHANGES):
            if REAL_KUBECONFIG:  # what a run stopped halfway left behind
                remove_namespace(session, name)
            session.ok("create", "-f", "-", stdin=namespace(name), namespaced=False)
        try:
            yield session
        finally:
            if REAL_KUBECONFIG:
                for name in (SESSION, CHANGES):
                    remove_namespace(session, name)
                for line in crds.splitlines():  # only the CRDs this module installed
                    if line.endswith(" created"):
                        session.ok("delete", line.split()[0], namespaced=False)


@pytest.fixture(scope="module")
def applied(kubectl: Kubectl) -> str:
    """What ``kubectl apply -k config/samples`` printed."""
    return kubectl.ok("apply", "-k", str(ROOT / "config/samples"))


@pytest.fixture(scope="module")
def events(kubectl: Kubectl, applied: str) -> None:
    """Two Events about the sample backup, as the operator records a run: one through core
    ``v1`` (``source.component``, ``firstTimestamp``), one through ``events.k8s.io/v1``
    (``reportingController``, ``eventTime``); on a real server both are one resource."""
    uid = kubectl.ok("get", "dbbackup", SAMPLE, "-o", "jsonpath={.metadata.uid}")
    regarding = {"apiVersion": "dbbackup.io/v1alpha1", "kind": "DatabaseBackup",
                 "name": SAMPLE, "namespace": SESSION, "uid": uid}  # fmt: skip
    created = (datetime.now(UTC) - timedelta(seconds=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
    succeeded = (datetime.now(UTC) - timedelta(seconds=10)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    core = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{SAMPLE}.created"},
        "involvedObject": regarding,
        "reason": "SuccessfulCreate",
        "message": CREATED,
        "type": "Normal",
        "source": {"component": "dbbackup-operator"},
        "firstTimestamp": created,
        "lastTimestamp": created,
        "count": 1,
    }
    new = {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {"name": f"{SAMPLE}.succeeded"},
        "eventTime": succeeded,
        "reportingController": "dbbackup.io/operator",
        "reportingInstance": "dbbackup-operator-0",
        "action": "Backup",
        "reason": "BackupSucceeded",
        "note": SUCCEEDED,
        "type": "Normal",
        "regarding": regarding,
    }
    out = kubectl.ok("create", "-f", "-", stdin=json.dumps(core) + "\n" + json.dumps(new))
    assert out == (
        f"event/{SAMPLE}.created created\nevent.events.k8s.io/{SAMPLE}.succeeded created\n"
    )


def backup(kubectl: Kubectl, name: str) -> Kubectl:
    """A copy of the sample named ``name`` in the namespace for changes; kubectl there."""
    changes = kubectl.within(CHANGES)
    doc = BACKUP.replace(f"name: {SAMPLE}", f"name: {name}")
    assert changes.ok("create", "-f", "-", stdin=doc) == (
        f"databasebackup.dbbackup.io/{name} created\n"
    )
    return changes


def set_phase(kubectl: Kubectl, name: str, status: dict[str, str]) -> None:
    """Write status as the operator does, through the status subresource."""
    patch = json.dumps({"status": status})
    out = kubectl.ok("patch", "dbbackup", name, "--subresource=status", "--type=merge", "-p", patch)
    assert out == f"databasebackup.dbbackup.io/{name} patched\n"


# -- creating things imperatively --------------------------------------------------------------


def test_create_namespace(kubectl: Kubectl) -> None:
    name = "kubectl-session-created"
    try:
        out = kubectl.ok("create", "namespace", name, namespaced=False)
        assert out == f"namespace/{name} created\n"
        phase = kubectl.ok("get", "namespace", name, "-o", "jsonpath={.status.phase}")
        assert phase == "Active"
    finally:
        if REAL_KUBECONFIG:
            remove_namespace(kubectl, name)


def test_create_secret_generic(kubectl: Kubectl) -> None:
    changes = kubectl.within(CHANGES)
    out = changes.ok("create", "secret", "generic", "app-credentials",
                     "--from-literal=username=app", "--from-literal=password=s3cret")  # fmt: skip
    assert out == "secret/app-credentials created\n"
    password = changes.ok("get", "secret", "app-credentials", "-o", "jsonpath={.data.password}")
    assert base64.b64decode(password) == b"s3cret"


def test_create_job(kubectl: Kubectl) -> None:
    changes = kubectl.within(CHANGES)
    out = changes.ok("create", "job", "hello", "--image=busybox:1.36", "--", "echo", "hello")
    assert out == "job.batch/hello created\n"
    container = "jsonpath={.spec.template.spec.containers[0]['name','image','command']}"
    assert (
        changes.ok("get", "job", "hello", "-o", container) == 'hello busybox:1.36 ["echo","hello"]'
    )


def test_get_jobs_shows_the_job_columns(kubectl: Kubectl) -> None:
    """A Job nothing runs yet: no conditions, so the printer says Running, 0 of 1 done."""
    changes = kubectl.within(CHANGES)
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "listed"},
           "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
               {"name": "main", "image": "busybox:1.36", "command": ["true"]}]}}}}  # fmt: skip
    assert changes.ok("apply", "-f", "-", stdin=json.dumps(job)) == "job.batch/listed created\n"
    assert table(changes.ok("get", "jobs", "listed")) == (
        "NAME     STATUS    COMPLETIONS   DURATION   AGE\n"
        "listed   Running   0/1                      <age>\n"
    )
    assert table(changes.ok("get", "jobs", "listed", "-o", "wide")) == (
        "NAME     STATUS    COMPLETIONS   DURATION   AGE     CONTAINERS   IMAGES         SELECTOR\n"
        "listed   Running   0/1                      <age>   main         busybox:1.36"
        "   batch.kubernetes.io/controller-uid=<uid>\n"
    )


# -- the samples, read back ---------------------------------------------------------------------


def test_apply_the_samples(applied: str) -> None:
    assert applied == (
        "secret/gcs-credentials created\n"
        "secret/mongodb-credentials created\n"
        "secret/mysql-credentials created\n"
        "secret/postgres-credentials created\n"
        "secret/postgres-staging-credentials created\n"
        "secret/s3-credentials created\n"
        "persistentvolumeclaim/mongodb-backups created\n"
        "databasebackup.dbbackup.io/mongodb-pvc-backup created\n"
        "databasebackup.dbbackup.io/mysql-gcs-backup created\n"
        "databasebackup.dbbackup.io/postgres-daily-backup created\n"
        "databaserestore.dbbackup.io/postgres-restore-to-staging created\n"
    )


def test_apply_refuses_an_unknown_field(kubectl: Kubectl) -> None:
    """``--validate=strict`` (kubectl's default) has the server refuse a misspelt field;
    ``--validate=warn`` creates the object without it and prints the server's warning."""
    changes = kubectl.within(CHANGES)
    typo = BACKUP.replace(f"name: {SAMPLE}", "name: misspelt").replace(
        'schedule: "0 1 * * *"', 'schedule: "0 1 * * *"\n  scheduel: "0 2 * * *"'
    )
    assert changes.error("apply", "-f", "-", stdin=typo) == (
        'Error from server (BadRequest): error when creating "STDIN": DatabaseBackup in version'
        ' "v1alpha1" cannot be handled as a DatabaseBackup: strict decoding error: unknown field'
        ' "spec.scheduel"\n'
    )
    warned = changes.run("apply", "--validate=warn", "-f", "-", stdin=typo)
    assert (warned.code, warned.stdout, warned.stderr) == (
        0,
        "databasebackup.dbbackup.io/misspelt created\n",
        'Warning: unknown field "spec.scheduel"\n',
    )
    spec = "jsonpath={.spec.schedule}|{.spec.scheduel}"
    assert changes.ok("get", "dbbackup", "misspelt", "-o", spec) == "0 1 * * *|"


def test_get_backups_shows_the_printer_columns(kubectl: Kubectl, applied: str) -> None:
    assert table(kubectl.ok("get", "dbbackup")) == (
        "NAME                    SCHEDULE      PHASE   LAST SUCCESS   NEXT   AGE\n"
        "mongodb-pvc-backup      30 3 * * 0                                  <age>\n"
        "mysql-gcs-backup        H */6 * * *                                 <age>\n"
        "postgres-daily-backup   0 1 * * *                                   <age>\n"
    )
    assert table(kubectl.ok("get", "dbbackup", "-o", "wide")) == (
        "NAME                    SCHEDULE      PHASE   LAST SUCCESS   NEXT   AGE     SUSPEND"
        "   ACTIVE JOB\n"
        "mongodb-pvc-backup      30 3 * * 0                                  <age>   false\n"
        "mysql-gcs-backup        H */6 * * *                                 <age>   false\n"
        "postgres-daily-backup   0 1 * * *                                   <age>   false\n"
    )


def test_get_builtin_kinds_shows_their_columns(kubectl: Kubectl, applied: str) -> None:
    assert table(kubectl.ok("get", "secrets")) == (
        "NAME                           TYPE     DATA   AGE\n"
        "gcs-credentials                Opaque   1      <age>\n"
        "mongodb-credentials            Opaque   2      <age>\n"
        "mysql-credentials              Opaque   2      <age>\n"
        "postgres-credentials           Opaque   2      <age>\n"
        "postgres-staging-credentials   Opaque   2      <age>\n"
        "s3-credentials                 Opaque   2      <age>\n"
    )
    assert table(kubectl.ok("get", "pvc")) == (
        "NAME              STATUS    VOLUME   CAPACITY   ACCESS MODES   STORAGECLASS"
        "   VOLUMEATTRIBUTESCLASS   AGE\n"
        "mongodb-backups   Pending                                                     <unset>"
        "                 <age>\n"
    )
    assert table(kubectl.ok("get", "namespace", SESSION, namespaced=False)) == (
        "NAME              STATUS   AGE\nkubectl-session   Active   <age>\n"
    )


def test_describe_backup_lists_its_events(kubectl: Kubectl, events: None) -> None:
    """describe finds the Events with the field selectors involvedObject.name, .namespace,
    .kind and .uid on core v1, whichever API wrote them."""
    assert describe(kubectl.ok("describe", "dbbackup", SAMPLE)) == DESCRIBED_BACKUP


def test_events_for_the_backup(kubectl: Kubectl, events: None) -> None:
    """``kubectl events --for`` (printed by kubectl) and a field selector on ``get``."""
    assert table(kubectl.ok("events", "--for", f"databasebackup/{SAMPLE}")) == (
        "LAST SEEN   TYPE     REASON             OBJECT                                 MESSAGE\n"
        f"<age>       Normal   SuccessfulCreate   DatabaseBackup/{SAMPLE}   {CREATED}\n"
        f"<age>       Normal   BackupSucceeded    DatabaseBackup/{SAMPLE}   {SUCCEEDED}\n"
    )
    selector = f"involvedObject.kind=DatabaseBackup,involvedObject.name={SAMPLE}"
    assert kubectl.ok("get", "events", "--field-selector", selector, "-o", "name") == (
        f"event/{SAMPLE}.created\nevent/{SAMPLE}.succeeded\n"
    )
    assert kubectl.ok("get", "events.events.k8s.io", "--field-selector",
                      f"regarding.name={SAMPLE},reason=BackupSucceeded", "-o", "name") == (
        f"event.events.k8s.io/{SAMPLE}.succeeded\n"
    )  # fmt: skip


def test_get_events_shows_the_backups_events(kubectl: Kubectl, events: None) -> None:
    assert table(kubectl.ok("get", "events")) == (
        "LAST SEEN   TYPE     REASON             OBJECT                                 MESSAGE\n"
        f"<age>       Normal   SuccessfulCreate   databasebackup/{SAMPLE}   {CREATED}\n"
        f"<age>       Normal   BackupSucceeded    databasebackup/{SAMPLE}   {SUCCEEDED}\n"
    )


def test_explain_prints_the_field_description(kubectl: Kubectl) -> None:
    assert kubectl.ok("explain", "dbbackup.spec.schedule", namespaced=False) == EXPLAINED_SCHEDULE


# -- changing things ----------------------------------------------------------------------------


def test_wait_for_a_phase(kubectl: Kubectl) -> None:
    changes = backup(kubectl, "awaited")
    with changes.start(
        "wait", "--for=jsonpath={.status.phase}=Succeeded", "dbbackup/awaited", "--timeout=60s"
    ) as waiting:
        set_phase(changes, "awaited", {"phase": "Succeeded"})
        out, err = waiting.communicate(timeout=COMMAND_TIMEOUT + 30)
    assert (waiting.returncode, out, err) == (
        0,
        "databasebackup.dbbackup.io/awaited condition met\n",
        "",
    )
    assert changes.error("wait", "--for=jsonpath={.status.phase}=Failed", "dbbackup/awaited",
                         "--timeout=1s") == (
        "error: timed out waiting for the condition on databasebackups/awaited\n"
    )  # fmt: skip


def test_label_and_annotate(kubectl: Kubectl) -> None:
    changes = backup(kubectl, "labelled")
    assert changes.ok("label", "dbbackup", "labelled", "team=data") == (
        "databasebackup.dbbackup.io/labelled labeled\n"
    )
    assert changes.error("label", "dbbackup", "labelled", "team=ops") == (
        "error: 'team' already has a value (data), and --overwrite is false\n"
    )
    assert changes.ok("label", "dbbackup", "labelled", "team=ops", "--overwrite") == (
        "databasebackup.dbbackup.io/labelled labeled\n"
    )
    assert table(changes.ok("get", "dbbackup", "-l", "team=ops", "-L", "team")) == (
        "NAME       SCHEDULE    PHASE   LAST SUCCESS   NEXT   AGE     TEAM\n"
        "labelled   0 1 * * *                                 <age>   ops\n"
    )
    assert changes.ok("label", "dbbackup", "labelled", "team-") == (
        "databasebackup.dbbackup.io/labelled unlabeled\n"
    )
    assert changes.ok("annotate", "dbbackup", "labelled", "example.com/owner=data-platform") == (
        "databasebackup.dbbackup.io/labelled annotated\n"
    )
    assert changes.error("annotate", "dbbackup", "labelled", "example.com/owner=dba") == (
        "error: --overwrite is false but found the following declared annotation(s):"
        " 'example.com/owner' already has a value (data-platform)\n"
    )
    owner = "jsonpath={.metadata.annotations.example\\.com/owner}"
    assert changes.ok("get", "dbbackup", "labelled", "-o", owner) == "data-platform"
    assert table(changes.ok("get", "dbbackup", "labelled", "--show-labels")) == (
        "NAME       SCHEDULE    PHASE   LAST SUCCESS   NEXT   AGE     LABELS\n"
        "labelled   0 1 * * *                                 <age>   <none>\n"
    )


def test_patch_a_backup(kubectl: Kubectl) -> None:
    """merge and JSON patches apply; strategic merge is refused for a custom resource."""
    changes = backup(kubectl, "patched")
    merge = ("patch", "dbbackup", "patched", "--type=merge", "-p", '{"spec":{"suspend":true}}')
    assert changes.ok(*merge) == "databasebackup.dbbackup.io/patched patched\n"
    assert changes.ok(*merge) == "databasebackup.dbbackup.io/patched patched (no change)\n"
    replace = '[{"op":"replace","path":"/spec/schedule","value":"0 2 * * *"}]'
    assert changes.ok("patch", "dbbackup", "patched", "--type=json", "-p", replace) == (
        "databasebackup.dbbackup.io/patched patched\n"
    )
    assert changes.error("patch", "dbbackup", "patched", "-p", '{"spec":{"suspend":false}}') == (
        "error: application/strategic-merge-patch+json is not supported by dbbackup.io/v1alpha1,"
        " Kind=DatabaseBackup: the body of the request was in an unknown format - accepted media"
        " types include: application/json-patch+json, application/merge-patch+json,"
        " application/apply-patch+yaml\n"
    )
    missing = '[{"op":"remove","path":"/spec/nope"}]'
    assert changes.error("patch", "dbbackup", "patched", "--type=json", "-p", missing) == (
        "The request is invalid: the server rejected our request due to an error in our request\n"
    )
    assert table(changes.ok("get", "dbbackup", "patched", "-o", "wide")) == (
        "NAME      SCHEDULE    PHASE   LAST SUCCESS   NEXT   AGE     SUSPEND   ACTIVE JOB\n"
        "patched   0 2 * * *                                 <age>   true\n"
    )


def test_strategic_merge_patch_of_builtin_kinds(kubectl: Kubectl) -> None:
    """The default patch type follows each field's strategy: a ServiceAccount's ``secrets``
    merge by name, its ``imagePullSecrets`` have no strategy and are replaced (the
    "Add ImagePullSecrets to a service account" task patches them so)."""
    changes = kubectl.within(CHANGES)
    account = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "backups"},
               "secrets": [{"name": "token-a"}],
               "imagePullSecrets": [{"name": "registry-a"}]}  # fmt: skip
    assert changes.ok("apply", "-f", "-", stdin=json.dumps(account)) == (
        "serviceaccount/backups created\n"
    )
    add = '{"secrets":[{"name":"token-b"}],"imagePullSecrets":[{"name":"registry-b"}]}'
    assert changes.ok("patch", "serviceaccount", "backups", "-p", add) == (
        "serviceaccount/backups patched\n"
    )
    names = "jsonpath={.secrets[*].name}{' / '}{.imagePullSecrets[*].name}"
    assert (
        changes.ok("get", "serviceaccount", "backups", "-o", names)
        == "token-b token-a / registry-b"
    )
    assert changes.ok("patch", "serviceaccount", "backups", "--type=merge", "-p", add) == (
        "serviceaccount/backups patched\n"
    )
    assert changes.ok("get", "serviceaccount", "backups", "-o", names) == "token-b / registry-b"
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "paused"},
           "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
               {"name": "main", "image": "busybox:1.36", "command": ["true"]}]}}}}  # fmt: skip
    assert changes.ok("apply", "-f", "-", stdin=json.dumps(job)) == "job.batch/paused created\n"
    assert changes.ok("patch", "job", "paused", "-p", '{"spec":{"suspend":true}}') == (
        "job.batch/paused patched\n"
    )
    assert changes.ok("get", "job", "paused", "-o", "jsonpath={.spec.suspend}") == "true"


def test_edit_a_backup(kubectl: Kubectl, tmp_path: Path) -> None:
    changes = backup(kubectl, "edited")
    env = editor(tmp_path, "schedule: 0 1 * * *", "schedule: 0 3 * * *")
    result = changes.run("edit", "dbbackup", "edited", env=env)
    assert (result.code, result.stdout, result.stderr) == (
        0,
        "databasebackup.dbbackup.io/edited edited\n",
        "",
    )
    assert changes.ok("get", "dbbackup", "edited", "-o", "jsonpath={.spec.schedule}") == "0 3 * * *"


def test_edit_a_builtin_kind(kubectl: Kubectl, tmp_path: Path) -> None:
    changes = kubectl.within(CHANGES)
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"},
                  "data": {"retention": "14d"}}  # fmt: skip
    assert changes.ok("apply", "-f", "-", stdin=json.dumps(config_map)) == (
        "configmap/settings created\n"
    )
    env = editor(tmp_path, "retention: 14d", "retention: 30d")
    result = changes.run("edit", "configmap", "settings", env=env)
    assert (result.code, result.stdout, result.stderr) == (0, "configmap/settings edited\n", "")
    assert changes.ok("get", "configmap", "settings", "-o", "jsonpath={.data}") == (
        '{"retention":"30d"}'
    )


def test_delete_waits_for_the_finalizers(kubectl: Kubectl) -> None:
    """``kubectl delete`` (``--wait`` by default) returns once the object is gone: here when
    the user releases the finalizer that held it."""
    changes = backup(kubectl, "held")
    hold = '{"metadata":{"finalizers":["example.com/hold"]}}'
    assert changes.ok("patch", "dbbackup", "held", "--type=merge", "-p", hold) == (
        "databasebackup.dbbackup.io/held patched\n"
    )
    with changes.start("delete", "dbbackup", "held", "--wait") as deleting:
        deleted = "jsonpath={.metadata.deletionTimestamp}"
        assert wait_for(
            lambda: changes.ok("get", "dbbackup", "held", "-o", deleted) != "", COMMAND_TIMEOUT
        )
        assert deleting.poll() is None  # still waiting: the finalizer holds the object
        release = '[{"op":"remove","path":"/metadata/finalizers"}]'
        assert changes.ok("patch", "dbbackup", "held", "--type=json", "-p", release) == (
            "databasebackup.dbbackup.io/held patched\n"
        )
        out, err = deleting.communicate(timeout=COMMAND_TIMEOUT)
    assert (deleting.returncode, out, err) == (0, 'databasebackup.dbbackup.io "held" deleted\n', "")
    assert changes.error("get", "dbbackup", "held") == (
        'Error from server (NotFound): databasebackups.dbbackup.io "held" not found\n'
    )


def test_get_watch_shows_a_phase_change(kubectl: Kubectl) -> None:
    changes = backup(kubectl, "watched")
    with changes.start("get", "dbbackup", "watched", "--watch") as watching:
        lines = LineReader(watching)
        try:
            lines.wait_lines(2)  # the header and the row as listed: the watch starts after it
            status = {"phase": "Running", "activeJob": "watched-20261206010000"}
            set_phase(changes, "watched", status)
            seen = lines.wait_lines(3)
        finally:
            watching.kill()
            lines.join()
    assert table("".join(seen)) == (
        "NAME      SCHEDULE    PHASE     LAST SUCCESS   NEXT   AGE\n"
        "watched   0 1 * * *                                   <age>\n"
        "watched   0 1 * * *   Running                         <age>\n"
    )
