"""Scenario 5, bad input: arbitrary DatabaseBackup specs are refused clearly or reconciled.

Hypothesis (bounded examples, no deadline, derandomized for CI) builds specs from the
product sample with any subset of fields replaced by hostile or odd values: wrong types,
out-of-range numbers, broken and exotic schedules and time zones, two storage backends or
none, ``$(VAR)`` references in every string that reaches a container, root users, huge
limits. Each goes through the emulator's CRD validation and, when admitted, through the
running operator (one process for all examples, on a fast virtual clock). Each example must:

* be refused with a 422 whose causes name field paths (``spec.…``), or
* be reconciled: ``status.observedGeneration`` catches up; an invalid spec the schema could
  not see gets ``Ready=False`` with a message naming the field path;
* cost a bounded number of operator requests in its namespace and of reconciles (no hot
  loop, even one that only reads the cache);
* yield only Jobs the API accepted (no refused create), restricted-profile
  (:mod:`tests.support.pod_security`), with no expandable ``$(`` in commands, args or env.

At the end the operator is alive and its reconcile-panic counter is zero.
"""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from emulator.errors import ApiStatusError
from tests.reliability.world import World, sample_backup
from tests.support.operator import OPERATOR_USER, wait_for
from tests.support.pod_security import restricted_violations

SPEED = 120.0  # a virtual minute in half a real second
START = datetime(2025, 3, 27, 0, 59, 0, tzinfo=UTC)
EXAMPLES = 60
MAX_REQUESTS = 40  # per example, in its namespace; measured well below
MAX_RECONCILES = 25  # per example (~90 virtual seconds): a couple of slots and Job events
_counter = itertools.count()
SEEN = {"refused": 0, "reconciled": 0, "invalid-in-status": 0, "jobs": 0}

ANY = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.text(max_size=12),
    st.just("$(SECRET)"),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=2),
)
SCHEDULES = st.one_of(
    st.sampled_from([
        "* * * * *", "*/2 * * * *", "0 1 * * *", "@hourly", "@daily", "@every 5m",
        "61 * * * *", "* * * *", "", "TZ=UTC * * * * *", "CRON_TZ=Europe/Paris * * * * *",
        "0 0 31 2 *", "59 23 * * 7", "*/0 * * * *", "1-0 * * * *", "L * * * *",
    ]),
    st.text(alphabet="*/,-0123456789 @LW?#", max_size=20),
)  # fmt: skip
FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "schedule": SCHEDULES,
    "timeZone": st.one_of(
        st.sampled_from(["UTC", "Europe/Paris", "Mars/Olympus", "", "../etc/passwd", "Etc/GMT+14"]),
        ANY,
    ),
    "suspend": ANY,
    "concurrencyPolicy": st.one_of(st.sampled_from(["Forbid", "Allow", "Replace", "forbid"]), ANY),
    "startingDeadlineSeconds": st.one_of(st.integers(-5, 2**33), ANY),
    "successfulJobsHistoryLimit": st.one_of(st.integers(-1, 101), ANY),
    "failedJobsHistoryLimit": st.one_of(st.integers(-1, 101), ANY),
    "backoffLimit": st.one_of(st.integers(-1, 21), ANY),
    "activeDeadlineSeconds": st.one_of(st.integers(0, 2**33), ANY),
    "image": st.one_of(st.sampled_from(["img:$(TAG)", "a b", "x" * 600, "busybox"]), ANY),
    "imagePullPolicy": st.one_of(st.sampled_from(["Always", "Never", "Sometimes"]), ANY),
    "retention": st.one_of(st.sampled_from(["336h", "1s", "0h", "1d12h", "5y", "999999d"]), ANY),
    "database": st.one_of(
        st.fixed_dictionaries(
            {
                "type": st.sampled_from(["postgresql", "mysql", "mariadb", "mongodb", "oracle"]),
                "host": st.sampled_from(["db", "$(HOST)", "db;rm -rf /", "[::1]", ""]),
            },
            optional={
                "port": st.one_of(st.integers(-1, 70000), ANY),
                "name": st.sampled_from(["app", "$(DB)", "$$(DB)", "a b", "`id`"]),
                "credentialsSecretRef": st.one_of(
                    st.fixed_dictionaries(
                        {"name": st.sampled_from(["creds", "Bad_Name", "$(X)"])},
                        optional={"usernameKey": st.sampled_from(["u", "$(U)", "a/b"])},
                    ),
                    ANY,
                ),
            },
        ),
        ANY,
    ),
    "storage": st.one_of(
        st.sampled_from(
            [
                {"s3": {"bucket": "bkt", "prefix": "$(P)/x"}},
                {"gcs": {"bucket": "bkt"}, "pvc": {"claimName": "c"}},
                {},
                {"pvc": {"claimName": "c", "subPath": "a/../b"}},
                {"pvc": {"claimName": "c", "subPath": "$(X)"}},
                {"s3": {"bucket": "bkt", "endpoint": "http://$(EVIL)"}},
            ]
        ),
        ANY,
    ),
    "pod": st.one_of(
        st.fixed_dictionaries(
            {},
            optional={
                "runAsUser": st.one_of(st.integers(-1, 2**31), ANY),
                "runAsGroup": st.integers(-1, 5),
                "fsGroup": st.integers(-1, 5),
                "annotations": st.dictionaries(
                    st.sampled_from(["a", "b/$(c)"]), st.text(max_size=5), max_size=2
                ),
                "labels": st.dictionaries(
                    st.sampled_from(["l", "$(l)", "-bad"]),
                    st.sampled_from(["v", "$(v)"]),
                    max_size=2,
                ),
                "nodeSelector": ANY,
                "tolerations": st.lists(
                    st.fixed_dictionaries(
                        {},
                        optional={
                            "key": st.text(max_size=5),
                            "operator": st.sampled_from(["Exists", "Equal", "In"]),
                        },
                    ),
                    max_size=2,
                ),
                "serviceAccountName": st.sampled_from(["sa", "$(SA)", "default"]),
                "resources": st.sampled_from(
                    [{}, {"limits": {"cpu": "1"}}, {"limits": {"cpu": "$(C)"}}]
                ),
            },
        ),
        ANY,
    ),
}
# Admissible but tricky values, so that half the examples reach the reconciler and its Jobs.
TRICKY: dict[str, list[Any]] = {
    "schedule": ["* * * * *", "*/1 * * * *", "61 * * * *", "0 0 30 2 *", "@every 1m", "* * * * 8"],
    "timeZone": ["UTC", "Europe/Paris", "Mars/Olympus", "Etc/GMT+14"],
    "suspend": [True, False],
    "concurrencyPolicy": ["Forbid", "Allow", "Replace"],
    "startingDeadlineSeconds": [0, 1, 10, 2147483647],
    "successfulJobsHistoryLimit": [0, 100],
    "failedJobsHistoryLimit": [0, 100],
    "backoffLimit": [0, 20],
    "activeDeadlineSeconds": [1, 2147483647],
    "image": ["img:$(TAG)", "busybox@sha256:$(D)", "x" * 500],
    "imagePullPolicy": ["Always", "Never"],
    "retention": ["1s", "0h", "999999d", "1d12h"],
    "database": [
        {"type": "mysql", "host": "db", "name": "$(DB)", "port": 65535},
        {"type": "mongodb", "host": "[::1]:27017", "name": "$$(X)`id`;"},
        {"type": "postgresql", "host": "h",
         "credentialsSecretRef": {"name": "c", "usernameKey": "$u"}},
    ],
    "storage": [
        {"s3": {"bucket": "bkt", "prefix": "$(P)/x", "endpoint": "http://$(EVIL)"}},
        {"gcs": {"bucket": "b_k.t", "prefix": "$(HOME)"}},
        {"pvc": {"claimName": "c", "subPath": "a/$(X)/b"}},
    ],
    "pod": [
        {"runAsUser": 1, "annotations": {"a": "$(SECRET)"}, "labels": {"l": "v"}},
        {"serviceAccountName": "default", "tolerations": [{"operator": "Exists"}]},
        {"resources": {"limits": {"cpu": "$(C)"}}, "nodeSelector": {"$(k)": "$(v)"}},
    ],
}  # fmt: skip
for _key, _values in TRICKY.items():
    FIELDS[_key] = st.one_of(st.sampled_from(_values), st.sampled_from(_values), FIELDS[_key])
SPECS = st.dictionaries(st.sampled_from(sorted(FIELDS)), st.none(), max_size=3).flatmap(
    lambda keys: st.fixed_dictionaries({k: FIELDS[k] for k in keys})
)


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    w = World(speed=SPEED, start=START)
    try:
        w.start_completer(20, lambda job: job.endswith("0"))
        w.operator(log_format="text").wait_ready(30)
        yield w
        # The examples reached every outcome, so the properties were really exercised.
        assert SEEN["refused"] >= 5 and SEEN["reconciled"] >= 5 and SEEN["jobs"] >= 5, SEEN
        operator = w.operators[0]
        assert operator.proc.poll() is None, operator.logs()[-3000:]
        panics = sum(
            s.value
            for family in text_string_to_metric_families(operator.metrics())
            for s in family.samples
            if s.name == "controller_runtime_reconcile_panics_total"
        )
        assert panics == 0, operator.logs()[-5000:]
    finally:
        w.close()


def reconciles(world: World) -> float:
    return sum(
        s.value
        for family in text_string_to_metric_families(world.operators[0].metrics())
        for s in family.samples
        if s.name == "controller_runtime_reconcile_total"
    )


def unescaped_reference(text: str) -> bool:
    """True if Kubernetes would expand a ``$(VAR)`` in ``text`` (``$$`` is an escaped ``$``)."""
    return "$(" in text.replace("$$", "")


def check_job(job: dict[str, Any]) -> None:
    pod = job["spec"]["template"]["spec"]
    assert restricted_violations(pod) == [], restricted_violations(pod)
    for container in [*pod.get("initContainers", ()), *pod["containers"]]:
        for text in [*container.get("command", ()), *container.get("args", ())]:
            assert not unescaped_reference(text), text
        for env in container.get("env", ()):
            assert not unescaped_reference(str(env.get("value", ""))), env


def spec_with(changes: dict[str, Any]) -> dict[str, Any]:
    obj = sample_backup("fuzz", "default", schedule="* * * * *")
    spec: dict[str, Any] = copy.deepcopy(obj["spec"])
    spec.update(changes)
    return spec


@pytest.mark.timeout(240)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(changes=SPECS)
def test_any_spec_is_refused_with_a_field_path_or_reconciled(
    world: World, changes: dict[str, Any]
) -> None:
    namespace = f"fz-{next(_counter)}"
    world.namespace(namespace)
    obj = sample_backup("fuzz", namespace)
    obj["spec"] = spec_with(changes)
    reconciles_before = reconciles(world)
    try:
        created = world.server.create_object(obj)
    except ApiStatusError as err:
        assert err.code in (400, 422), err.body
        causes = (err.body.get("details") or {}).get("causes") or []
        fields = [str(c.get("field", "")) for c in causes]
        assert any(f.startswith(("spec", "metadata")) for f in fields), err.body
        SEEN["refused"] += 1
        return
    generation = created["metadata"]["generation"]

    def reconciled() -> dict[str, Any] | None:
        status = world.status("fuzz", namespace)
        return status if status.get("observedGeneration") == generation else None

    status = wait_for(reconciled, 15, f"{namespace}/fuzz reconciled ({json.dumps(changes)[:300]})")
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    if ready["reason"] in ("InvalidSpec", "InvalidSchedule", "UnknownTimeZone"):
        assert "spec." in ready["message"], ready
        SEEN["invalid-in-status"] += 1
    SEEN["reconciled"] += 1
    # Let a minute and a half of virtual time pass: due Jobs are created, loops would show.
    until = world.clock.now() + timedelta(seconds=90)
    wait_for(lambda: world.clock.now() >= until, 5, "90 virtual seconds", interval=0.02)
    records = [r for r in world.records(OPERATOR_USER) if r.namespace == namespace]
    assert len(records) <= MAX_REQUESTS, sorted({(r.verb, r.resource) for r in records})
    # A hot loop needs no requests (cache reads, unchanged status): count reconciles too.
    assert reconciles(world) - reconciles_before <= MAX_RECONCILES
    refused = [r for r in records if r.resource == "jobs" and r.verb == "create" and r.code >= 400]
    assert refused == [], refused
    for job in world.jobs(namespace):
        check_job(job)
        SEEN["jobs"] += 1
    world.server.delete_object("dbbackup.io/v1alpha1", "DatabaseBackup", "fuzz", namespace)
